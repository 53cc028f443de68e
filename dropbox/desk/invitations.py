"""The desk's pages for inviting the person reported to respond (docs/FORMAT.md, "The person
reported"), for the conversation's readers only: `find` answers a designation that is not
theirs as one that does not exist.

An invitation's codename is made here, as a reporter's is (keys/codename.py), and shown once in
the answer to the request that made it: it is not stored, logged or put in a cookie; the server
keeps what it derives to (store.invitations). The page lists every invitation of the
conversation with when it was made, until when it opens, and when it was withdrawn, first used
and last answered: the person reported's own items reach the readers in their bundles.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from wtforms import IntegerField
from wtforms.validators import NumberRange

from keys import codename as codenames
from dropbox.desk.conversations import find
from dropbox.desk.forms import ConfirmForm
from dropbox.desk.views import USER, require_login
from dropbox.ratelimit import codename_tag
from dropbox.safeforms import SafeForm
from dropbox.storage import StorageError

invitations = Blueprint("invitations", __name__)
invitations.before_request(require_login)

DEFAULT_DAYS = 30
MAX_DAYS = 365


class InviteForm(SafeForm):
    days = IntegerField(_l("Days it stays open"), default=DEFAULT_DAYS, validators=[
        NumberRange(1, MAX_DAYS, _l("Choose from %(min)d to %(max)d days."))])


def _found(designation: str):
    found = find(current_app.extensions["dropbox"].store, session[USER], designation)
    if found is None:
        abort(404)
    return found


@invitations.route("/conversations/<designation>/invitations", methods=["GET", "POST"])
def manage(designation: str):
    instance = current_app.extensions["dropbox"]
    conversation = _found(designation)
    form, shown, status = InviteForm(), None, 200
    if request.method == "POST":
        if form.validate_on_submit():
            shown = codenames.new_codename()
            config = instance.config
            identity = codenames.derive(shown, config.peppers, config.codename_cost)
            try:
                instance.store.invitations.create(conversation.id, identity.lookup_id,
                                                  identity.secret_key.public_key,
                                                  codename_tag(shown, config.tag_key), form.days.data,
                                                  session[USER])
            except StorageError as refused:  # too many, or the conversation went meanwhile
                shown, status = None, 400
                form.form_errors.append(str(refused))
        else:
            status = 400
    return render_template("invitations.html", conversation=conversation, form=form, codename=shown,
                           invitations=instance.store.invitations.of_conversation(conversation.id),
                           button=ConfirmForm()), status


@invitations.post("/conversations/<designation>/invitations/<invitation_id>/withdraw")
def withdraw(designation: str, invitation_id: str):
    store = current_app.extensions["dropbox"].store
    conversation = _found(designation)
    invitation = store.invitations.get(invitation_id) if len(invitation_id) <= 64 else None
    if invitation is None or invitation.conversation_id != conversation.id \
            or not ConfirmForm().validate_on_submit():
        abort(404)
    try:
        store.invitations.withdraw(invitation.id, session[USER])
    except StorageError:
        pass  # withdrawn meanwhile by another reader: the page shows it so
    return redirect(url_for("invitations.manage", designation=designation))
