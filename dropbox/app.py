"""The reporter site's Flask application: the shared base (webapp.py) and its own pages."""
from __future__ import annotations

from flask import Flask
from markupsafe import Markup

from dropbox import scripts_warning
from dropbox.config import Config, InstanceError
from dropbox.formlimits import BoundedFormRequest
from dropbox.problems import NOT_SAVED
from dropbox.reporter import CODENAME_SHOWN_SECONDS, CONVERSATION, UNCONFIRMED, reporter, rescue, would_accept
from dropbox.respondent import INVITATION, respondent, would_accept as would_accept_response
from dropbox.sessions import COOKIE_NAME
from dropbox.unconfirmed import UnconfirmedCodenames
from dropbox.uploads import EncryptingRequest
from dropbox.webapp import build_app


class SiteRequest(BoundedFormRequest, EncryptingRequest):
    """Files are encrypted as they arrive; text parts are bounded as they are parsed."""


def create_app(config: Config) -> Flask:
    if config.tag_key is None:  # logins could not be told from guesses (ratelimit.py)
        raise InstanceError(f"instance at {config.data_dir} has no {config.layout.tag_key}: "
                            f"`dropbox upgrade --data {config.data_dir}` makes it")
    app = build_app(__name__, config, service="site", cookie=COOKIE_NAME, request_class=SiteRequest,
                    session_owner=(CONVERSATION, INVITATION),
                    words_back=lambda: rescue(NOT_SAVED))

    @app.context_processor
    def page_extras():
        return {"quick_exit_url": config.settings.quick_exit_url, "demo": config.practice.demo,
                "scripts_warning": scripts_warning.script()}

    @app.template_filter("isolated")
    def isolated(value) -> Markup:
        """A date, number or name kept in its own direction inside a sentence: an ISO day in
        an Arabic sentence would otherwise show as 06-12-2026."""
        return Markup("<bdi>{}</bdi>").format(value)

    # New codenames waiting to be written down: the reporter site's alone.
    app.extensions[UNCONFIRMED] = UnconfirmedCodenames(CODENAME_SHOWN_SECONDS)
    app.register_blueprint(reporter)
    app.register_blueprint(respondent)  # the person reported's pages (respondent.py)
    return app


def submission_judge(app: Flask):
    """For the channel (submission_stream.py): would this app accept the submission whose
    headers are `environ` and whose text fields are `fields`? Asked before its first file
    part is stored; the request's own run decides again, with the whole form."""
    def judge(environ: dict, fields: list[tuple[str, str]]) -> bool:
        with app.request_context(environ):
            return would_accept(fields) and would_accept_response(fields)
    return judge
