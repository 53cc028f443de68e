"""The deadlines the team promises reporters, and what is past them.

A team promises (config.toml) to confirm it has received a report within
`acknowledge_within_days` (a reader downloads it: `store.cases.acknowledge`) and to reply
within `respond_within_days`; 0 promises nothing. The landing page says both to
reporters; the desk marks a responder's own conversations past a promise, `dropbox status`
counts them all, and the mail notice says how many of the responder's own are late.
A closed conversation is past no promise.
"""
from __future__ import annotations

import datetime

from dropbox.config import Settings
from dropbox.storage import Store
from dropbox.storage.cases import Late


def overdue(store: Store, settings: Settings, reader: str | None = None, among: list[str] | None = None,
            today: datetime.date | None = None) -> dict[str, tuple[str, ...]]:
    """Conversation id → the promises it is past ("acknowledgement", "reply"); `reader` and
    `among` as in `store.cases.overdue`."""
    return store.cases.overdue(*_days(settings, today), reader, among)


def count_overdue(store: Store, settings: Settings, reader: str | None = None,
                  today: datetime.date | None = None) -> Late:
    """How many open conversations are past each promise (`reader`'s only, if given)."""
    return store.cases.count_overdue(*_days(settings, today), reader)


def _days(settings: Settings, today: datetime.date | None) -> tuple[str | None, str | None]:
    """The days before which a conversation is past each promise (None: no promise)."""
    today = today or datetime.date.today()

    def made_before(days: int) -> str | None:
        return (today - datetime.timedelta(days=days)).isoformat() if days > 0 else None

    return made_before(settings.acknowledge_within_days), made_before(settings.respond_within_days)
