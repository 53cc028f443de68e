"""Deleting a conversation from the desk waits: one responder asks, any of its readers can cancel.

One person alone must not be able to erase a report for the whole team at once
(a responder under pressure, a stolen login). A deletion asked on the desk is
carried out by housekeeping once `deletion_grace_days` have passed; until then
the conversation stays, marked, and every recipient sees who asked and when it
will go, with a button to cancel. A reporter deleting their own conversation is
not delayed: it is theirs.
"""
from __future__ import annotations

import datetime

from dropbox.storage import Store


def ask(store: Store, conversation_id: str, name: str, grace_days: int,
        today: datetime.date | None = None) -> str:
    """Schedule the deletion; returns the day it is due. Asking again keeps the first date."""
    due = ((today or datetime.date.today()) + datetime.timedelta(days=grace_days)).isoformat()
    with store._db() as db:
        db.execute("INSERT OR IGNORE INTO desk_deletions VALUES (?, ?, ?)", (conversation_id, name, due))
        return db.execute("SELECT due FROM desk_deletions WHERE conversation_id = ?",
                          (conversation_id,)).fetchone()["due"]


def cancel(store: Store, conversation_id: str) -> bool:
    with store._db() as db:
        return db.execute("DELETE FROM desk_deletions WHERE conversation_id = ?",
                          (conversation_id,)).rowcount == 1


def pending(store: Store) -> dict[str, tuple[str, str]]:
    """conversation id → (who asked, day it is due), for every deletion waiting."""
    with store._db() as db:
        rows = db.execute("SELECT * FROM desk_deletions").fetchall()
    return {r["conversation_id"]: (r["requested_by"], r["due"]) for r in rows}


def carry_out_due(store: Store, today: datetime.date | None = None) -> int:
    """Delete every conversation whose deletion is due; returns how many."""
    day = (today or datetime.date.today()).isoformat()
    due = [(cid, by) for cid, (by, when) in pending(store).items() if when <= day]
    for conversation_id, asked_by in due:
        store.delete_conversation(conversation_id, asked_by)
    return len(due)
