"""What the server may count without reading: when conversations were opened, received, first
replied to, closed and deleted, by month.

A conversation still stored is counted from its own rows (its day made, `case_progress`, its
first item from the team). A deleted one leaves only counters behind (`figures`): one for the
month it was opened, closed and deleted, and one for each whole number of days it took to be
received, first replied to and closed, by the month it was opened: no id, no designation,
nothing of its content. Counters are kept for the whole team (reader '') and for each of its
readers, so a responder's figures count only conversations they read.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date

from dropbox.storage.database import Database
from dropbox.storage.records import today

TEAM = ""
MEASURES = ("acknowledgement", "first_reply", "closing")


@dataclass(frozen=True)
class Case:
    """The days of one stored conversation that figures count (None: not yet)."""
    opened: str
    acknowledged: str | None
    first_reply: str | None
    closed: str | None


# Each conversation's days, from its rows.
_DAYS = """
SELECT c.recipients, c.created, p.acknowledged, p.closed,
    (SELECT min(i.created) FROM items i WHERE i.conversation_id = c.id AND i.origin = 'team') AS first_reply
FROM conversations c LEFT JOIN case_progress p ON p.conversation_id = c.id
"""
# Those opened or closed in a year (:year, as "2026-%").
_CASES = _DAYS + " WHERE (c.created LIKE :year OR p.closed LIKE :year)"
_READS = ("AND EXISTS (SELECT 1 FROM conversation_recipients r WHERE r.name = :reader"
          " AND r.conversation_id = c.id)")


def keep_counts_of_deleted(db: sqlite3.Connection, conversation_ids: list[str]) -> None:
    """Before these conversations' rows go: their counters, for the team and for each reader."""
    marks = ", ".join("?" * len(conversation_ids))
    rows = db.execute(f"{_DAYS} WHERE c.id IN ({marks})", conversation_ids).fetchall()
    counts: dict[tuple[str, str, str, int], int] = {}
    for row in rows:
        case = Case(row["created"], row["acknowledged"], row["first_reply"], row["closed"])
        opened_in = case.opened[:7]
        kept = [(opened_in, "opened", 0), (today()[:7], "deleted", 0)]
        if case.closed:
            kept.append((case.closed[:7], "closed", 0))
        kept += [(opened_in, measure, days) for measure, days in zip(MEASURES, days_taken(case), strict=True)
                 if days is not None]
        for reader in (TEAM, *(r["name"] for r in json.loads(row["recipients"]))):
            for month, measure, value in kept:
                key = (reader, month, measure, value)
                counts[key] = counts.get(key, 0) + 1
    db.executemany("INSERT INTO figures (reader, month, measure, value, count) VALUES (?, ?, ?, ?, ?)"
                   " ON CONFLICT (reader, month, measure, value) DO UPDATE SET count = count + excluded.count",
                   [(*key, count) for key, count in counts.items()])


def days_taken(case: Case) -> tuple[int | None, int | None, int | None]:
    """Whole days from opening to acknowledgement, first reply, closing (None: not yet)."""
    opened = date.fromisoformat(case.opened)
    return tuple(None if day is None else (date.fromisoformat(day) - opened).days  # type: ignore[return-value]
                 for day in (case.acknowledged, case.first_reply, case.closed))


class Figures:
    def __init__(self, database: Database):
        self._database = database

    def cases(self, year: int, reader: str | None = None) -> list[Case]:
        """The stored conversations opened or closed in `year` (`reader`'s only, if given)."""
        with self._database.transaction() as db:
            rows = db.execute(_CASES + ("" if reader is None else _READS),
                              {"year": f"{year:04d}-%", "reader": reader}).fetchall()
        return [Case(r["created"], r["acknowledged"], r["first_reply"], r["closed"]) for r in rows]

    def kept(self, year: int, reader: str | None = None) -> dict[tuple[str, str, int], int]:
        """(month, measure, value) → count, of the deleted conversations' counters in `year`."""
        with self._database.transaction() as db:
            rows = db.execute("SELECT month, measure, value, count FROM figures WHERE reader = ?"
                              " AND month LIKE ?", (TEAM if reader is None else reader, f"{year:04d}-%"))
            return {(r["month"], r["measure"], r["value"]): r["count"] for r in rows}
