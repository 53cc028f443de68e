"""Storage: SQLite rows for what must be found, files for envelope payloads.

Nothing here is plaintext of a submission. A conversation row holds an
opaque random id, the codename-derived lookup id, the reporter's public key,
its recipients (names and public keys, as they were when the report was
made) and day-precision dates. An item row holds its envelope header; the
payload lives in `store/<bucket>/<conversation>/<item>` (payloads.py).

One object per concept over one database (`database`), each with its queries in
its own module and returning frozen dataclasses (`records`, `desk`), never rows:
`store.team`, `store.conversations` (with their payload files), `store.invitations` (to the
person reported), `store.desk`, `store.cases` (where each case stands), `store.figures` (counts
without content) and `store.state` (the instance's own counters). The v0.1.0 schema is `schema`.
Storage imports nothing above it: upgrading is `dropbox.migrations`' job, run
only by `dropbox upgrade`; `Store.prepare()` refuses a database of another version.
"""
from __future__ import annotations

from pathlib import Path

from dropbox.storage.cases import Cases, Progress
from dropbox.storage.conversations import Conversations
from dropbox.storage.database import Database, UpgradeDue, stored_version
from dropbox.storage.desk import Account, Desk, Summary
from dropbox.storage.invitations import Invitation, Invitations
from dropbox.storage.figures import Figures
from dropbox.storage.records import (Conversation, EnvelopeStream, Item, StagedItem,
                                     StorageError, new_id, today)
from dropbox.storage.state import InstanceState
from dropbox.storage.team import Team

__all__ = ["Account", "Conversation", "EnvelopeStream", "Invitation", "Item", "Progress", "StagedItem", "StorageError",
           "Store", "Summary", "UpgradeDue", "new_id", "stored_version", "today"]


class Store(Database):
    """The instance's database and payload files, and the object of each concept over them.
    Safe to share between threads."""

    def __init__(self, database: Path, store_dir: Path, tmp_dir: Path):
        super().__init__(database, store_dir, tmp_dir)
        self.team = Team(self)
        self.conversations = Conversations(self)
        self.desk = Desk(self)
        self.invitations = Invitations(self)
        self.cases = Cases(self)
        self.figures = Figures(self)
        self.state = InstanceState(self)

    def recover(self) -> None:
        """Drop what a crash left half-written. Only at server start: never under a running server."""
        self.conversations.recover()
