"""The desk's Flask application, built from the same Config as the reporter site.

Its own app and port, so it can be published on its own onion with client
authorization; the same strict headers, CSRF protection, memory-only sessions
and problem pages as the reporter site.
"""
from __future__ import annotations

from pathlib import Path

from flask import Flask, Request, current_app
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect

from dropbox.app import Instance, add_favicon, add_problem_pages, one_connection_per_request
from dropbox.config import Config
from dropbox.formlimits import BoundedFormRequest, bound_forms
from dropbox.desk.views import desk
from dropbox.headers import add_strict_headers
from dropbox.ratelimit import FailureBudget
from dropbox.sessions import MemorySessions
from dropbox.spool import SealedSpool
from dropbox.storage import Store

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
    app = Flask(__name__, static_folder=str(Path(__file__).parent.parent / "static"))
    app.request_class = DeskRequest
    bound_forms(app, config.settings, frozenset({"desk.replies"}))
    app.config.update(
        SECRET_KEY=config.session_key,
        MAX_CONTENT_LENGTH=config.max_request_bytes,
        SESSION_COOKIE_NAME=DESK_COOKIE,
        WTF_CSRF_TIME_LIMIT=None,
    )
    # Its own cookie: on one host, browsers would otherwise let the two apps overwrite each other's.
    app.session_interface = MemorySessions(config.settings.session_idle_seconds, DESK_COOKIE,
                                           config.settings.max_sessions)
    store = Store(config.database, config.store_dir, config.tmp_dir)
    app.extensions["dropbox"] = Instance(
        config, store, FailureBudget(config.settings.login_failures_per_minute))
    one_connection_per_request(app, store)
    CSRFProtect(app)
    Babel(app)  # the shared problem pages are written for translation; the desk is in English
    app.register_blueprint(desk)
    app.after_request(add_strict_headers)
    add_problem_pages(app)
    add_favicon(app)
    return app
