"""The reporter site: start a report, get a codename, send, come back, read replies.

Works with JavaScript off. A session knows a reporter's conversation and
derived secret key only in server memory (see sessions.py). A new codename
stays there only until the reporter confirms they have written it down, for
15 minutes at most whether or not anything else happens (unconfirmed.py); after
that it is forgotten, and only what it derives to is kept.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import (Blueprint, abort, current_app, g, redirect, render_template, request, send_file, session,
                   url_for)
from flask_babel import get_locale, gettext as _, ngettext
from flask_wtf.csrf import CSRFError
from nacl.public import PrivateKey
from werkzeug.datastructures import MultiDict

from keys import codename as codenames
from keys.envelope import Origin
from keys.errors import FormatError
from dropbox.drafts import FOLLOW_UP, REPORT, Draft
from dropbox.forms import (ConfirmCodenameForm, DeleteForm, FollowUpForm, LoginForm, LogoutForm,
                           ReportForm, StartForm)
from dropbox.health import deletion_day
from dropbox.languages import SESSION_KEY as LANGUAGE, remember_choice
from dropbox.formlimits import takes_files
from dropbox.problems import BUSY, EXPIRED
from dropbox.ratelimit import codename_tag
from dropbox.receipts import Receipt
from dropbox.exports import attached_to
from dropbox.reporter_items import (decrypt_reply, reply_file, reply_file_body, report_from, seal_report,
                                      stage_submission, typed)
from dropbox.sessions import MemorySession, MemorySessions
from dropbox.storage import Conversation
from dropbox.storage.conversations import REPORTER
from dropbox.uploads import upload_request

reporter = Blueprint("reporter", __name__)

PENDING = "pending_identity"
# How long a new codename is kept in server memory for the reporter to write it down; it
# is forgotten as soon as they confirm they have, and after this in any case.
CODENAME_SHOWN_SECONDS = 15 * 60
SHOWN = "shown"  # in PENDING until the codename is confirmed: its handle in unconfirmed.py
CONVERSATION = "conversation"
SECRET = "reporter_secret"
FILES_SENT = "files_sent"  # how many files the last submission stored, for the page that says so


def _instance():
    return current_app.extensions["dropbox"]


UNCONFIRMED = "unconfirmed codenames"  # the app's UnconfirmedCodenames, in app.extensions


def _unconfirmed():
    return current_app.extensions[UNCONFIRMED]


@dataclass(frozen=True)
class TeamMember:
    name: str
    organisation: str


def _team() -> list[TeamMember]:
    practice = _instance().config.practice
    return [TeamMember(r.name, practice.organisation(r.name)) for r in _instance().store.team.members()]


def _fresh_session() -> None:
    """A new session id with nothing in it but the reporter's language (and an unconfirmed
    codename of the old one forgotten)."""
    pending = session.get(PENDING)
    if pending and SHOWN in pending:
        _unconfirmed().forget(pending[SHOWN])
    language = session.get(LANGUAGE)
    session.clear()
    _memory_session().regenerate()
    g.pop("csrf_token", None)  # Flask-WTF caches the old session's token for the request
    if language:
        session[LANGUAGE] = language


def _room_for_one_more() -> bool:
    """Whether a session for someone may begin: while the table of those is full, none does,
    since sessions of reporters who are writing are never evicted to make room (sessions.py)."""
    interface = current_app.session_interface
    if not isinstance(interface, MemorySessions):
        raise TypeError("the reporter app keeps its sessions in memory (sessions.py)")
    return interface.has_room()


def _memory_session() -> MemorySession:
    if not isinstance(session, MemorySession):  # the proxy answers for the session it holds
        raise TypeError("the reporter app keeps its sessions in memory (sessions.py)")
    return session


def _busy(draft: Draft | None):
    """No room for one more reporter just now: a page to try again from, carrying the words of
    a report in hand (nothing is kept here meanwhile)."""
    return render_template("busy.html", draft=draft, fresh=StartForm()), 429


def _max_files() -> int:
    return _instance().config.settings.max_files_per_submission


def _dropped_files() -> list[str]:
    """Names of the files that came with a form being shown again: a browser cannot keep them
    (those refused before they were read included: see submission_stream.py)."""
    if request.method != "POST":
        return []
    return [f.filename for f in request.files.getlist("files") if f.filename] + upload_request().unkept_files


def _files_refused() -> bool:
    """Whether files of this submission were refused before they were read (the judge said
    no to the text fields that came before them): then it is never accepted without them,
    even when fields that came after the files make the form valid."""
    return bool(request.method == "POST" and upload_request().unkept_files)


def _logged_in() -> Conversation | None:
    conversation_id = session.get(CONVERSATION)
    return _instance().store.conversations.conversation(conversation_id) if conversation_id else None


@reporter.get("/")
def index():
    return render_template("index.html", form=StartForm(), team=_team(),
                           practice=_instance().config.practice, settings=_instance().config.settings,
                           retention_days=_instance().config.settings.retention_days)


@reporter.get("/language/<code>")
def choose_language(code: str):
    """A plain link changes the language for the rest of the visit."""
    return remember_choice(code, "reporter.index")


@reporter.post("/start")
def start():
    """Make a codename; it stays in server memory only until the reporter has written it down."""
    if not StartForm().validate_on_submit():
        abort(400)
    draft = Draft.carried(request, REPORT)
    if not _room_for_one_more():
        return _busy(draft)
    _new_codename()
    if draft:  # a different codename for a report whose words are being carried back
        return _codename_page(draft)
    return redirect(url_for("reporter.codename"))


def _new_codename() -> None:
    """A fresh session holding a new codename, until the reporter has written it down."""
    config = _instance().config
    phrase = codenames.new_codename()
    identity = codenames.derive(phrase, config.peppers, config.codename_cost)
    _fresh_session()
    session[PENDING] = {"lookup_id": identity.lookup_id, "secret": bytes(identity.secret_key).hex(),
                        "tag": codename_tag(phrase, config.tag_key).hex(),
                        SHOWN: _unconfirmed().hold(phrase)}


def _unconfirmed_codename(pending: dict) -> str | None:
    """The codename still waiting to be written down; None once forgotten."""
    return _unconfirmed().get(pending[SHOWN])


def _codename_page(draft: Draft | None, form: ConfirmCodenameForm | None = None) -> str:
    return render_template("codename.html", codename=_unconfirmed_codename(session[PENDING]),
                           form=form or ConfirmCodenameForm(formdata=None), fresh=StartForm(),
                           draft=draft)


@reporter.route("/codename", methods=["GET", "POST"])
def codename():
    pending = session.get(PENDING)
    draft = Draft.carried(request, REPORT)
    if pending is None or SHOWN in pending and _unconfirmed_codename(pending) is None:
        if draft:  # the codename went unconfirmed too long, but words ride on: a new one for them
            if not _room_for_one_more():
                return _busy(draft)
            _new_codename()
            return _codename_page(draft), 400
        session.pop(PENDING, None)  # nothing was written yet: starting again loses nothing
        return redirect(url_for("reporter.index"))
    if SHOWN not in pending:
        return redirect(url_for("reporter.report"))
    form = ConfirmCodenameForm()
    if form.validate_on_submit():
        _unconfirmed().forget(pending[SHOWN])
        session[PENDING] = {k: v for k, v in pending.items() if k != SHOWN}
        if draft:  # the report that arrived after its session ended comes back filled in
            return render_template("report.html", form=_report_form(draft.formdata()),
                                   dropped=list(draft.files))
        return redirect(url_for("reporter.report"))
    status = 400 if request.method == "POST" else 200
    return _codename_page(draft, form), status


def _report_form(formdata=None) -> ReportForm:
    """The report form with this instance's choices; from the request's form unless `formdata`."""
    team = _team()
    form = ReportForm() if formdata is None else ReportForm(formdata=formdata)
    language = str(get_locale())
    form.behaviours.choices = [(b.id, b(language)) for b in _instance().config.practice.behaviours]
    form.recipients.choices = [(m.name, f"{m.name} ({m.organisation})" if m.organisation else m.name)
                               for m in team]
    if request.method == "GET" and formdata is None:
        form.recipients.data = [m.name for m in team]
        form.reply_language.data = language
    return form


def would_accept(fields: list[tuple[str, str]]) -> bool:
    """Asked by the channel before a submission's first file is stored (submission_stream.py):
    would its page accept it? The same checks as the routes below, on its text fields."""
    formdata = MultiDict(fields)
    if request.endpoint == "reporter.report":
        pending = session.get(PENDING)
        return pending is not None and SHOWN not in pending and _report_form(formdata).validate()
    if request.endpoint == "reporter.conversation":
        return _logged_in() is not None and FollowUpForm(formdata=formdata).validate()
    return True


def rescue(why: str | None = None) -> tuple[str, int] | None:
    """A report or follow-up whose session ended or whose token went stale is not thrown
    away. With the session alive, the form comes back filled in; with it gone, there is no
    codename to file it under, so its words are carried to the next page (drafts.py). `why` says
    why it was not sent, when not a stale token (a live session only). None where that does
    not apply: a request that did not come from our form (no token at all), or that was sent
    from another site (which must not end this session)."""
    if request.method != "POST" or not request.form.get("csrf_token") or \
            request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return None
    draft = _draft_in_hand()
    if draft is None:
        return None
    kind = draft.form
    pending, current = session.get(PENDING), _logged_in()
    # The session lives, only the token was stale (or `why` says what else): the same form
    # again, filled in, in it.
    said = why or _("This form had expired, so nothing was sent yet. Everything you "
                    "wrote is below: please send it again.")
    if kind == REPORT and pending and SHOWN not in pending:
        form = _report_form(draft.formdata())
        form.form_errors.append(said)
        return render_template("report.html", form=form, dropped=list(draft.files)), 400
    if kind == FOLLOW_UP and current is not None:
        form = FollowUpForm(formdata=draft.formdata())
        form.form_errors.append(said)
        return _conversation_page(current, form, 400, dropped=list(draft.files))
    if kind == REPORT:
        if not _room_for_one_more():
            return _busy(draft)
        _new_codename()  # the old one went with the session: nothing can be filed under it
        form = ConfirmCodenameForm(formdata=None)
        form.form_errors.append(_("Your session had ended, so your report was not sent yet. Nothing "
                                  "you wrote is lost: please write down this new codename and "
                                  "continue, and your report comes back filled in."))
        return _codename_page(draft, form), 400
    form = LoginForm(formdata=None)
    form.form_errors.append(_("You had been logged out, so your message was not sent yet. Nothing "
                              "you wrote is lost: please log in with your codename and it comes "
                              "back filled in."))
    return render_template("login.html", form=form, draft=draft), 400


def _draft_in_hand() -> Draft | None:
    """The words of a report or follow-up in this request: sent by their own form, or carried
    back by the page that came after an ended session (whose own session may have ended too)."""
    if request.endpoint == "reporter.report":
        return Draft.from_submission(REPORT, request)
    if request.endpoint == "reporter.conversation":
        return Draft.from_submission(FOLLOW_UP, request)
    return Draft.carried(request, REPORT) or Draft.carried(request, FOLLOW_UP)


@reporter.errorhandler(CSRFError)
def expired_form(error):
    """A stale token on a report or follow-up: its words come back; anything else, a plain page."""
    return rescue() or (render_template("problem.html", message=EXPIRED, problem=True), 400)


@reporter.route("/report", methods=["GET", "POST"])
@takes_files
def report():
    pending = session.get(PENDING)
    if pending is None:
        if request.method == "POST":
            return rescue() or abort(400)  # no report was started in this session, or it ended
        return redirect(url_for("reporter.index"))
    if SHOWN in pending:
        return redirect(url_for("reporter.codename"))
    store_team = _instance().store.team.members()
    form = _report_form()
    if not form.validate_on_submit() or _files_refused():
        return render_template("report.html", form=form, dropped=_dropped_files()), \
            400 if request.method == "POST" else 200
    recipients = tuple(r for r in store_team if r.name in form.recipients.data)
    secret = PrivateKey(bytes.fromhex(pending["secret"]))
    conversation_id = _instance().store.conversations.new_conversation_id()
    staged = stage_submission(seal_report(report_from(form, _instance().config.practice),
                                          secret.public_key),
                              recipients, conversation_id, 0, _max_files(), secret.public_key)
    _instance().store.conversations.create_conversation(
        pending["lookup_id"], secret.public_key, recipients, staged, conversation_id,
        bytes.fromhex(pending["tag"]))
    session.pop(PENDING)
    session[CONVERSATION] = conversation_id
    session[SECRET] = pending["secret"]
    session[FILES_SENT] = len(staged) - 1  # the report itself is the first item
    return redirect(url_for("reporter.submitted"))


@reporter.get("/submitted")
def submitted():
    current = _logged_in()
    if current is None:
        return redirect(url_for("reporter.index"))
    return render_template("submitted.html", recipients=current.recipients, logout=LogoutForm(),
                           files=session.get(FILES_SENT, 0))


@reporter.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    draft = Draft.carried(request, FOLLOW_UP)
    if not form.validate_on_submit():
        return render_template("login.html", form=form, draft=draft), 400 if request.method == "POST" else 200
    if not _room_for_one_more():  # the codename is typed again; a carried follow-up rides on
        form.form_errors.append(str(BUSY))
        return render_template("login.html", form=form, draft=draft), 429
    config, budget = _instance().config, _instance().login_failures
    conversations = _instance().store.conversations
    phrase = codenames.normalize(form.codename.data)
    if phrase is None and _misread(form):
        return render_template("login.html", form=form, draft=draft), 400
    tag = phrase and codename_tag(phrase, config.tag_key)
    # Only a guess that costs an argon2id run spends the shared budget: junk that is not
    # a codename of the list's words costs nothing, so it must not lock reporters out either;
    # nor may guesses keep out a codename whose conversation bears its tag (ratelimit.py).
    if tag and not budget.available() and not conversations.has_codename_tag(tag):
        abort(429)
    identity = phrase and codenames.derive(phrase, config.peppers, config.codename_cost)
    conversation = identity and conversations.find_by_lookup(identity.lookup_id)
    if not conversation:
        if phrase is not None:
            budget.spend()
        form.codename.errors.append(
            _("No report is known under this codename. Check each of its words and try again."))
        return render_template("login.html", form=form, draft=draft), 403
    conversations.tag_codename(conversation.id, tag)
    _fresh_session()
    session[CONVERSATION] = conversation.id
    session[SECRET] = bytes(identity.secret_key).hex()
    if draft:  # the follow-up that arrived after its session ended comes back filled in
        return _conversation_page(conversation, FollowUpForm(formdata=draft.formdata()), 200,
                                  dropped=list(draft.files))
    return redirect(url_for("reporter.conversation"))


def _misread(form: LoginForm) -> bool:
    """Say which typed words no codename holds, or that the count is wrong, when either is so.
    Read from the word list alone: nothing here depends on whether a report exists."""
    typed = form.codename.data
    said = [_("Word %(place)d, “%(word)s”, is not one of the words codenames are made of. Check it "
              "against what you wrote down.", place=place, word=word)
            for place, word in codenames.unknown_words(typed)]
    count = codenames.word_count(typed)
    if count not in (codenames.WORDS, codenames.LEGACY_WORDS):
        said.append(ngettext("A codename has eight words: %(num)d word was read.",
                             "A codename has eight words: %(num)d words were read.", count))
    if said:  # one message: the field's error has one id, for its aria-describedby
        form.codename.errors.append(" ".join(said))
    return bool(said)


@reporter.route("/conversation", methods=["GET", "POST"])
@takes_files
def conversation():
    current = _logged_in()
    if current is None:
        page = rescue()
        if page:
            return page
        _fresh_session()
        return redirect(url_for("reporter.login"))
    form = FollowUpForm()
    if form.validate_on_submit() and not _files_refused():
        text = typed(form.message.data)
        store = _instance().store
        position = store.conversations.reporter_items(current.id)
        staged = stage_submission(request.seal_message(text) if text and text.strip() else None,
                                  store.team.current_recipients(current.recipients), current.id, position,
                                  _max_files(), current.reporter_key)
        if staged:
            store.conversations.add_items(current.id, Origin.REPORTER, staged, first_position=position)
            session[FILES_SENT] = len(staged) - (1 if text and text.strip() else 0)
            return redirect(url_for("reporter.conversation", sent=1))
        form.message.errors.append(_("Write a message or choose a file to send."))
    return _conversation_page(current, form, 400 if request.method == "POST" else 200)


def _conversation_page(current: Conversation, form: FollowUpForm, status: int,
                       dropped: list[str] | None = None):
    secret = PrivateKey(bytes.fromhex(session[SECRET]))
    store = _instance().store
    items, files = [], dict[str, list]()
    for item in store.conversations.items(current.id, reporter_sees=True):
        tied = attached_to(item) if item.origin == Origin.TEAM else None
        if tied is None:
            items.append(item)
        elif (sent := reply_file(store, item, secret)) is not None:
            files.setdefault(tied, []).append(sent)
    replies = {item.id: decrypt_reply(store, item, secret) for item in items if item.origin == Origin.TEAM}
    receipts = {item.id: Receipt.open(item.receipt, secret) for item in items if item.origin == Origin.REPORTER}
    progress = store.cases.progress(current.id)
    return render_template("conversation.html", form=form, items=items, replies=replies, receipts=receipts,
                           files=files, progress=progress,
                           state=_instance().config.practice.case_state(progress.state),
                           conversation=current, sent=request.args.get("sent"),
                           deletion=_coming_deletion(current),
                           sent_files=session.get(FILES_SENT, 0),
                           dropped=_dropped_files() if dropped is None else dropped,
                           logout=LogoutForm()), status


@dataclass(frozen=True)
class ComingDeletion:
    day: str
    asked_by_team: bool  # a responder asked on the desk; else retention, after a quiet spell


def _coming_deletion(current: Conversation) -> ComingDeletion | None:
    """The deletion that happens first if nothing more happens: a responder's request or
    retention, whichever is due sooner (a message from the reporter stops both)."""
    retention = deletion_day(current.last_activity, _instance().config.settings.retention_days)
    asked = _instance().store.desk.deletion_due(current.id)
    if asked is not None and (retention is None or asked < retention):
        return ComingDeletion(asked, True)
    return None if retention is None else ComingDeletion(retention, False)
@reporter.get("/conversation/files/<item_id>")
def reply_file_download(item_id: str):
    """A file the team sent with a reply, decrypted as it is sent: only to the reporter logged in
    to its conversation, and only a file tied to a reply (never a note, never another's item)."""
    current = _logged_in()
    if current is None:
        _fresh_session()
        return redirect(url_for("reporter.login"))
    store = _instance().store
    item = next((i for i in store.conversations.items(current.id, reporter_sees=True)
                 if i.id == item_id and i.origin == Origin.TEAM and attached_to(i)), None)
    if item is None:
        abort(404)
    try:
        name, body = reply_file_body(store, item, PrivateKey(bytes.fromhex(session[SECRET])))
    except (FormatError, OSError):
        abort(404)
    return send_file(body, mimetype="application/octet-stream", as_attachment=True,  # type: ignore[arg-type]
                     download_name=name, etag=False, last_modified=None, max_age=0)


@reporter.route("/delete", methods=["GET", "POST"])
def delete():
    """The reporter deletes their whole conversation, after a confirmation page."""
    current = _logged_in()
    if current is None:
        _fresh_session()
        return redirect(url_for("reporter.login"))
    form = DeleteForm()
    if not form.validate_on_submit():
        return render_template("delete.html", form=form)
    _instance().store.conversations.delete_conversation(current.id, REPORTER)
    _fresh_session()
    return render_template("delete.html", deleted=True)


@reporter.post("/logout")
def logout():
    LogoutForm().validate_on_submit()
    _fresh_session()
    return redirect(url_for("reporter.index"))
