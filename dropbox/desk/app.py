"""The desk's Flask application, built from the same Config as the reporter site.

Its own app and port, so it can be published on its own onion with client
authorization; built on the same base as the reporter site (webapp.py).
"""
from __future__ import annotations

from flask import Flask, Request, current_app

from dropbox.config import Config
from dropbox.desk.invitations import invitations
from dropbox.desk.views import desk
from dropbox.formlimits import BoundedFormRequest
from dropbox.spool import SealedSpool
from dropbox.webapp import build_app

DESK_COOKIE = "desk_session"


class DeskRequest(BoundedFormRequest, Request):
    """Text parts are bounded as they are parsed (reply files are ciphertext already)."""

    def _get_file_stream(self, total_content_length, content_type, filename=None,
                         content_length=None):
        """Werkzeug's hook for where a file part of a form goes while it is parsed. Its own
        spools past 500 KiB to $TMPDIR, a disk the disk budget does not watch and outside the
        data directory; this is the request class's documented hook for it (the form parser
        is built from it), so nothing of Werkzeug's is replaced: a sealed spool in tmp/."""
        return SealedSpool(current_app.extensions["dropbox"].config.tmp_dir)


def create_desk_app(config: Config) -> Flask:
    # Babel: the shared problem pages are written for translation; the desk is in English.
    app = build_app(__name__, config, service="desk", cookie=DESK_COOKIE, request_class=DeskRequest)
    app.register_blueprint(desk)
    app.register_blueprint(invitations)  # inviting the person reported to respond
    return app
