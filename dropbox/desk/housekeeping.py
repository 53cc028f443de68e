"""The server's own chores: delete conversations past retention, send due notices.

`dropbox serve` runs them at start and then every `housekeeping_seconds` in a
background thread; `dropbox purge` runs the purge by hand.
"""
from __future__ import annotations

import datetime
import logging
import threading

from dropbox.config import Config
from dropbox.desk.deletions import carry_out_due
from dropbox.desk.notices import send_due_notices
from dropbox.storage import Store

log = logging.getLogger(__name__)


def purge_expired(store: Store, retention_days: int, today: datetime.date | None = None) -> int:
    """Delete every conversation without activity for `retention_days`; returns how many."""
    today = today or datetime.date.today()
    cutoff = (today - datetime.timedelta(days=retention_days)).isoformat()
    expired = store.inactive_since(cutoff)
    for conversation_id in expired:
        store.delete_conversation(conversation_id, "retention")
    return len(expired)


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
        # A failing chore must not stop the others, nor the next round; log no details
        # (an SMTP error may quote an address).
        try:
            purge_expired(self.store, self.config.settings.retention_days)
        except Exception as exc:
            log.error("retention purge failed: %s", type(exc).__name__)
        try:
            carry_out_due(self.store)
        except Exception as exc:
            log.error("deletions asked on the desk failed: %s", type(exc).__name__)
        try:
            send_due_notices(self.config, self.store)
        except Exception as exc:
            log.error("sending notices failed: %s", type(exc).__name__)
