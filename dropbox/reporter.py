"""The reporter site: start a report, get a codename, send, come back, read replies.

Works with JavaScript off. A session knows a reporter's conversation and
derived secret key only in server memory (see sessions.py); the codename
itself is forgotten as soon as it has been turned into those.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from nacl.public import PrivateKey

from keys import codename as codenames
from keys.envelope import open_envelope
from keys.errors import FormatError
from keys.items import split_item
from keys.responder import Responder
from dropbox.forms import DeleteForm, FollowUpForm, LoginForm, LogoutForm, ReportForm, StartForm
from dropbox.problems import TooLarge
from dropbox.storage import Conversation, StagedItem

reporter = Blueprint("reporter", __name__)

PENDING = "pending_identity"
CONVERSATION = "conversation"
SECRET = "reporter_secret"


def _instance():
    return current_app.extensions["dropbox"]


@dataclass(frozen=True)
class Reply:
    date: str
    author: str
    text: str


def _stage_submission(form, recipients: tuple[Responder, ...]) -> list[StagedItem]:
    """Seal the typed message and every uploaded file to `recipients`."""
    keys = [r.public_key for r in recipients]
    sinks = []
    if form.message.data and form.message.data.strip():
        sinks.append(request.seal_message(form.message.data))
    uploads = [f for f in request.files.getlist("files") if f.filename]
    limit = _instance().config.settings.max_files_per_submission
    if len(uploads) > limit:
        raise TooLarge(f"Please send at most {limit} files at a time.")
    sinks += [f.stream for f in uploads]
    return [sink.claim(keys) for sink in sinks]


def _logged_in() -> Conversation | None:
    conversation_id = session.get(CONVERSATION)
    return _instance().store.conversation(conversation_id) if conversation_id else None


@reporter.get("/")
def index():
    return render_template("index.html", form=StartForm(), team=_instance().store.team())


@reporter.post("/start")
def start():
    """Make a codename, show it once, and remember only what it derives to."""
    if not StartForm().validate_on_submit():
        abort(400)
    config = _instance().config
    phrase = codenames.new_codename()
    identity = codenames.derive(phrase, config.peppers, config.codename_cost)
    session.clear()
    session.regenerate()
    session[PENDING] = {"lookup_id": identity.lookup_id, "secret": bytes(identity.secret_key).hex()}
    return render_template("codename.html", codename=phrase)


@reporter.route("/report", methods=["GET", "POST"])
def report():
    pending = session.get(PENDING)
    if pending is None:
        if request.method == "POST":
            abort(400)  # no report was started in this session, or it ended long ago
        return redirect(url_for("reporter.index"))
    team = _instance().store.team()
    form = ReportForm()
    form.recipients.choices = [(r.name, r.name) for r in team]
    if request.method == "GET":
        form.recipients.data = [r.name for r in team]
    if not form.validate_on_submit():
        return render_template("report.html", form=form, team=team), 400 if request.method == "POST" else 200
    recipients = tuple(r for r in team if r.name in form.recipients.data)
    secret = PrivateKey(bytes.fromhex(pending["secret"]))
    staged = _stage_submission(form, recipients)
    conversation_id = _instance().store.create_conversation(
        pending["lookup_id"], secret.public_key, recipients, staged)
    session.pop(PENDING)
    session[CONVERSATION] = conversation_id
    session[SECRET] = pending["secret"]
    return render_template("submitted.html", recipients=recipients, logout=LogoutForm())


@reporter.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("login.html", form=form), 400 if request.method == "POST" else 200
    config, budget = _instance().config, _instance().login_failures
    if not budget.available():
        abort(429)
    phrase = codenames.normalize(form.codename.data)
    identity = phrase and codenames.derive(phrase, config.peppers, config.codename_cost)
    conversation = identity and _instance().store.find_by_lookup(identity.lookup_id)
    if not conversation:
        budget.spend()
        form.codename.errors.append(
            "No report is known under this codename. Check each of its seven words and try again.")
        return render_template("login.html", form=form), 403
    session.clear()
    session.regenerate()
    session[CONVERSATION] = conversation.id
    session[SECRET] = bytes(identity.secret_key).hex()
    return redirect(url_for("reporter.conversation"))


@reporter.route("/conversation", methods=["GET", "POST"])
def conversation():
    current = _logged_in()
    if current is None:
        session.clear()
        return redirect(url_for("reporter.login"))
    form = FollowUpForm()
    if form.validate_on_submit():
        staged = _stage_submission(form, current.recipients)
        if staged:
            _instance().store.add_items(current.id, "reporter", staged)
            return redirect(url_for("reporter.conversation", sent=1))
        form.message.errors.append("Write a message or choose a file to send.")
    status = 400 if request.method == "POST" else 200
    secret = PrivateKey(bytes.fromhex(session[SECRET]))
    items = _instance().store.items(current.id)
    replies = {item.id: _read_reply(item, secret) for item in items if item.origin == "team"}
    return render_template("conversation.html", form=form, items=items, replies=replies,
                           conversation=current, sent=request.args.get("sent"),
                           logout=LogoutForm()), status


@reporter.route("/delete", methods=["GET", "POST"])
def delete():
    """The reporter deletes their whole conversation, after a confirmation page."""
    current = _logged_in()
    if current is None:
        session.clear()
        return redirect(url_for("reporter.login"))
    form = DeleteForm()
    if not form.validate_on_submit():
        return render_template("delete.html", form=form)
    _instance().store.delete_conversation(current.id, "the reporter")
    session.clear()
    return render_template("delete.html", deleted=True)


@reporter.post("/logout")
def logout():
    LogoutForm().validate_on_submit()
    session.clear()
    return redirect(url_for("reporter.index"))


def _read_reply(item, secret: PrivateKey) -> Reply | None:
    """Decrypt a reply in memory for this response only; None if it cannot be read."""
    try:
        with _instance().store.envelope(item) as stream:
            meta, body = split_item(open_envelope(stream, secret))
            text = b"".join(body).decode("utf-8", errors="replace")
    except (FormatError, OSError):
        return None
    return Reply(meta.date, meta.name, text)
