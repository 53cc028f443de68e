"""Mail notices without content: "there is new activity", at most one an hour per responder.

Storing an item marks a notice due for each responder on that conversation's
recipient list (dropbox/storage/), and for nobody else, so a recused responder is
never told about a conversation they were left out of. A notice names no
conversation, designation or count: a mailbox is not a safe place. The one other notice,
"a conversation will be deleted soon", is as bare (desk/housekeeping marks it due).
"""
from __future__ import annotations

import smtplib
import ssl
import time
from email.message import EmailMessage

from dropbox.config import Config
from dropbox.storage import Store

BATCH_SECONDS = 3600
SUBJECT = "New activity on the response desk"
BODY = "There is new activity on the response desk. Please log in to see it.\n"
RETENTION_BODY = ("A conversation on the response desk will be deleted soon under the retention "
                  "rules unless there is new activity. Please log in to see which.\n")


def send_due_notices(config: Config, store: Store, now: float | None = None) -> list[str]:
    """Mail every responder with a due notice and no notice in the last hour; returns who."""
    settings = config.settings
    now = time.time() if now is None else now
    retention = {a.name for a in store.desk.accounts()
                 if store.state.retention_notice_due(a.name)}
    due = [a for a in store.desk.accounts()
           if (a.notice_pending or a.name in retention) and a.email
           and now - a.last_notice >= BATCH_SECONDS]
    if not settings.smtp_host or not due:
        return []
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=60) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        for account in due:
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = \
                settings.smtp_from, account.email, SUBJECT
            warned = account.name in retention
            message.set_content((BODY if account.notice_pending else "")
                                + (RETENTION_BODY if warned else ""))
            smtp.send_message(message)
            store.desk.update_account(account.name, notice_pending=0, last_notice=int(now))
            if warned:
                store.state.set_retention_notice_due(account.name, False)
    return [a.name for a in due]
