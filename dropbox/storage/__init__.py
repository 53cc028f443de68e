"""Storage: SQLite rows for what must be found, files for envelope payloads.

Nothing here is plaintext of a submission. A conversation row holds an
opaque random id, the codename-derived lookup id, the reporter's public key,
its recipients (names and public keys, as they were when the report was
made) and day-precision dates. An item row holds its envelope header; the
payload lives in `store/<bucket>/<conversation>/<item>` (payloads.py).

One module per concept: the v0.1.0 schema (`schema`), the values rows turn into
(`records`), opening and upgrading the database (`database`), payload files
(`payloads`), the team, conversations and items, and the desk's tables.
"""
from __future__ import annotations

from pathlib import Path

from dropbox.storage.conversations import ConversationTables
from dropbox.storage.database import UpgradeDue, stored_version
from dropbox.storage.desk import Account, Desk, Summary
from dropbox.storage.records import (Conversation, EnvelopeStream, Item, StagedItem,
                                     StorageError, new_id, today)
from dropbox.storage.state import InstanceState
from dropbox.storage.team import Team

__all__ = ["Account", "Conversation", "EnvelopeStream", "Item", "StagedItem", "StorageError", "Store", "Summary",
           "UpgradeDue", "new_id", "stored_version", "today"]


class Store(ConversationTables):
    """The instance's database and payload files. Safe to share between threads."""

    def __init__(self, database: Path, store_dir: Path, tmp_dir: Path):
        super().__init__(database, store_dir, tmp_dir)
        self.team, self.desk, self.state = Team(self), Desk(self), InstanceState(self)
