"""The pages of the person reported: log in with an invitation, read the team's words, respond.

A reader of a conversation invites the person reported from the desk (desk/invitations.py);
the invitation's codename opens these pages on the reporter site, and nothing else: it finds
no conversation at the reporter's login, and a reporter's codename finds no invitation here.
The pages show the process in the team's words (the code of practice), the team's messages to
this invitation (opened in memory with its key, as a reporter's replies are) and a form whose
message and files are sealed on arrival to the conversation's current readers, bound to the
conversation and the person reported's place (docs/FORMAT.md, "The person reported"). Nothing
here shows the report, the reporter, who reads the case or whether other invitations exist.

Logins, sessions and uploads are the reporter's machinery: the same shared failure budget and
codename tags (ratelimit.py), memory-only sessions bounded per invitation (sessions.py), and an
upload page declared beside its view (`formlimits.takes_files`).
"""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_babel import get_locale, gettext as _
from flask_wtf.csrf import CSRFError
from nacl.public import PrivateKey
from werkzeug.datastructures import MultiDict

from keys import codename as codenames
from keys.envelope import Origin
from dropbox.forms import FollowUpForm, LoginForm, LogoutForm
from dropbox.formlimits import takes_files
from dropbox.problems import BUSY, EXPIRED
from dropbox.ratelimit import codename_tag
from dropbox.reporter import _dropped_files, _files_refused, _fresh_session, _max_files, _room_for_one_more
from dropbox.reporter_items import decrypt_reply, stage_submission, typed
from dropbox.storage import Invitation, today

respondent = Blueprint("respondent", __name__, url_prefix="/respond")

INVITATION = "respondent_invitation"  # the session's invitation id: its owner (sessions.py)
SECRET = "respondent_secret"
SENT = "respondent_sent"  # how many files the last response carried, for the page that says so


def _instance():
    return current_app.extensions["dropbox"]


def _invited() -> Invitation | None:
    """The session's invitation while it opens (not withdrawn, not expired); None otherwise."""
    invitation_id = session.get(INVITATION)
    invitation = invitation_id and _instance().store.invitations.get(invitation_id)
    return invitation if invitation and invitation.opens_on(today()) else None


def would_accept(fields: list[tuple[str, str]]) -> bool:
    """For the channel (app.submission_judge): would the response page accept these fields?"""
    if request.endpoint != "respondent.respond":
        return True
    return _invited() is not None and FollowUpForm(formdata=MultiDict(fields)).validate()


@respondent.route("/", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("respondent/login.html", form=form), 400 if request.method == "POST" else 200
    if not _room_for_one_more():
        form.form_errors.append(str(BUSY))
        return render_template("respondent/login.html", form=form), 429
    config, budget = _instance().config, _instance().login_failures
    invitations = _instance().store.invitations
    phrase = codenames.normalize(form.codename.data)
    tag = phrase and codename_tag(phrase, config.tag_key)
    # The reporter's login rules (reporter.login): only a guess that costs argon2id spends the
    # shared budget, and a codename whose open invitation bears its tag passes whatever it holds.
    if tag and not budget.available() and not invitations.has_codename_tag(tag):
        form.form_errors.append(str(BUSY))
        return render_template("respondent/login.html", form=form), 429
    identity = phrase and codenames.derive(phrase, config.peppers, config.codename_cost)
    invitation = identity and invitations.find_by_lookup(identity.lookup_id)
    if not invitation or not invitation.opens_on(today()):
        if phrase is not None and not invitation:
            budget.spend()
        # Withdrawn, expired or unknown read the same: nothing tells a guesser which.
        form.codename.errors.append(_("This invitation is not known, or no longer open. Check each "
                                      "of its words, or ask the team that sent it."))
        return render_template("respondent/login.html", form=form), 403
    _fresh_session()
    session[INVITATION] = invitation.id
    session[SECRET] = bytes(identity.secret_key).hex()
    invitations.used(invitation)
    return redirect(url_for("respondent.respond"))


@respondent.route("/answer", methods=["GET", "POST"])
@takes_files
def respond():
    invitation = _invited()
    if invitation is None:
        _fresh_session()
        return redirect(url_for("respondent.login"))
    form = FollowUpForm()
    if form.validate_on_submit() and not _files_refused():
        store = _instance().store
        conversation = store.conversations.conversation(invitation.conversation_id)
        text = typed(form.message.data)
        position = store.conversations.respondent_items(invitation.conversation_id)
        # Sealed to the readers the team has today: never a responder left out or removed.
        readers = store.team.current_recipients(conversation.recipients) if conversation else ()
        staged = stage_submission(request.seal_message(text) if text.strip() else None, readers,
                                  invitation.conversation_id, position, _max_files(), invitation.public_key,
                                  Origin.RESPONDENT)
        if staged:
            store.conversations.add_items(invitation.conversation_id, Origin.RESPONDENT, staged,
                                          first_position=position, invitation_id=invitation.id)
            store.desk.audit("the person reported", "sent a response", conversation.recipients
                             if conversation else ())
            session[SENT] = len(staged) - (1 if text.strip() else 0)
            return redirect(url_for("respondent.respond", sent=1))
        form.message.errors.append(_("Write a message or choose a file to send."))
    return _page(invitation, form, 400 if request.method == "POST" else 200)


def _page(invitation: Invitation, form: FollowUpForm, status: int):
    store, secret = _instance().store, PrivateKey(bytes.fromhex(session[SECRET]))
    items = store.conversations.items(invitation.conversation_id)
    # Only this invitation's: the team's words to it, and what it sent (never shown again).
    mine = [i for i in items if i.invitation_id == invitation.id]
    messages = {i.id: decrypt_reply(store, i, secret) for i in mine if i.origin == Origin.TO_RESPONDENT}
    language = str(get_locale())
    practice = _instance().config.practice
    return render_template("respondent/respond.html", form=form, messages=messages, mine=mine,
                           process=[t(language) for t in practice.for_the_person_reported],
                           invitation=invitation, just_sent=request.args.get("sent"),
                           sent_files=session.get(SENT, 0), dropped=_dropped_files(),
                           logout=LogoutForm()), status


@respondent.errorhandler(CSRFError)
def expired_form(error):
    """A stale token on a response whose session lives: the form again, with their words in it
    (the files cannot be kept by a browser, and are named to choose again)."""
    invitation = _invited()
    if request.endpoint != "respondent.respond" or invitation is None or request.method != "POST":
        return render_template("problem.html", message=EXPIRED), 400
    form = FollowUpForm(formdata=request.form)
    form.form_errors.append(_("This form had expired, so nothing was sent yet. Everything you "
                              "wrote is below: please send it again."))
    return _page(invitation, form, 400)


@respondent.post("/logout")
def logout():
    LogoutForm().validate_on_submit()
    _fresh_session()
    return redirect(url_for("respondent.login"))
