"""Upgrades of an instance's database, in order, each applied once.

A database records how far it has been upgraded in SQLite's `user_version`.
v0.1.0 (commit da78831) never set it, so its databases read 0: the baseline is
`storage.SCHEMA` exactly as v0.1.0 wrote it, which stays frozen. Every later
change to tables, columns or indexes is a step appended to `STEPS`; a new
database goes through the same steps as an old one, so there is one path to
every version and no second schema to keep in sync.

A step runs inside the transaction that also records its number, so a crash
leaves the database at the previous version, never half-upgraded. A step must
never lose a row.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Callable

from dropbox.desk import upgrades as desk

Step = Callable[[sqlite3.Connection, Path], None]

# Step n (counting from 1) brings a database from version n-1 to version n.
STEPS: tuple[Step, ...] = (
    desk.step_desk_names_from_curated_list,
    desk.step_desk_deletions_wait,
    desk.step_desk_reply_uploaders,
)

CURRENT = len(STEPS)


def version(db: sqlite3.Connection) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]


def upgrade(db: sqlite3.Connection, data_dir: Path, steps: tuple[Step, ...] = STEPS) -> list[str]:
    """Apply every step the database has not had; returns their names, in order.

    `db` must be in autocommit mode (isolation_level None): each step and its
    version number commit together."""
    found = version(db)
    if found > len(steps):
        raise MigrationError(f"this database is version {found}, newer than this program "
                             f"knows ({len(steps)}): upgrade onion-dropbox first")
    applied = []
    for number, step in enumerate(steps[found:], start=found + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            step(db, data_dir)
            db.execute(f"PRAGMA user_version = {number}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        applied.append(step.__name__)
    return applied


class MigrationError(Exception):
    """The database cannot be brought to this program's version; the message says why."""
