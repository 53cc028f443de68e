"""The Flask application for the reporter site, built from one Config."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from dropbox.config import Config
from dropbox.headers import add_strict_headers
from dropbox.hosts import guard_hosts
from dropbox.reporter import reporter
from dropbox.sessions import COOKIE_NAME, MemorySessions
from dropbox.storage import Store
from dropbox.uploads import EncryptingRequest

# What a reporter reads when something goes wrong: no status jargon, no traceback.
PROBLEMS = {
    400: "Something in what was sent could not be understood. Please go back and try again.",
    403: "This page is not open to you.",
    404: "There is no page here.",
    405: "This page cannot be used that way.",
    413: "What you sent is larger than this drop accepts. Please send fewer or smaller files.",
    500: "Something went wrong on our side. Nothing you sent was kept. Please try again later.",
}


@dataclass(frozen=True)
class Instance:
    """What every request may use: the config and the store."""
    config: Config
    store: Store


def create_app(config: Config) -> Flask:
    app = Flask(__name__)
    app.request_class = EncryptingRequest
    app.config.update(
        SECRET_KEY=config.session_key,
        MAX_CONTENT_LENGTH=config.max_request_bytes,
        SESSION_COOKIE_NAME=COOKIE_NAME,
        # The token lives as long as the server-side session; uploads over tor are slow.
        WTF_CSRF_TIME_LIMIT=None,
        # No external resources may be needed for error pages either.
        TRAP_HTTP_EXCEPTIONS=False,
    )
    app.session_interface = MemorySessions(config.settings.session_idle_minutes * 60)
    store = Store(config.database, config.store_dir, config.tmp_dir)
    store.prepare()
    app.extensions["dropbox"] = Instance(config, store)
    guard_hosts(app, config)  # before CSRF and the routes: a tor2web visitor sees only a warning
    CSRFProtect(app)
    app.register_blueprint(reporter)
    app.after_request(add_strict_headers)

    @app.teardown_request
    def discard_leftovers(_exc):
        request.discard_leftovers()

    @app.errorhandler(CSRFError)
    def expired_form(error):
        message = ("This form has expired or did not come from this site. "
                   "Please go back, reload the page and send it again.")
        return render_template("problem.html", message=message), 400

    @app.errorhandler(HTTPException)
    def http_problem(error: HTTPException):
        message = error.description if error.code == 413 and "at most" in (error.description or "") \
            else PROBLEMS.get(error.code, PROBLEMS[400])
        return render_template("problem.html", message=message), error.code

    @app.errorhandler(Exception)
    def server_problem(error: Exception):
        app.logger.error("request failed: %s", type(error).__name__)
        return render_template("problem.html", message=PROBLEMS[500]), 500

    return app
