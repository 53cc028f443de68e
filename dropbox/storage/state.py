"""The instance's own counters, kept between runs: one row each in the `state` table.

Every key is declared here, beside the methods that read and write it, so no other module
spells one. Values are integers; an absent key reads as 0.
"""
from __future__ import annotations

from dropbox.storage.database import Database

# The newest item (its seq) a team export (`dropbox export`) has taken: opened on the team's
# air-gapped machine, so it counts as a download for every reader.
LAST_EXPORT = "last_export_seq"
# The latest deletion day (an ordinal) whose recipients were warned; a conversation whose
# deletion day moves later (new activity) is warned about again when it comes near.
WARNED_THROUGH = "retention_warned_through"
# Per responder: 1 while a "deleted soon" notice is due to them.
RETENTION_NOTICE = "retention_notice:"
# Per responder: the day (an ordinal) they were last told how many of their conversations are late.
LATE_TOLD = "late_told_on:"
# Per housekeeping chore: since when (unix seconds) it has failed at every try; 0 once it succeeds.
CHORE_FAILING = "chore_failing_since:"


class InstanceState:
    def __init__(self, database: Database):
        self._database = database

    def last_export(self) -> int:
        return self._get(LAST_EXPORT)

    def set_last_export(self, seq: int) -> None:
        self._set(LAST_EXPORT, seq)

    def warned_through(self) -> int:
        return self._get(WARNED_THROUGH)

    def set_warned_through(self, day: int) -> None:
        self._set(WARNED_THROUGH, day)

    def late_told_on(self, name: str) -> int:
        return self._get(LATE_TOLD + name)

    def set_late_told_on(self, name: str, day: int) -> None:
        self._set(LATE_TOLD + name, day)

    def retention_notice_due(self, name: str) -> bool:
        return bool(self._get(RETENTION_NOTICE + name))

    def set_retention_notice_due(self, name: str, due: bool) -> None:
        self._set(RETENTION_NOTICE + name, int(due))

    def chore_failing_since(self, chore: str) -> int:
        """Unix seconds; 0 when the chore's last try succeeded."""
        return self._get(CHORE_FAILING + chore)

    def set_chore_failing_since(self, chore: str, since: int) -> None:
        self._set(CHORE_FAILING + chore, since)

    def _get(self, key: str) -> int:
        with self._database.transaction() as db:
            row = db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return 0 if row is None else int(row["value"])

    def _set(self, key: str, value: int) -> None:
        with self._database.transaction() as db:
            db.execute("INSERT INTO state VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = ?",
                       (key, value, value))
