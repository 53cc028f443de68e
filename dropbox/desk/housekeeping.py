"""The server's own chores: delete conversations past retention, send due notices.

`dropbox serve` runs them at start and then every `housekeeping_seconds` in a
background thread; `dropbox purge` runs the purge by hand. A chore failing is
logged, and shown by `dropbox status` until it succeeds again.
"""
from __future__ import annotations

import datetime
import logging
import threading
import time
from collections.abc import Callable

from dropbox import health
from dropbox.config import Config
from dropbox.desk.deletions import carry_out_due
from dropbox.desk.notices import send_due_notices
from dropbox.storage import Store

log = logging.getLogger(__name__)


def purge_expired(store: Store, retention_days: int, today: datetime.date | None = None) -> int:
    """Delete every conversation without activity for `retention_days`; returns how many.
    A `retention_days` of 0 keeps everything."""
    if retention_days <= 0:
        return 0
    today = today or datetime.date.today()
    cutoff = (today - datetime.timedelta(days=retention_days)).isoformat()
    expired = list(store.conversations.inactive_since(cutoff))
    store.conversations.delete_conversations(expired, "retention")
    return len(expired)


def warn_of_deletions(config: Config, store: Store, today: datetime.date | None = None) -> set[str]:
    """Mark a "deleted soon" notice due, once, for each recipient of a conversation that comes
    within `retention_warning_days` of its deletion; returns whom."""
    settings = config.settings
    due = health.deletions_within(store, settings.retention_days, settings.retention_warning_days,
                                  today)
    warned = store.state.warned_through()
    days = {cid: datetime.date.fromisoformat(day).toordinal() for cid, day in due.items()}
    names = set()
    for conversation_id in (cid for cid, day in days.items() if day > warned):
        conversation = store.conversations.conversation(conversation_id)
        names |= {r.name for r in conversation.recipients} if conversation else set()
    for name in names:
        store.state.set_retention_notice_due(name, True)
    if days and max(days.values()) > warned:
        store.state.set_warned_through(max(days.values()))
    return names


# Each chore by the name the log and `dropbox status` give it.
CHORES: dict[str, Callable[[Config, Store], object]] = {
    "retention purge": lambda config, store: purge_expired(store, config.settings.retention_days),
    "retention warnings": warn_of_deletions,
    "deletions asked on the desk": lambda config, store: carry_out_due(store),
    "sending notices": send_due_notices,
}


def failing_chores(store: Store) -> dict[str, int]:
    """Chore name → since when it has failed at every try (unix seconds), for `dropbox status`."""
    found = {name: store.state.chore_failing_since(name) for name in CHORES}
    return {name: since for name, since in found.items() if since}


class Housekeeping(threading.Thread):
    def __init__(self, config: Config, store: Store):
        super().__init__(name="housekeeping", daemon=True)
        self.config, self.store = config, store
        self.stopped = threading.Event()

    def run(self) -> None:
        while True:
            self.run_once()
            if self.stopped.wait(self.config.settings.housekeeping_seconds):
                return

    def run_once(self) -> None:
        """Every chore once. A failing chore stops neither the others nor the next round; it is
        logged (its kind only: an SMTP error may quote an address) and noted in the database
        for `dropbox status` until it succeeds again."""
        for name, chore in CHORES.items():
            try:
                chore(self.config, self.store)
            except Exception as exc:  # noqa: BLE001 - any chore's failure is logged and noted, never fatal
                log.error("%s failed: %s", name, type(exc).__name__)
                self._note(name, failed=True)
            else:
                self._note(name, failed=False)

    def _note(self, name: str, failed: bool) -> None:
        try:
            since = self.store.state.chore_failing_since(name)
            if failed and not since:
                self.store.state.set_chore_failing_since(name, int(time.time()))
            elif since and not failed:
                self.store.state.set_chore_failing_since(name, 0)
        except Exception as exc:  # noqa: BLE001 - the database itself failing: the log has said so already
            log.error("noting that %s failed, failed too: %s", name, type(exc).__name__)
