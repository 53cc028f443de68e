"""The Flask application for the reporter site, built from one Config."""
from __future__ import annotations

import errno
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask, render_template, request, send_from_directory
from flask_babel import Babel, get_locale
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from dropbox.config import Config
from dropbox.formlimits import BoundedFormRequest, bound_forms
from dropbox.headers import add_strict_headers
from dropbox.hosts import guard_hosts
from dropbox.languages import LANGUAGES, direction, select_language
from dropbox.problems import EXPIRED, NOT_SAVED, PROBLEMS, message_for
from dropbox.ratelimit import FailureBudget, KnownCodenames
from dropbox.reporter import CONVERSATION, reporter, rescue, would_accept
from dropbox.sessions import COOKIE_NAME, MemorySessions
from dropbox.storage import Store
from dropbox.uploads import EncryptingRequest


@dataclass(frozen=True)
class Instance:
    """What every request may use: the config, the store, the failed-login budget and the
    codenames that need none."""
    config: Config
    store: Store
    login_failures: FailureBudget
    known_codenames: KnownCodenames = field(default_factory=KnownCodenames)


class SiteRequest(BoundedFormRequest, EncryptingRequest):
    """Files are encrypted as they arrive; text parts are bounded as they are parsed."""


def create_app(config: Config) -> Flask:
    app = Flask(__name__)
    app.request_class = SiteRequest
    bound_forms(app, config.settings, frozenset({"reporter.report", "reporter.conversation"}))
    app.config.update(
        SECRET_KEY=config.session_key,
        MAX_CONTENT_LENGTH=config.max_request_bytes,
        SESSION_COOKIE_NAME=COOKIE_NAME,
        # The token lives as long as the server-side session; uploads over tor are slow.
        WTF_CSRF_TIME_LIMIT=None,
        # No external resources may be needed for error pages either.
        TRAP_HTTP_EXCEPTIONS=False,
    )
    app.session_interface = MemorySessions(config.settings.session_idle_seconds,
                                           max_sessions=config.settings.max_sessions,
                                           owner_key=CONVERSATION)
    store = Store(config.database, config.store_dir, config.tmp_dir)
    store.prepare()
    store.recover()
    app.extensions["dropbox"] = Instance(
        config, store, FailureBudget(config.settings.login_failures_per_minute))
    one_connection_per_request(app, store)
    guard_hosts(app, config)  # before CSRF and the routes: a tor2web visitor sees only a warning
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

    add_problem_pages(app)
    add_favicon(app)
    return app


def one_connection_per_request(app: Flask, store: Store) -> None:
    """Every query of a request shares one SQLite connection, closed when the request ends."""
    app.before_request(store.hold_connection)
    app.teardown_request(lambda _exc: store.release_connection())
def submission_judge(app: Flask):
    """For the channel (submission_stream.py): would this app accept the submission whose
    headers are `environ` and whose text fields are `fields`? Asked before its first file
    part is stored; the request's own run decides again, with the whole form."""
    def judge(environ: dict, fields: list[tuple[str, str]]) -> bool:
        with app.request_context(environ):
            return would_accept(fields)
    return judge


def add_favicon(app: Flask) -> None:
    """/favicon.ico, which Tor Browser asks for on every visit: a 1 KB icon instead of a 404."""
    static = Path(__file__).parent / "static"

    @app.get("/favicon.ico")
    def favicon():
        return send_from_directory(static, "favicon.ico", mimetype="image/vnd.microsoft.icon")


def add_problem_pages(app: Flask) -> None:
    """Errors as plain pages (each app's own problem.html): no status jargon, no traceback."""
    @app.errorhandler(CSRFError)
    def expired_form(error):
        return render_template("problem.html", message=EXPIRED), 400

    @app.errorhandler(HTTPException)
    def http_problem(error: HTTPException):
        return render_template("problem.html", message=message_for(error)), error.code

    @app.errorhandler(OSError)
    @app.errorhandler(sqlite3.OperationalError)
    def storage_problem(error: Exception):
        # A full disk is the one server fault a reporter should hear about plainly.
        full = getattr(error, "errno", None) in (errno.ENOSPC, errno.EDQUOT) \
            or "disk is full" in str(error)
        app.logger.error("request failed: %s", "disk full" if full else type(error).__name__)
        words_back = full and rescue(NOT_SAVED)  # a report or follow-up: the form, filled in
        if words_back:
            return words_back[0], 507
        return render_template("problem.html", message=PROBLEMS[507 if full else 500]), 507 if full else 500

    @app.errorhandler(Exception)
    def server_problem(error: Exception):
        app.logger.error("request failed: %s", type(error).__name__)
        return render_template("problem.html", message=PROBLEMS[500]), 500
