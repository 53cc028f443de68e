"""The languages the reporter's pages speak, and which one a request gets.

A reporter picks a language with a plain link (no JavaScript); the choice is
kept in the server-side session, so it lasts for the visit and is gone with
it. Before any choice, the browser's Accept-Language decides (Tor Browser
usually sends English).
"""
from __future__ import annotations

LANGUAGES = {"en": "English", "es": "Español", "fr": "Français", "ar": "العربية"}
RIGHT_TO_LEFT = frozenset({"ar"})
SESSION_KEY = "language"


def select_language() -> str:
    # Only pages choose a language: the commands that read LANGUAGES (through the code of
    # practice) need no web framework, so Flask is imported here and not with the module.
    from flask import request, session

    chosen = session.get(SESSION_KEY)
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or "en"


def direction(language: str) -> str:
    return "rtl" if language in RIGHT_TO_LEFT else "ltr"
