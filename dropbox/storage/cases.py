"""Where each case stands, as its reporter and its readers see it: the state a reader set and
its day, and the day the team received the report (a reader first downloaded it).

Days only, and nothing the server reads from a report: a state is one of the code of
practice's `[[case_states]]` ids. A row is made at the first thing to record, and goes with
its conversation.
"""
from __future__ import annotations

from dataclasses import dataclass

from dropbox.storage.database import Database
from dropbox.storage.records import batches, today


@dataclass(frozen=True)
class Progress:
    """What the reporter's page says of their case (all None until it happens)."""
    acknowledged: str | None = None  # the day a reader first downloaded the report
    state: str | None = None  # a `[[case_states]]` id
    state_day: str | None = None


class Cases:
    def __init__(self, database: Database):
        self._database = database

    def acknowledge(self, conversation_ids: list[str]) -> None:
        """A reader has downloaded these conversations (the report first of all): the first
        such day is kept."""
        with self._database.transaction() as db:
            for batch, marks in batches(conversation_ids):
                db.execute(f"INSERT INTO case_progress (conversation_id, acknowledged) SELECT id, ?"
                           f" FROM conversations WHERE id IN ({marks}) ON CONFLICT (conversation_id)"
                           " DO UPDATE SET acknowledged = coalesce(acknowledged, excluded.acknowledged)",
                           (today(), *batch))

    def set_state(self, conversation_id: str, state: str) -> None:
        with self._database.transaction() as db:
            db.execute("INSERT INTO case_progress (conversation_id, state, state_day) VALUES (?, ?, ?)"
                       " ON CONFLICT (conversation_id) DO UPDATE SET state = excluded.state,"
                       " state_day = excluded.state_day", (conversation_id, state, today()))

    def progress(self, conversation_id: str) -> Progress:
        with self._database.transaction() as db:
            row = db.execute("SELECT acknowledged, state, state_day FROM case_progress"
                             " WHERE conversation_id = ?", (conversation_id,)).fetchone()
        return Progress() if row is None else Progress(row["acknowledged"], row["state"], row["state_day"])
