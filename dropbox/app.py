"""The Flask application for the reporter site, built from one Config."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, render_template, request
from flask_babel import Babel, get_locale, lazy_gettext as _l
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from dropbox.config import Config
from dropbox.headers import add_strict_headers
from dropbox.languages import LANGUAGES, direction, select_language
from dropbox.reporter import reporter
from dropbox.sessions import COOKIE_NAME, MemorySessions
from dropbox.storage import Store
from dropbox.uploads import EncryptingRequest

# What a reporter reads when something goes wrong: no status jargon, no traceback.
PROBLEMS = {
    400: _l("Something in what was sent could not be understood. Please go back and try again."),
    403: _l("This page is not open to you."),
    404: _l("There is no page here."),
    405: _l("This page cannot be used that way."),
    413: _l("What you sent is larger than this drop accepts. Please send fewer or smaller files."),
    500: _l("Something went wrong on our side. Nothing you sent was kept. Please try again later."),
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
    CSRFProtect(app)
    Babel(app, locale_selector=select_language)

    @app.context_processor
    def page_language():
        language = str(get_locale())
        return {"language": language, "direction": direction(language), "languages": LANGUAGES,
                "quick_exit_url": config.settings.quick_exit_url}
    app.register_blueprint(reporter)
    app.after_request(add_strict_headers)

    @app.teardown_request
    def discard_leftovers(_exc):
        request.discard_leftovers()

    @app.errorhandler(CSRFError)
    def expired_form(error):
        message = _l("This form has expired or did not come from this site. "
                     "Please go back, reload the page and send it again.")
        return render_template("problem.html", message=message), 400

    @app.errorhandler(HTTPException)
    def http_problem(error: HTTPException):
        # A 413 the app raised itself says what to do; the generic one does not.
        ours = error.code == 413 and error.description != RequestEntityTooLarge.description
        message = error.description if ours else PROBLEMS.get(error.code, PROBLEMS[400])
        return render_template("problem.html", message=message), error.code

    @app.errorhandler(Exception)
    def server_problem(error: Exception):
        app.logger.error("request failed: %s", type(error).__name__)
        return render_template("problem.html", message=PROBLEMS[500]), 500

    return app
