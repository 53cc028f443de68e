"""The desk's pages: enrol, log in, my login, my conversations, my bundle, upload replies,
close, delete, audit.

Every page that concerns conversations starts from the logged-in responder
(`conversations.page_for`, `conversations.find`); a designation that is not
theirs is answered exactly like one that does not exist. The list is paged
(`?page=N`), and every action answers with one page of it, never the whole.
"""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from flask import (Blueprint, abort, current_app, redirect, render_template, request, send_file,
                   session, url_for)
from flask_babel import get_locale, gettext as _, lazy_gettext as _l, ngettext

from keys.envelope import Origin
from keys.errors import FormatError
from dropbox import health, promises
from dropbox.figures import yearly
from dropbox.desk import accounts, deletions
from dropbox.desk import audit as audit_words
from dropbox.desk.conversations import find, new_designation, page_for
from dropbox.desk.forms import (CaseStateForm, ChangeAuthenticatorForm, ChangePassphraseForm, ConfirmForm,
                                DeskLoginForm, EnrolForm, EnrolmentCodeForm, HandForm, RepliesForm)
from dropbox.desk.qr import grouped, qr_svg
from dropbox.exports import export_bundle, import_replies, read_reply
from dropbox.formlimits import takes_files
from dropbox.languages import LANGUAGES, SESSION_KEY as LANGUAGE, remember_choice
from dropbox.problems import BUSY
from dropbox.sessions import MemorySession
from dropbox.storage import Account, new_id, today
from keys.figures import COLUMNS, YEAR

desk = Blueprint("desk", __name__)

# The figures' columns as the desk shows them; the keys stay the CSV's (`keys.figures`).
HEADINGS = dict(zip(COLUMNS, (_l("Month"), _l("Opened"), _l("Closed"), _l("Deleted"),
                              _l("Median days to acknowledgement"), _l("Median days to first reply"),
                              _l("Median days to closing")), strict=True))

USER = "desk_user"
CREDENTIALS = "desk_credentials"  # which password and TOTP secret this login was made with
ENROLMENT = "desk_enrolment"  # the code being used, its name and the TOTP secret made for it
NEW_TOTP = "desk_new_totp"  # a TOTP secret offered on the account page, until it is confirmed
PUBLIC = {"desk.login", "desk.choose_language", "desk.enrol", "desk.enrol_choose"}
# What each confirmation page asks, what it says the action does, its button (in the reader's
# language), and what the audit then says (stored in English: audit.py translates it).
# Closing is only a status: saying so is what makes it safe to press.
ACTIONS = {
    "close": (_l("Close this conversation?"),
              _l("Closing marks it as handled, for every reader. Nothing is deleted: the reporter can "
                 "still read it and write, you can still download it and reply, and it is still "
                 "deleted after %(retention)s days without activity. Reopen it at any time."),
              _l("Close it"), "closed a conversation"),
    "reopen": (_l("Reopen this conversation?"), _l("It is shown as open again, for every reader."),
               _l("Reopen it"), "reopened a conversation"),
    "delete": (_l("Delete this conversation for the whole team?"),
               _l("It will be deleted on %(due)s, with everything in it, for every reader and for the "
                  "reporter; then it cannot be undone. Until then it stays here, marked, and any of its "
                  "readers can cancel the deletion; so does a message from the reporter, who is told "
                  "the day. Copies already opened offline are not touched."),
               _l("Delete it on %(due)s"), "asked to delete a conversation"),
    "keep": (_l("Cancel the deletion of this conversation?"),
             _l("%(asked)s asked to delete it on %(due)s. If you cancel, it stays, and everyone can "
                "see that you cancelled."), _l("Keep it"), "cancelled a deletion"),
}


def _instance():
    return current_app.extensions["dropbox"]


def _me() -> str:
    return session[USER]


def _logged_in() -> Account | None:
    """The account this session is logged in to, while its login still holds."""
    name = session.get(USER)
    team = {r.name for r in _instance().store.team.members()}
    account = _instance().store.desk.account(name) if name in team else None
    # `desk reset-user` and `remove-user` run in another process: the login they end is
    # told apart by its credentials, checked on every request.
    if account is None or session.get(CREDENTIALS) != accounts.credentials_stamp(account):
        return None
    return account


@desk.before_request
def require_login():
    if request.endpoint in PUBLIC or _logged_in():
        return None
    _fresh_session()
    return redirect(url_for("desk.login"))


def _fresh_session() -> None:
    """A new session id with nothing in it but the responder's language."""
    if not isinstance(session, MemorySession):  # the proxy answers for the session it holds
        raise TypeError("the desk keeps its sessions in memory (sessions.py)")
    language = session.get(LANGUAGE)
    session.clear()
    session.regenerate()  # type: ignore[attr-defined]  # a MemorySession (webapp.py): mypy sees Flask's type
    if language:
        session[LANGUAGE] = language


@desk.get("/language/<code>")
def choose_language(code: str):
    """A plain link changes the language for the rest of the visit."""
    answer = remember_choice(code, "desk.conversations")
    if code in LANGUAGES and (account := _logged_in()):
        _instance().store.desk.update_account(account.name, language=code)
    return answer


@desk.route("/login", methods=["GET", "POST"])
def login():
    form = DeskLoginForm()
    if not form.validate_on_submit():
        return render_template("login.html", form=form), 400 if request.method == "POST" else 200
    instance = _instance()
    if not current_app.session_interface.has_room():  # every session table slot is someone's
        return render_template("login.html", form=form, refused=str(BUSY)), 429
    try:
        accounts.authenticate(instance.config, instance.store, form.username.data.strip(),
                              form.password.data, form.otp.data)
    except accounts.LoginRefused as refused:
        return render_template("login.html", form=form, refused=str(refused)), 403
    _fresh_session()
    session[USER] = form.username.data.strip()
    session[CREDENTIALS] = accounts.credentials_stamp(instance.store.desk.account(_me()))
    instance.store.desk.update_account(_me(), language=str(get_locale()))  # their mail's
    instance.store.desk.audit(_me(), "logged in")
    return redirect(url_for("desk.conversations"))


@desk.route("/enrol", methods=["GET", "POST"])
def enrol():
    """First visit: the enrolment code the operator gave. Wrong codes spend the failed-login
    budget, as reporters' wrong codenames do."""
    form = EnrolmentCodeForm()
    if not form.validate_on_submit():
        return render_template("enrol.html", form=form), 400 if request.method == "POST" else 200
    instance = _instance()
    if not current_app.session_interface.has_room():
        return render_template("enrol.html", form=form, refused=str(BUSY)), 429
    if not instance.login_failures.available():
        abort(429)
    name = accounts.enrolling(instance.config, instance.store, form.code.data)
    if name is None:
        instance.login_failures.spend()
        return render_template("enrol.html", form=form, refused=str(accounts.CODE_REFUSED)), 403
    _fresh_session()
    session[ENROLMENT] = {"code": form.code.data, "name": name, "secret": accounts.new_totp_secret()}
    return redirect(url_for("desk.enrol_choose"))


def _authenticator(name: str, totp_secret: str) -> dict:
    """What a page shows of a TOTP secret for its owner to add to their authenticator."""
    uri = accounts.totp_uri(name, totp_secret)
    return {"qr": qr_svg(uri, _("QR code of your new authenticator secret")),
            "secret": grouped(totp_secret), "uri": uri}


@desk.route("/enrol/choose", methods=["GET", "POST"])
def enrol_choose():
    """Then the responder's own passphrase and authenticator, confirmed by a code from it."""
    enrolment = session.get(ENROLMENT)
    if not enrolment:
        return redirect(url_for("desk.enrol"))
    form = EnrolForm()
    shown = {"form": form, "name": enrolment["name"], "min_passphrase": accounts.MIN_PASSPHRASE,
             "authenticator": _authenticator(enrolment["name"], enrolment["secret"])}
    if not form.validate_on_submit():
        return render_template("enrol_choose.html", **shown), 400 if request.method == "POST" else 200
    instance = _instance()
    try:
        accounts.enrol(instance.config, instance.store, enrolment["code"], form.passphrase.data,
                       form.again.data, enrolment["secret"], form.otp.data)
    except accounts.EnrolmentRefused as refused:
        return render_template("enrol_choose.html", refused=str(refused), **shown), 400
    _fresh_session()
    return redirect(url_for("desk.login", enrolled=1))


@desk.get("/account")
def my_login():
    """Change my passphrase or my authenticator; each starts by proving the login again."""
    return _account_page()


def _account_page(status: int = 200, passphrase=None, authenticator=None, **extra):
    if NEW_TOTP not in session:
        session[NEW_TOTP] = accounts.new_totp_secret()
    return render_template("account.html",
                           passphrase_form=passphrase or ChangePassphraseForm(prefix="passphrase"),
                           authenticator_form=authenticator or ChangeAuthenticatorForm(prefix="authenticator"),
                           new=_authenticator(_me(), session[NEW_TOTP]), **extra), status


def _reauthenticated(form) -> str | None:
    """None if the form's passphrase and code are this responder's; else why not."""
    instance = _instance()
    try:
        accounts.authenticate(instance.config, instance.store, _me(), form.current.data, form.otp.data)
    except accounts.LoginRefused as refused:
        return str(refused)
    return None


def _keep_this_login() -> None:
    """My login now has new credentials: this session goes on with them; every other
    session of mine ends at its next request (require_login)."""
    session[CREDENTIALS] = accounts.credentials_stamp(_instance().store.desk.account(_me()))


@desk.post("/account/passphrase")
def change_passphrase():
    form = ChangePassphraseForm(prefix="passphrase")
    if not form.validate_on_submit():
        return _account_page(400, passphrase=form)
    try:  # a mistyped new passphrase must not cost a code from the authenticator
        accounts.check_passphrase(form.passphrase.data, form.again.data)
        refused = _reauthenticated(form)
    except accounts.EnrolmentRefused as problem:
        refused = str(problem)
    if refused is not None:
        return _account_page(403, passphrase=form, passphrase_refused=refused)
    accounts.change_passphrase(_instance().store, _me(), form.passphrase.data, form.again.data)
    _keep_this_login()
    return _account_page(notice=_("Your passphrase is changed. Your other sessions have ended."))


@desk.post("/account/authenticator")
def change_authenticator():
    form = ChangeAuthenticatorForm(prefix="authenticator")
    if not form.validate_on_submit() or NEW_TOTP not in session:
        return _account_page(400, authenticator=form)
    refused = _reauthenticated(form)
    if refused is None:
        try:
            accounts.change_authenticator(_instance().config, _instance().store, _me(),
                                          session[NEW_TOTP], form.new_otp.data)
        except accounts.EnrolmentRefused as problem:
            refused = str(problem)
    if refused is not None:
        return _account_page(403, authenticator=form, authenticator_refused=refused)
    session.pop(NEW_TOTP)
    _keep_this_login()
    return _account_page(notice=_("Your authenticator is changed: only codes from the new entry work "
                            "now. Your other sessions have ended."))


@desk.post("/logout")
def logout():
    ConfirmForm().validate_on_submit()
    _fresh_session()
    return redirect(url_for("desk.login"))


def _page_number() -> int:
    return request.args.get("page", 1, type=int)


def _list_page(status: int = 200, **extra):
    instance = _instance()
    mine = request.args.get("mine") == "1"
    page = page_for(instance.store, _me(), _page_number(), instance.config.settings.desk_page_size, mine)
    ids = [c.id for c in page.conversations]
    promised = {"acknowledgement": _("acknowledgement"), "reply": _("reply")}
    overdue = {cid: _(" and ").join(promised[why] for why in late)
               for cid, late in promises.overdue(instance.store, instance.config.settings, _me(), ids).items()}
    return render_template("conversations.html", page=page, conversations=page.conversations,
                           warnings=_warnings(), overdue=overdue, mine=mine,
                           handlers=instance.store.cases.handlers(ids),
                           me=_me(), upload=RepliesForm(), button=ConfirmForm(), **extra), status


def _warnings() -> dict:
    """What `dropbox status` would warn of, about this responder's conversations only (those on
    any page, not only this one): how many, each with a link to their own pages
    (`warnings`), so a list page weighs the same however many are due."""
    instance = _instance()
    # Whether the disk is nearly full, and no figure: free space moves with every upload,
    # those to conversations that leave this responder out included.
    disk_low = health.free_disk(instance.config) < instance.config.max_request_bytes
    settings, store = instance.config.settings, instance.store
    deletions = health.deletions_for(store, _me(), settings.retention_days, settings.retention_warning_days, 1)
    return {"deletions": _named(deletions), "unread": health.unread_of(store, _me(), settings.unread_warning_days),
            "unread_days": settings.unread_warning_days, "disk_low": disk_low}


def _named(found: health.Warned) -> health.Warned:
    """The same warning, each conversation by its designation."""
    named = _instance().store.desk.designations([cid for cid, _ in found.rows], new_designation)
    return health.Warned(found.total, [(named[cid][0], day) for cid, day in found.rows], found.or_more)


@desk.get("/warnings/<kind>")
def warnings(kind: str):
    """One page of the conversations a warning is about: deletions coming (soonest first, by
    page number) or reports waiting unread (longest waiting first, each page from the
    conversation after the last one of the page before: `?after=<designation>`)."""
    instance = _instance()
    settings, store, size = instance.config.settings, instance.store, instance.config.settings.desk_page_size
    if kind == "deletions":
        number = min(max(1, _page_number()), 1 << 31)  # an offset SQLite can hold
        found = health.deletions_for(store, _me(), settings.retention_days, settings.retention_warning_days,
                                     size, (number - 1) * size)
        pages = max(1, -(-found.total // size))
        if number > pages:  # past the end: the last page
            number = pages
            found = health.deletions_for(store, _me(), settings.retention_days,
                                         settings.retention_warning_days, size, (number - 1) * size)
        return render_template("warnings.html", kind=kind, warned=_named(found), number=number, pages=pages)
    if kind != "unread":
        abort(404)
    after = find(store, _me(), request.args.get("after", ""))
    found = _named(health.unread_of(store, _me(), settings.unread_warning_days, size,
                                    after.id if after else None))
    following = found.rows[-1][0] if len(found.rows) == size else None
    return render_template("warnings.html", kind=kind, warned=found, following=following,
                           first=after is not None, unread_days=settings.unread_warning_days)


@desk.get("/")
def conversations():
    return _list_page()


@desk.get("/bundle")
def bundle():
    """My bundle: new items since my last download, or everything with ?all=1."""
    store = _instance().store
    temp = store.tmp_dir / f"{new_id()}.bundle"
    try:
        downloaded = export_bundle(store, temp, _me(), everything=request.args.get("all") == "1")
        if not downloaded:
            return _list_page(notice=_("Nothing new since your last download."))
        stream = open(temp, "rb")
    finally:
        temp.unlink(missing_ok=True)  # an open stream keeps the file readable until sent
    # One entry per conversation, for its readers: an entry for the whole team would tell a
    # left-out responder that there was something new for me that they do not have.
    store.desk.audit_each(_me(), "downloaded a conversation", list(downloaded))
    return send_file(stream, mimetype="application/octet-stream", as_attachment=True,
                     download_name=f"desk-{_me()}-{today()}.odbx")


@desk.post("/replies")
@takes_files
def replies():
    form = RepliesForm()
    if not form.validate_on_submit():
        abort(400)
    uploads = [f for f in request.files.getlist(form.replies.name) if f.filename]
    if not uploads:
        return _list_page(400, results=[("", _("Choose one or more reply files to upload."), False)])
    results = [_store_reply(upload) for upload in uploads]
    return _list_page(200 if all(ok for _, _, ok in results) else 400, results=results)


def _store_reply(upload) -> tuple[str, str, bool]:
    """(file name, what happened, accepted) for one uploaded reply file: a reply, with the files
    sent with it, or a note."""
    store, settings = _instance().store, _instance().config.settings
    name = Path(upload.filename).name
    temp = store.tmp_dir / f"{new_id()}.reply"
    try:
        upload.save(temp)  # a reply file is ciphertext from end to end
        try:
            reply = read_reply(temp, settings)
        except FormatError as exc:
            if "not a reply file" in str(exc):
                return name, _("is not a reply file (it is a bundle for the air-gapped machine)."), False
            raise
        if not store.conversations.recipient_of(_me(), [reply.conversation_id]):
            return name, _("is not a reply to one of your conversations; nothing was stored."), False
        import_replies(store, temp, settings)
    except FormatError as exc:
        return name, _("was refused: %(reason)s. Nothing was stored.", reason=exc), False
    finally:
        temp.unlink(missing_ok=True)
    store.desk.record_uploads(_me(), [reply.item.id, *(entry.id for entry, _ in reply.attachments)])
    note = reply.item.origin == Origin.NOTE
    if conversation := store.conversations.conversation(reply.conversation_id):  # the audience as stored
        store.desk.audit(_me(), "uploaded a note" if note else "uploaded a reply",
                         conversation.recipients)
    if note:
        return name, _("stored a note, for this conversation's responders only."), True
    return name, ngettext("stored a reply with %(num)d file.", "stored a reply with %(num)d files.",
                          len(reply.attachments)) if reply.attachments else \
        ngettext("stored %(num)d reply.", "stored %(num)d replies.", 1), True


@desk.post("/conversations/<designation>/star")
def star(designation: str):
    found = find(_instance().store, _me(), designation)
    if found is None or not ConfirmForm().validate_on_submit():
        abort(404)
    _instance().store.desk.toggle_star(_me(), found.id)
    return redirect(url_for("desk.conversations", page=request.form.get("page", 1, type=int)))


@desk.route("/conversations/<designation>/<action>", methods=["GET", "POST"])
def confirm(designation: str, action: str):
    store = _instance().store
    found = find(store, _me(), designation)
    if found is None or action not in ACTIONS or (action == "keep") != bool(found.deletion):
        abort(404)
    grace = _instance().config.settings.deletion_grace_days
    asked, due = found.deletion or ("", (date.today() + timedelta(days=grace)).isoformat())
    figures = {"due": due, "asked": asked, "retention": _instance().config.settings.retention_days}
    *shown, said = ACTIONS[action]
    question, explained, button = (str(text) % figures for text in shown)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template("confirm.html", form=form, conversation=found, question=question,
                               explained=explained, button=button)
    if action == "delete":
        deletions.ask(store, found.id, _me(), grace)
    elif action == "keep":
        store.desk.cancel_deletion(found.id)
    else:
        store.desk.set_closed(found.id, action == "close")
    store.desk.audit(_me(), said, found.recipients)
    if action == "delete":
        deletions.carry_out_due(store)  # with deletion_grace_days = 0, at once
    return redirect(url_for("desk.conversations"))


@desk.route("/conversations/<designation>/case", methods=["GET", "POST"])
def case(designation: str):
    """Where the case stands, as its reporter reads it: any reader of the conversation sets it."""
    instance = _instance()
    found = find(instance.store, _me(), designation)
    if found is None:
        abort(404)
    states = instance.config.practice.case_states
    form = CaseStateForm()
    form.state.choices = _state_choices(states)
    if not form.validate_on_submit():
        return _case_page(found, form, 400 if request.method == "POST" else 200)
    instance.store.cases.set_state(found.id, form.state.data)
    instance.store.desk.audit(_me(), "set a case's state", found.recipients)
    return redirect(url_for("desk.case", designation=designation))


def _state_choices(states) -> list[tuple[str, str]]:
    """The code of practice's states in the responder's language: the words the reporter reads."""
    return [(s.id, s(str(get_locale()))) for s in states]


def _readers(found) -> list[str]:
    """The conversation's readers today: the reporter's choice, less anyone removed from the team."""
    return [r.name for r in _instance().store.team.current_recipients(found.recipients)]


def _case_page(found, state_form: CaseStateForm | None = None, status: int = 200, refused: str = ""):
    store, states = _instance().store, _instance().config.practice.case_states
    if state_form is None:
        state_form = CaseStateForm(formdata=None)
        state_form.state.choices = _state_choices(states)
    hand = HandForm(formdata=None)
    hand.to.choices = [(name, name) for name in _readers(found) if name != _me()]
    return render_template("case.html", conversation=found, form=state_form, states=states, hand=hand,
                           take=ConfirmForm(formdata=None), refused=refused, me=_me(),
                           handlers=store.cases.handlers([found.id]).get(found.id, ()),
                           progress=store.cases.progress(found.id)), status


@desk.post("/conversations/<designation>/take")
def take(designation: str):
    """I handle this case (with whoever handles it already)."""
    store = _instance().store
    found = find(store, _me(), designation)
    if found is None or not ConfirmForm().validate_on_submit() or _me() not in _readers(found):
        abort(404)
    store.cases.take(found.id, _me())
    store.desk.audit(_me(), "took a case", found.recipients)
    return redirect(url_for("desk.case", designation=designation))


@desk.post("/conversations/<designation>/hand")
def hand(designation: str):
    """Another reader handles this case instead of me; handing it to anyone else is refused."""
    store = _instance().store
    found = find(store, _me(), designation)
    if found is None:
        abort(404)
    form = HandForm()
    form.to.choices = [(name, name) for name in _readers(found) if name != _me()]
    if not form.validate_on_submit():
        return _case_page(found, status=400, refused=_("Only another reader of this conversation can "
                                                        "handle it: nothing was changed."))
    store.cases.take(found.id, form.to.data, handing_over=_me())
    store.desk.audit(_me(), f"handed a case to {form.to.data}", found.recipients)
    return redirect(url_for("desk.case", designation=designation))


@desk.get("/figures")
def figures():
    """The year's figures without content, over my conversations only (`dropbox figures` has
    the whole team's)."""
    year = request.args.get("year", date.today().year, type=int)
    if not 2000 <= year <= 9999:
        abort(404)
    return render_template("figures.html", year=year, columns=COLUMNS, headings=HEADINGS,
                           year_row=YEAR, whole_year=_("The whole year"),
                           rows=yearly(_instance().store, year, _me()))


@desk.get("/audit")
def audit():
    """Who did what on which day; an entry about a conversation only for its recipients."""
    rows = [((day, *audit_words.shown(actor, action)), times)
            for (day, actor, action), times in _instance().store.desk.audit_counts(_me())]
    return render_template("audit.html", rows=rows)
