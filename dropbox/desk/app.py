"""The desk's Flask application, built from the same Config as the reporter site.

Its own app and port, so it can be published on its own onion with client
authorization; built on the same base as the reporter site (webapp.py).
"""
from __future__ import annotations

from flask import Flask, Request

from dropbox.config import Config
from dropbox.desk.views import desk
from dropbox.formlimits import BoundedFormRequest
from dropbox.webapp import build_app

DESK_COOKIE = "desk_session"


class DeskRequest(BoundedFormRequest, Request):
    """Text parts are bounded as they are parsed (reply files are ciphertext already)."""


def create_desk_app(config: Config) -> Flask:
    # Babel: the shared problem pages are written for translation; the desk is in English.
    app = build_app(__name__, config, service="desk", cookie=DESK_COOKIE, request_class=DeskRequest,
                    upload_endpoints=frozenset({"desk.replies"}))
    app.register_blueprint(desk)
    return app
