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
# The stored conversations' events and whole days taken, in `figures`' rows (month, measure,
# value, count), over those opened or closed between :start and :end (a year's prefix, "2026-",
# and the next's: ISO days and months compare as strings). SQLite counts, so no row comes to
# Python; the conversations are read in id order through indexes holding every column read
# (`index_the_days_figures_count`), so each lookup lands beside the one before it.
_COUNTS = """
WITH stored AS MATERIALIZED (
    SELECT CASE WHEN c.created >= :start AND c.created < :end THEN substr(c.created, 1, 7) END AS opened,
        CASE WHEN p.closed >= :start AND p.closed < :end THEN substr(p.closed, 1, 7) END AS closed,
        CAST(julianday(p.acknowledged) - julianday(c.created) AS INTEGER) AS acknowledgement,
        CAST(julianday((SELECT min(i.created) FROM items i WHERE i.origin = 'team' AND i.conversation_id = c.id))
             - julianday(c.created) AS INTEGER) AS first_reply,
        CAST(julianday(p.closed) - julianday(c.created) AS INTEGER) AS closing
    FROM conversations c INDEXED BY conversations_days
    LEFT JOIN case_progress p INDEXED BY case_progress_days ON p.conversation_id = c.id
    WHERE ((c.created >= :start AND c.created < :end) OR (p.closed >= :start AND p.closed < :end)) {reads}
)
SELECT opened, 'opened', 0, count(*) FROM stored WHERE opened IS NOT NULL GROUP BY 1
UNION ALL SELECT closed, 'closed', 0, count(*) FROM stored WHERE closed IS NOT NULL GROUP BY 1
UNION ALL SELECT opened, 'acknowledgement', acknowledgement, count(*) FROM stored
    WHERE opened IS NOT NULL AND acknowledgement IS NOT NULL GROUP BY 1, 3
UNION ALL SELECT opened, 'first_reply', first_reply, count(*) FROM stored
    WHERE opened IS NOT NULL AND first_reply IS NOT NULL GROUP BY 1, 3
UNION ALL SELECT opened, 'closing', closing, count(*) FROM stored
    WHERE opened IS NOT NULL AND closing IS NOT NULL GROUP BY 1, 3
"""
_READS = ("AND EXISTS (SELECT 1 FROM conversation_recipients r WHERE r.name = :reader"
          " AND r.conversation_id = c.id)")
# The counters deleted conversations left, for the team ('') or one reader.
_KEPT = ("SELECT month, measure, value, count FROM figures WHERE reader = :reader"
         " AND month >= :start AND month < :end")


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

    def counts(self, year: int, reader: str | None = None) -> dict[tuple[str, str, int], int]:
        """(month, event or measure, value) → count over `year` (`reader`'s conversations only,
        if given): the stored conversations' events (value 0) and whole days taken, counted by
        SQLite, and the counters deleted ones left."""
        days = {"start": f"{year:04d}-", "end": f"{year + 1:04d}-",
                "reader": TEAM if reader is None else reader}
        counts: dict[tuple[str, str, int], int] = {}
        with self._database.transaction() as db:
            rows = db.execute(_COUNTS.format(reads="" if reader is None else _READS), days).fetchall()
            rows += db.execute(_KEPT, days).fetchall()
        for month, measure, value, count in rows:
            counts[month, measure, value] = counts.get((month, measure, value), 0) + count
        return counts
