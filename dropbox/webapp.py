"""What every web app of the instance is built on: the reporter site and the desk alike.

Both serve people whom a lapse would expose, so each security step (strict headers, CSRF,
memory-only sessions, bounded form parsing, the host guard, plain problem pages, one
database connection per request) is taken here, once: a hardening change lands on both or on
neither. An app adds only its blueprint, its cookie, the endpoints that take uploads and
what its pages need.
"""
from __future__ import annotations

import errno
import sqlite3
from dataclasses import dataclass
from collections.abc import Callable
from pathlib import Path

from flask import Flask, render_template, request, send_from_directory
from flask_babel import Babel, get_locale
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from dropbox.config import Config
from dropbox.formlimits import bound_forms
from dropbox.headers import add_strict_headers
from dropbox.hosts import guard_hosts
from dropbox.languages import LANGUAGES, TRANSLATIONS, direction, select_language
from dropbox.problems import EXPIRED, PROBLEMS, message_for
from dropbox.ratelimit import FailureBudget
from dropbox.sessions import MemorySessions
from dropbox.storage import Store

STATIC = Path(__file__).parent / "static"


@dataclass(frozen=True)
class Instance:
    """What every request may use: the config, the store and the failed-login budget."""
    config: Config
    store: Store
    login_failures: FailureBudget


def build_app(import_name: str, config: Config, *, service: str, cookie: str,
              request_class: type,
              session_owner: str | tuple[str, ...] | None = None,
              words_back: Callable[[], tuple[str, int] | None] | None = None) -> Flask:
    """A Flask app with every shared step taken. `service` names the onion it answers at
    ("site" or "desk"); views that take files say so themselves (`formlimits.takes_files`);
    `session_owner` the session key naming whose a session is (sessions.py bounds each
    owner's); `words_back` gives a refused form back filled in when the disk is full."""
    app = Flask(import_name, static_folder=str(STATIC))
    app.request_class = request_class
    bound_forms(app, config.settings)
    app.config.update(
        SECRET_KEY=config.session_key,
        MAX_CONTENT_LENGTH=config.max_request_bytes,
        # Each app its own cookie: on one host, browsers would otherwise let the two apps
        # overwrite each other's.
        SESSION_COOKIE_NAME=cookie,
        # The token lives as long as the server-side session; uploads over tor are slow.
        WTF_CSRF_TIME_LIMIT=None,
        # No external resources may be needed for error pages either.
        TRAP_HTTP_EXCEPTIONS=False,
        # One set of catalogues for both apps (the desk's app lives in a subpackage).
        BABEL_TRANSLATION_DIRECTORIES=str(TRANSLATIONS),
    )
    app.session_interface = MemorySessions(config.settings.session_idle_seconds, cookie,
                                           config.settings.max_sessions, owner_key=session_owner)
    store = Store(config.database, config.store_dir, config.tmp_dir)
    app.extensions["dropbox"] = Instance(
        config, store, FailureBudget(config.settings.login_failures_per_minute))
    _one_connection_per_request(app, store)
    guard_hosts(app, config, service)  # before CSRF and the routes: a gateway sees only a warning
    CSRFProtect(app)
    # Both apps speak the same languages, chosen the same way (languages.py).
    Babel(app, locale_selector=select_language)

    @app.context_processor
    def page_language():
        language = str(get_locale())
        return {"language": language, "direction": direction(language), "languages": LANGUAGES}

    app.after_request(add_strict_headers)

    @app.teardown_request
    def discard_leftovers(_exc):
        discard = getattr(request, "discard_leftovers", None)
        if discard is not None:
            discard()

    _add_problem_pages(app, words_back)
    _add_favicon(app)
    return app


def _one_connection_per_request(app: Flask, store: Store) -> None:
    """Every query of a request shares one SQLite connection, closed when the request ends."""
    app.before_request(store.hold_connection)
    app.teardown_request(lambda _exc: store.release_connection())


def _add_favicon(app: Flask) -> None:
    """/favicon.ico, which Tor Browser asks for on every visit: a 1 KB icon instead of a 404."""
    @app.get("/favicon.ico")
    def favicon():
        return send_from_directory(STATIC, "favicon.ico", mimetype="image/vnd.microsoft.icon")


def _add_problem_pages(app: Flask, words_back) -> None:
    """Errors as plain pages (each app's own problem.html): no status jargon, no traceback, and
    nothing of the address asked for (`problem`: the language links lead home), so a page that
    does not exist and one hidden from this visitor answer with the same bytes."""
    @app.errorhandler(CSRFError)
    def expired_form(error):
        return render_template("problem.html", message=EXPIRED, problem=True), 400

    @app.errorhandler(HTTPException)
    def http_problem(error: HTTPException):
        return render_template("problem.html", message=message_for(error), problem=True), error.code

    @app.errorhandler(OSError)
    @app.errorhandler(sqlite3.OperationalError)
    def storage_problem(error: Exception):
        # A full disk is the one server fault a reporter should hear about plainly.
        full = getattr(error, "errno", None) in (errno.ENOSPC, errno.EDQUOT) \
            or "disk is full" in str(error)
        app.logger.error("request failed: %s", "disk full" if full else type(error).__name__)
        given_back = full and words_back is not None and words_back()
        if given_back:  # a report or follow-up: the form, filled in
            return given_back[0], 507
        return (render_template("problem.html", message=PROBLEMS[507 if full else 500], problem=True),
                507 if full else 500)

    @app.errorhandler(Exception)
    def server_problem(error: Exception):
        app.logger.error("request failed: %s", type(error).__name__)
        return render_template("problem.html", message=PROBLEMS[500], problem=True), 500
