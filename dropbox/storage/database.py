"""One SQLite database, opened the same way everywhere, used only at this program's version.

Every query goes through `transaction()`, one transaction each. Outside a request
that is one connection per call; a web app calls `hold_connection()` when a
request starts and `release_connection()` when it ends, so each request
opens one connection, whatever number of queries it makes (connections are
per thread: SQLite's are not shared between threads).

The store never upgrades its database: `prepare()` refuses one made by another
version, and every command and server goes through it. Upgrading is the
operator's moment, after a backup (`dropbox upgrade`, the one caller of
`dropbox.migrations`).
"""
from __future__ import annotations

import os
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from dropbox.storage.records import StorageError
from dropbox.storage.schema import VERSION


class UpgradeDue(StorageError):
    """The instance was made by an earlier version; the message says what to do."""


def stored_version(database: Path) -> int | None:
    """How far `database` has been upgraded (SQLite's user_version), read without writing
    anything: no -wal or -shm file is created beside a database that has none. None when
    there is no database."""
    if not database.exists():
        return None
    # Without a -wal file the main file is the whole database, and nothing is changing it:
    # `immutable` reads it as a plain file. With one (a server may be running), read as SQLite
    # does, through the files that exist already.
    live = Path(f"{database}-wal").exists()
    uri = f"{database.as_uri()}?mode=ro" + ("" if live else "&immutable=1")
    try:
        with closing(sqlite3.connect(uri, uri=True)) as db:
            return int(db.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        raise StorageError(f"{database} cannot be read as a database: {exc}") from None


class Database:
    """The instance database, and the store/ and tmp/ folders beside it; each concept's object
    (team, conversations, desk, state) queries it through `transaction()`."""

    def __init__(self, database: Path, store_dir: Path, tmp_dir: Path):
        self.database, self.store_dir, self.tmp_dir = database, store_dir, tmp_dir
        self._held = threading.local()  # this thread's request connection, if one is held

    def prepare(self) -> None:
        """Refuse a database of another version (UpgradeDue when it is behind), before
        anything is written; then create the folders beside it that are missing."""
        found, current = stored_version(self.database), VERSION
        data_dir = self.database.parent
        if found is None or found < current:
            made = ("has no database yet" if found is None else
                    f"was made by an earlier version of onion-dropbox (instance version {found}, "
                    f"this program {current})")
            raise UpgradeDue(f"the instance at {data_dir} {made}: nothing was changed. Back it up "
                             f"(`dropbox backup`), then run `dropbox upgrade --data {data_dir}`.")
        if found > current:
            raise StorageError(f"the instance at {data_dir} is version {found}, newer than this "
                               f"program knows ({current}): install the newer onion-dropbox again")
        for folder in (self.store_dir, self.tmp_dir):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)

    def unwritable(self) -> list[str]:
        """What of the store cannot be written now, one line each: in tmp/ and store/ a file
        is made, synced and removed; in the database a write is begun and rolled back. So
        nothing is left changed, and a read-only mount or a full disk shows here before a
        reporter meets it."""
        problems = []
        for folder in (self.tmp_dir, self.store_dir):
            try:
                descriptor, name = tempfile.mkstemp(dir=folder, prefix=".writable-")
                try:
                    os.write(descriptor, b"\0")
                    os.fsync(descriptor)
                finally:
                    os.close(descriptor)
                    os.unlink(name)
            except OSError as exc:
                problems.append(f"{folder} cannot be written ({exc.strerror}): nothing can be stored")
        try:
            with closing(sqlite3.connect(self.database, timeout=30, isolation_level=None)) as db:
                db.execute("BEGIN IMMEDIATE")
                db.execute("INSERT OR REPLACE INTO state VALUES ('writable', 0)")
                db.execute("ROLLBACK")
        except sqlite3.Error as exc:
            problems.append(f"the database {self.database} cannot be written ({exc}): "
                            "nothing can be stored")
        return problems

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
    def transaction(self) -> Iterator[sqlite3.Connection]:
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

    def forget_deleted(self) -> None:
        """Make a deletion complete on disk before it returns. With `secure_delete` the rows
        are zeroed in the pages the deletion wrote, but the write-ahead log still holds the
        pages earlier transactions wrote with them, and the database file the pages its last
        checkpoint copied. A TRUNCATE checkpoint copies the zeroed pages into the file and
        empties the log; it waits (the busy timeout) for readers still on an older snapshot,
        which the store's short transactions release in milliseconds."""
        with closing(sqlite3.connect(self.database, timeout=30, isolation_level=None)) as db:
            busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            raise StorageError("deleted, but the database's write-ahead log could not be emptied "
                               "(readers held it for 30 s); it will be at the next deletion")

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.database, timeout=30)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        db.execute("PRAGMA secure_delete = ON")  # what a deletion removes is overwritten with zeros
        return db
