"""What the audit page shows of its entries, in the responder's language.

The audit log stores each action in English, as written where it happens, so entries read
the same whatever language their writer used; the page translates the ones listed here and
shows any other as stored. An entry without an actor is a failed login under a name that is
no desk account: what was typed is never kept.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from dropbox.desk import accounts

ACTIONS = {
    "logged in": _l("logged in"),
    "downloaded a conversation": _l("downloaded a conversation"),
    "uploaded a reply": _l("uploaded a reply"),
    "closed a conversation": _l("closed a conversation"),
    "reopened a conversation": _l("reopened a conversation"),
    "asked to delete a conversation": _l("asked to delete a conversation"),
    "cancelled a deletion": _l("cancelled a deletion"),
    "deleted a conversation": _l("deleted a conversation"),
    "exported a bundle": _l("exported a bundle"),
    "imported a reply": _l("imported a reply"),
    "imported a note": _l("imported a note"),
    "uploaded a note": _l("uploaded a note"),
    "took a case": _l("took a case"),
    "set a case's state": _l("set a case's state"),
    "withdrew an invitation to the person reported": _l("withdrew an invitation to the person reported"),
    "used their invitation for the first time": _l("used their invitation for the first time"),
    "sent a response": _l("sent a response"),
    "wrote again, which cancelled the deletion": _l("wrote again, which cancelled the deletion"),
    accounts.ISSUED: _l("was issued an enrolment code"),
    accounts.RESET: _l("was reset and issued an enrolment code"),
    accounts.ENROLLED: _l("enrolled"),
    accounts.CHANGED_PASSPHRASE: _l("changed their passphrase"),
    accounts.CHANGED_AUTHENTICATOR: _l("changed their authenticator"),
    accounts.FAILED_LOGIN: _l("failed login"),
}
# Actions that end with a name or a day, as stored after the prefix: the page shows that tail as
# stored, isolated (<bdi>) so that a right-to-left page keeps a day's digits in their order.
PREFIXED = {
    "handed a case to ": _l("handed a case to %(rest)s"),
    "invited the person reported to respond, until ": _l(
        "invited the person reported to respond, until %(rest)s"),
}
ACTORS = {
    "command line": _l("command line"),
    "the reporter": _l("the reporter"),
    "the person reported": _l("the person reported"),
    "": _l("(a name that is no desk account)"),
}


def shown(actor: str, action: str) -> tuple[str, str]:
    """An entry's actor and action as the page shows them."""
    for prefix, words in PREFIXED.items():
        if action.startswith(prefix):
            rest = Markup("<bdi>%s</bdi>") % action[len(prefix):]
            return str(ACTORS.get(actor, actor)), Markup(escape(str(words)) % {"rest": rest})
    return str(ACTORS.get(actor, actor)), str(ACTIONS.get(action, action))
