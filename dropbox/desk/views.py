"""The desk's pages: log in, my conversations, my bundle, upload replies, close, delete, audit.

Every page that concerns conversations starts from the logged-in responder
(`conversations.conversations_for`); a designation that is not theirs is
answered exactly like one that does not exist.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from flask import (Blueprint, abort, current_app, redirect, render_template, request, send_file,
                   session, url_for)

from keys.bundle import check_bundle
from keys.errors import FormatError
from dropbox.desk import accounts
from dropbox.desk.conversations import conversations_for, find
from dropbox.desk.forms import ConfirmForm, DeskLoginForm, RepliesForm
from dropbox.exports import export_bundle, import_replies
from dropbox.storage import new_id, today

desk = Blueprint("desk", __name__)

USER = "desk_user"
CREDENTIALS = "desk_credentials"  # which password and TOTP secret this login was made with
PUBLIC = {"desk.login"}
# What each confirmation page asks, and what the audit then says.
ACTIONS = {
    "close": ("Close this conversation?", "Close it", "closed a conversation"),
    "reopen": ("Reopen this conversation?", "Reopen it", "reopened a conversation"),
    "delete": ("Delete this conversation and everything in it, for the whole team? "
               "This cannot be undone.", "Delete it for good", "deleted a conversation"),
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
    team = {r.name for r in _instance().store.team()}
    account = _instance().store.account(name) if name in team else None
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
    if not current_app.session_interface.has_room():
        abort(429)
    try:
        accounts.authenticate(instance.config, instance.store, form.username.data.strip(),
                              form.password.data, form.otp.data)
    except accounts.LoginRefused as refused:
        return render_template("login.html", form=form, refused=str(refused)), 403
    session.clear()
    session.regenerate()
    session[USER] = form.username.data.strip()
    session[CREDENTIALS] = accounts.credentials_stamp(instance.store.account(_me()))
    instance.store.audit(_me(), "logged in")
    return redirect(url_for("desk.conversations"))


@desk.post("/logout")
def logout():
    ConfirmForm().validate_on_submit()
    session.clear()
    return redirect(url_for("desk.login"))


def _list_page(status: int = 200, **extra):
    return render_template("conversations.html", conversations=conversations_for(_instance().store, _me()),
                           me=_me(), upload=RepliesForm(), button=ConfirmForm(), **extra), status


@desk.get("/")
def conversations():
    return _list_page()


@desk.get("/bundle")
def bundle():
    """My bundle: new items since my last download, or everything with ?all=1."""
    store = _instance().store
    temp = store.tmp_dir / f"{new_id()}.bundle"
    try:
        count = export_bundle(store, temp, request.args.get("all") == "1", responder=_me())
        if count == 0:
            return _list_page(notice="Nothing new since your last download.")
        stream = open(temp, "rb")
    finally:
        temp.unlink(missing_ok=True)  # an open stream keeps the file readable until sent
    store.audit(_me(), "downloaded a bundle")
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
    mine = {c.id: c for c in conversations_for(store, _me())}
    temp = store.tmp_dir / f"{new_id()}.reply"
    try:
        upload.save(temp)  # a reply file is ciphertext from end to end
        with open(temp, "rb") as stream:
            manifest = check_bundle(stream)
        if manifest.kind != "reply":
            return name, "is not a reply file (it is a bundle for the air-gapped machine).", False
        if not manifest.conversations or any(c.id not in mine for c in manifest.conversations):
            return name, "is not a reply to one of your conversations; nothing was stored.", False
        count = import_replies(store, temp)
    except FormatError as exc:
        return name, f"was refused: {exc}. Nothing was stored.", False
    finally:
        temp.unlink(missing_ok=True)
    for entry in manifest.conversations:
        store.audit(_me(), "uploaded a reply", mine[entry.id].recipients)
    return name, f"stored {count} reply(ies).", True


@desk.post("/conversations/<designation>/star")
def star(designation: str):
    found = find(_instance().store, _me(), designation)
    if found is None or not ConfirmForm().validate_on_submit():
        abort(404)
    _instance().store.toggle_star(_me(), found.id)
    return redirect(url_for("desk.conversations"))


@desk.route("/conversations/<designation>/<action>", methods=["GET", "POST"])
def confirm(designation: str, action: str):
    store = _instance().store
    found = find(store, _me(), designation)
    if found is None or action not in ACTIONS:
        abort(404)
    question, button, said = ACTIONS[action]
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template("confirm.html", form=form, conversation=found, question=question,
                               button=button)
    if action == "delete":
        store.delete_conversation(found.id, _me())
    else:
        store.set_closed(found.id, action == "close")
        store.audit(_me(), said, found.recipients)
    return redirect(url_for("desk.conversations"))


@desk.get("/audit")
def audit():
    """Who did what on which day; an entry about a conversation only for its recipients."""
    counts = Counter((day, actor, action) for day, actor, action, audience
                     in _instance().store.audit_entries() if audience is None or _me() in audience)
    rows = sorted(counts.items(), key=lambda e: (e[0][0], e[0][1], e[0][2]), reverse=True)
    return render_template("audit.html", rows=rows)
