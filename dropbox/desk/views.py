"""The desk's pages: log in, my conversations, my bundle, upload replies, close, delete, audit.

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
from flask_babel import ngettext

from keys.errors import FormatError
from dropbox import health
from dropbox.desk import accounts, deletions
from dropbox.desk.conversations import find, new_designation, page_for
from dropbox.desk.forms import ConfirmForm, DeskLoginForm, RepliesForm
from dropbox.exports import export_bundle, import_replies, read_reply
from dropbox.problems import BUSY
from dropbox.storage import new_id, today

desk = Blueprint("desk", __name__)

USER = "desk_user"
CREDENTIALS = "desk_credentials"  # which password and TOTP secret this login was made with
PUBLIC = {"desk.login"}
# What each confirmation page asks, what it says the action does, its button, and what the
# audit then says. Closing is only a status: saying so is what makes it safe to press.
ACTIONS = {
    "close": ("Close this conversation?",
              "Closing marks it as handled, for every reader. Nothing is deleted: the reporter can "
              "still read it and write, you can still download it and reply, and it is still "
              "deleted after {retention} days without activity. Reopen it at any time.",
              "Close it", "closed a conversation"),
    "reopen": ("Reopen this conversation?", "It is shown as open again, for every reader.",
               "Reopen it", "reopened a conversation"),
    "delete": ("Delete this conversation for the whole team?",
               "It will be deleted on {due}, with everything in it, for every reader and for the "
               "reporter; then it cannot be undone. Until then it stays here, marked, and any of its "
               "readers can cancel the deletion. Copies already opened offline are not touched.",
               "Delete it on {due}", "asked to delete a conversation"),
    "keep": ("Cancel the deletion of this conversation?",
             "{asked} asked to delete it on {due}. If you cancel, it stays, and everyone can see that "
             "you cancelled.", "Keep it", "cancelled a deletion"),
}


def _instance():
    return current_app.extensions["dropbox"]


def _me() -> str:
    return session[USER]


@desk.before_request
def require_login():
    name = session.get(USER)
    if request.endpoint in PUBLIC:
        return None
    team = {r.name for r in _instance().store.team.members()}
    account = _instance().store.desk.account(name) if name in team else None
    # `desk reset-user` and `remove-user` run in another process: the login they end is
    # told apart by its credentials, checked on every request.
    if account is None or session.get(CREDENTIALS) != accounts.credentials_stamp(account):
        session.clear()
        return redirect(url_for("desk.login"))
    return None


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
    session.clear()
    session.regenerate()
    session[USER] = form.username.data.strip()
    session[CREDENTIALS] = accounts.credentials_stamp(instance.store.desk.account(_me()))
    instance.store.desk.audit(_me(), "logged in")
    return redirect(url_for("desk.conversations"))


@desk.post("/logout")
def logout():
    ConfirmForm().validate_on_submit()
    session.clear()
    return redirect(url_for("desk.login"))


def _page_number() -> int:
    return request.args.get("page", 1, type=int)


def _list_page(status: int = 200, **extra):
    instance = _instance()
    page = page_for(instance.store, _me(), _page_number(), instance.config.settings.desk_page_size)
    return render_template("conversations.html", page=page, conversations=page.conversations,
                           warnings=_warnings(),
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
            return _list_page(notice="Nothing new since your last download.")
        stream = open(temp, "rb")
    finally:
        temp.unlink(missing_ok=True)  # an open stream keeps the file readable until sent
    # One entry per conversation, for its readers: an entry for the whole team would tell a
    # left-out responder that there was something new for me that they do not have.
    store.desk.audit_each(_me(), "downloaded a conversation", list(downloaded))
    return send_file(stream, mimetype="application/octet-stream", as_attachment=True,
                     download_name=f"desk-{_me()}-{today()}.odbx")


@desk.post("/replies")
def replies():
    form = RepliesForm()
    if not form.validate_on_submit():
        abort(400)
    uploads = [f for f in request.files.getlist(form.replies.name) if f.filename]
    if not uploads:
        return _list_page(400, results=[("", "Choose one or more reply files to upload.", False)])
    results = [_store_reply(upload) for upload in uploads]
    return _list_page(200 if all(ok for _, _, ok in results) else 400, results=results)


def _store_reply(upload) -> tuple[str, str, bool]:
    """(file name, what happened, accepted) for one uploaded reply file."""
    store = _instance().store
    name = Path(upload.filename).name
    temp = store.tmp_dir / f"{new_id()}.reply"
    try:
        upload.save(temp)  # a reply file is ciphertext from end to end
        try:
            reply = read_reply(temp)
        except FormatError as exc:
            if "not a reply file" in str(exc):
                return name, "is not a reply file (it is a bundle for the air-gapped machine).", False
            raise
        if not store.conversations.recipient_of(_me(), [reply.conversation_id]):
            return name, "is not a reply to one of your conversations; nothing was stored.", False
        count = import_replies(store, temp)
    except FormatError as exc:
        return name, f"was refused: {exc}. Nothing was stored.", False
    finally:
        temp.unlink(missing_ok=True)
    store.desk.record_uploads(_me(), [reply.item.id])
    if conversation := store.conversations.conversation(reply.conversation_id):  # the audience as stored
        store.desk.audit(_me(), "uploaded a reply", conversation.recipients)
    return name, ngettext("stored %(num)d reply.", "stored %(num)d replies.", count), True


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
    question, explained, button, said = (text.format(due=due, asked=asked,
                                                     retention=_instance().config.settings.retention_days)
                                         for text in ACTIONS[action])
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


@desk.get("/audit")
def audit():
    """Who did what on which day; an entry about a conversation only for its recipients."""
    return render_template("audit.html", rows=_instance().store.desk.audit_counts(_me()))
