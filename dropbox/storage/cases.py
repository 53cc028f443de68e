"""Where each case stands, as its reporter and its readers see it: the state a reader set and
its day, the day the team received the report (a reader first downloaded it), and which of its
readers handle it (`case_handlers`, for its readers only: never the reporter's page).

Days only, and nothing the server reads from a report: a state is one of the code of
practice's `[[case_states]]` ids. A row is made at the first thing to record, and goes with
its conversation.
"""
from __future__ import annotations

from dataclasses import dataclass

from dropbox.storage.database import Database
from dropbox.storage.records import batches, row_id, today


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

    def handlers(self, conversation_ids: list[str]) -> dict[str, tuple[str, ...]]:
        """Conversation id → the names handling it, in the order they took it (only those with any)."""
        found: dict[str, tuple[str, ...]] = {}
        with self._database.transaction() as db:
            for batch, marks in batches(conversation_ids):
                for row in db.execute(f"SELECT conversation_id, name FROM case_handlers WHERE conversation_id"
                                      f" IN ({marks}) ORDER BY since, rowid", batch):
                    found[row["conversation_id"]] = (*found.get(row["conversation_id"], ()), row["name"])
        return found

    def take(self, conversation_id: str, name: str, handing_over: str | None = None) -> None:
        """`name` handles the case from today; `handing_over` (who handed it to them) no longer does."""
        with self._database.transaction() as db:
            if handing_over is not None:
                db.execute("DELETE FROM case_handlers WHERE conversation_id = ? AND name = ?",
                           (conversation_id, handing_over))
            db.execute("INSERT OR IGNORE INTO case_handlers (conversation_id, name, since) VALUES (?, ?, ?)",
                       (conversation_id, name, today()))

    def count_handled(self, name: str) -> int:
        """How many of `name`'s conversations they handle."""
        with self._database.transaction() as db:
            return int(db.execute(
                "SELECT count(*) FROM case_handlers h WHERE h.name = ? AND EXISTS (SELECT 1 FROM"
                " conversation_recipients r WHERE r.name = h.name AND r.conversation_id = h.conversation_id)",
                (name,)).fetchone()[0])

    def progress(self, conversation_id: str) -> Progress:
        with self._database.transaction() as db:
            row = db.execute("SELECT acknowledged, state, state_day FROM case_progress"
                             " WHERE conversation_id = ?", (conversation_id,)).fetchone()
        return Progress() if row is None else Progress(row["acknowledged"], row["state"], row["state_day"])

    def overdue(self, acknowledge_before: str | None, respond_before: str | None,
                reader: str | None = None, among: list[str] | None = None) -> dict[str, tuple[str, ...]]:
        """Open conversations past a promise → which ("acknowledgement", "reply"): made before
        `acknowledge_before` (a day) and never downloaded, or made before `respond_before`
        and without a reply from the team. A None day is no promise. With `reader`, only
        that responder's conversations; with `among`, only those."""
        if acknowledge_before is None and respond_before is None:
            return {}
        found: dict[str, tuple[str, ...]] = {}
        parameters = {"ack": acknowledge_before, "reply": respond_before, "reader": reader}
        with self._database.transaction() as db:
            for batch, _ in batches(among) if among is not None else [([], "")]:
                where = f" AND c.id IN ({', '.join(f':id{n}' for n in range(len(batch)))})" if among is not None else ""
                ids = {f"id{n}": cid for n, cid in enumerate(batch)}
                for row in db.execute(_late(reader) + where, {**parameters, **ids}):
                    reasons = tuple(why for why, late in (("acknowledgement", row["ack"]), ("reply", row["reply"]))
                                    if late)
                    if reasons:
                        found[row_id(row["id"])] = reasons
        return found

    def count_overdue(self, acknowledge_before: str | None, respond_before: str | None,
                      reader: str | None = None) -> Late:
        """How many open conversations `overdue` would name, counted by the database."""
        if acknowledge_before is None and respond_before is None:
            return Late(0, 0, 0)
        with self._database.transaction() as db:
            row = db.execute(f"SELECT coalesce(sum(ack), 0), coalesce(sum(reply), 0), count(*)"
                             f" FROM ({_late(reader)}) WHERE ack OR reply",
                             {"ack": acknowledge_before, "reply": respond_before, "reader": reader}).fetchone()
        return Late(*row)


@dataclass(frozen=True)
class Late:
    """Open conversations past each promise, and past either."""
    acknowledgement: int
    reply: int
    conversations: int


def _late(reader: str | None) -> str:
    """Each open conversation made before a promise's day (:ack, :reply; NULL: no promise), with
    whether it is past each. Read in id order through indexes holding every column read
    (`index_the_days_figures_count`), so each lookup lands beside the one before it."""
    return (
        "SELECT c.id, c.created < :ack AND p.acknowledged IS NULL AS ack, c.created < :reply"
        " AND NOT EXISTS (SELECT 1 FROM items i WHERE i.origin = 'team' AND i.conversation_id = c.id)"
        " AS reply FROM conversations c INDEXED BY conversations_days"
        " LEFT JOIN case_progress p INDEXED BY case_progress_days ON p.conversation_id = c.id"
        " WHERE c.created < max(coalesce(:ack, ''), coalesce(:reply, ''))"
        " AND NOT EXISTS (SELECT 1 FROM desk_conversations d INDEXED BY desk_conversations_closed"
        " WHERE d.conversation_id = c.id AND d.closed)"
        + ("" if reader is None else " AND EXISTS (SELECT 1 FROM conversation_recipients r"
           " WHERE r.name = :reader AND r.conversation_id = c.id)"))
