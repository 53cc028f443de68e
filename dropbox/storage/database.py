"""One SQLite database, opened the same way everywhere, and upgraded before first use.

Every query goes through `_db()`, one transaction each. Outside a request
that is one connection per call; a web app calls `hold_connection()` when a
request starts and `release_connection()` when it ends, so each request
opens one connection, whatever number of queries it makes (connections are
per thread: SQLite's are not shared between threads).
"""
from __future__ import annotations

import sqlite3
import threading
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Iterator

from dropbox import migrations
from dropbox.storage.schema import SCHEMA


class Database:
    """Opens the instance database; the tables of each concept are mixins built on this."""

    def __init__(self, database: Path, store_dir: Path, tmp_dir: Path):
        self.database, self.store_dir, self.tmp_dir = database, store_dir, tmp_dir
        self._held = threading.local()  # this thread's request connection, if one is held

    def prepare(self) -> None:
        """Create what is missing."""
        for folder in (self.store_dir, self.tmp_dir):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.database, timeout=30, isolation_level=None)) as db:
            db.execute("PRAGMA foreign_keys = ON")
            db.executescript(SCHEMA)  # v0.1.0's tables; the migrations take them from there
            migrations.upgrade(db, self.database.parent)

    def hold_connection(self) -> None:
        """From now until `release_connection()`, this thread's queries share one connection,
        opened at the first of them."""
        self._held.wanted, self._held.depth = True, 0

    def release_connection(self) -> None:
        self._held.wanted = False
        db, self._held.db = getattr(self._held, "db", None), None
        if db is not None:
            db.close()

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """A connection inside a transaction, committed when the block ends (rolled back on an
        error). Nested blocks on a held connection share the outer transaction."""
        if not getattr(self._held, "wanted", False):
            with closing(self._connect()) as db, db:
                yield db
            return
        if getattr(self._held, "db", None) is None:
            self._held.db = self._connect()
        db, self._held.depth = self._held.db, self._held.depth + 1
        try:
            if self._held.depth > 1:
                yield db
            else:
                with db:
                    yield db
        finally:
            self._held.depth -= 1

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.database, timeout=30)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        return db
