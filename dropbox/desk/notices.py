"""Mail notices without content: "there is new activity", at most one an hour per responder.

Storing an item marks a notice due for each responder on that conversation's
recipient list (dropbox/storage/), and for nobody else, so a recused responder is
never told about a conversation they were left out of. A notice names no
conversation, designation or count of activity: a mailbox is not a safe place. The other
notices are as bare: "a conversation will be deleted soon" (desk/housekeeping marks it due),
and, at most once a day, how many of the responder's own conversations are past a deadline
the team promises reporters (`dropbox.promises`): a number, no ids, names or content.

Mail is written in the language the responder last used the desk in. It is sent by the
server's own chores, outside any request, so it reads the compiled catalogues with the standard
library's gettext (the same .mo files Flask-Babel reads; commands that send no page load no Babel).
"""
from __future__ import annotations

import datetime
import gettext
import smtplib
import ssl
import time
from email.message import EmailMessage
from functools import lru_cache

from dropbox.config import Config
from dropbox.languages import TRANSLATIONS
from dropbox.promises import count_overdue
from dropbox.storage import Account, Store


def N_(text: str) -> str:
    """Marks a string for the catalogues (`make translations`); translated when a mail is written."""
    return text


BATCH_SECONDS = 3600
SUBJECT = N_("New activity on the response desk")
BODY = N_("There is new activity on the response desk. Please log in to see it.")
RETENTION_BODY = N_("A conversation on the response desk will be deleted soon under the retention "
                    "rules unless there is new activity. Please log in to see which.")
# One form for every count (no plural in a string read outside Flask-Babel's catalogue machinery).
LATE_BODY = N_("Your conversations on the response desk past a deadline the team promises reporters: "
               "%(count)d. Please log in to see which.")


@lru_cache(maxsize=8)
def _catalogue(language: str) -> gettext.NullTranslations:
    return gettext.translation("messages", TRANSLATIONS, [language], fallback=True)


def _notice(account: Account, warned: bool, late: int) -> tuple[str, str]:
    """The subject and body of the notice due to `account`, in its language."""
    say = _catalogue(account.language).gettext
    lines = (([say(BODY)] if account.notice_pending else []) + ([say(RETENTION_BODY)] if warned else [])
             + ([say(LATE_BODY) % {"count": late}] if late else []))
    return say(SUBJECT), "".join(f"{line}\n" for line in lines)


def send_due_notices(config: Config, store: Store, now: float | None = None) -> list[str]:
    """Mail every responder with a due notice and no notice in the last hour; returns who."""
    settings = config.settings
    now = time.time() if now is None else now
    if not settings.smtp_host:
        return []
    accounts = [a for a in store.desk.accounts() if a.email and now - a.last_notice >= BATCH_SECONDS]
    retention = {a.name for a in accounts if store.state.retention_notice_due(a.name)}
    day = datetime.date.fromtimestamp(now)
    # Lateness moves only when the day does (dates are days), so each responder's is counted
    # once a day: a count of none is marked counted at once, any other once it is mailed.
    late = {}
    for account in (a for a in accounts if store.state.late_told_on(a.name) < day.toordinal()):
        if count := count_overdue(store, settings, account.name, today=day).conversations:
            late[account.name] = count
        else:
            store.state.set_late_told_on(account.name, day.toordinal())
    due = [a for a in accounts if a.notice_pending or a.name in retention or a.name in late]
    if not due:
        return []
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=60) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        for account in due:
            warned = account.name in retention
            subject, body = _notice(account, warned, late.get(account.name, 0))
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = \
                settings.smtp_from, account.email, subject
            message.set_content(body)
            smtp.send_message(message)
            store.desk.update_account(account.name, notice_pending=0, last_notice=int(now))
            if warned:
                store.state.set_retention_notice_due(account.name, False)
            if account.name in late:
                store.state.set_late_told_on(account.name, day.toordinal())
    return [a.name for a in due]
