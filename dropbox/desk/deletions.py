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
    """Schedule the deletion; returns the day it is due."""
    due = (today or datetime.date.today()) + datetime.timedelta(days=grace_days)
    return store.desk.ask_deletion(conversation_id, name, due.isoformat())


def carry_out_due(store: Store, today: datetime.date | None = None) -> int:
    """Delete every conversation whose deletion is due; returns how many."""
    day = (today or datetime.date.today()).isoformat()
    due = [(cid, by) for cid, (by, when) in store.desk.pending_deletions().items() if when <= day]
    for conversation_id, asked_by in due:
        store.conversations.delete_conversation(conversation_id, asked_by)
    return len(due)
