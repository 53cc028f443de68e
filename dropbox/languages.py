"""The languages the pages speak (the reporter site's and the desk's), and which one a request gets.

A reporter or a responder picks a language with a plain link (no JavaScript);
the choice is kept in the server-side session, so it lasts for the visit and is
gone with it. Before any choice, the browser's Accept-Language decides (Tor
Browser usually sends English).
"""
from __future__ import annotations

from pathlib import Path

LANGUAGES = {"en": "English", "es": "Español", "fr": "Français", "ar": "العربية"}
RIGHT_TO_LEFT = frozenset({"ar"})
SESSION_KEY = "language"
# The message catalogues of every page and mail (dropbox/translations/LANG/LC_MESSAGES).
TRANSLATIONS = Path(__file__).parent / "translations"


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


def remember_choice(code: str, fallback: str):
    """The answer to a language link: the choice kept for the visit, then back to the page
    named by `?next=` (a page of this app only) or to the `fallback` endpoint."""
    from flask import redirect, request, session

    from dropbox.redirects import page_of_this_app

    if code in LANGUAGES:
        session[SESSION_KEY] = code
    return redirect(page_of_this_app(request.args.get("next", ""), fallback))
