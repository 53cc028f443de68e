"""One SQLite database, opened the same way everywhere, and upgraded before first use."""
from __future__ import annotations

import sqlite3
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Iterator

from dropbox import migrations
from dropbox.storage.schema import SCHEMA


class Database:
    """Opens the instance database; the tables of each concept are mixins built on this."""

    def __init__(self, database: Path, store_dir: Path, tmp_dir: Path):
        self.database, self.store_dir, self.tmp_dir = database, store_dir, tmp_dir

    def prepare(self) -> None:
        """Create what is missing."""
        for folder in (self.store_dir, self.tmp_dir):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.database, timeout=30, isolation_level=None)) as db:
            db.execute("PRAGMA foreign_keys = ON")
            db.executescript(SCHEMA)  # v0.1.0's tables; the migrations take them from there
            migrations.upgrade(db, self.database.parent)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.database, timeout=30)) as db:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")
            with db:
                yield db
