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


def overdue(store: Store, settings: Settings, reader: str | None = None, among: list[str] | None = None,
            today: datetime.date | None = None) -> dict[str, tuple[str, ...]]:
    """Conversation id → the promises it is past ("acknowledgement", "reply"); `reader` and
    `among` as in `store.cases.overdue`."""
    today = today or datetime.date.today()

    def made_before(days: int) -> str | None:
        return (today - datetime.timedelta(days=days)).isoformat() if days > 0 else None

    return store.cases.overdue(made_before(settings.acknowledge_within_days),
                               made_before(settings.respond_within_days), reader, among)
