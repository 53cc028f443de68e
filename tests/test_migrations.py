"""The database's upgrade steps: each applied once, in order, all or nothing."""
from __future__ import annotations

import sqlite3

import pytest

from dropbox import migrations


def _db(tmp_path) -> sqlite3.Connection:
    db = sqlite3.connect(tmp_path / "db.sqlite3", isolation_level=None)
    db.execute("CREATE TABLE notes (text TEXT)")
    db.execute("INSERT INTO notes VALUES ('kept')")
    return db


def add_column(db, data_dir):
    db.execute("ALTER TABLE notes ADD COLUMN day TEXT NOT NULL DEFAULT ''")


def add_index(db, data_dir):
    db.execute("CREATE INDEX notes_by_day ON notes(day)")


def broken(db, data_dir):
    db.execute("CREATE TABLE half_done (x)")
    raise RuntimeError("disk full")


def test_steps_run_once_in_order_and_keep_rows(tmp_path):
    db = _db(tmp_path)
    assert migrations.upgrade(db, tmp_path, (add_column,)) == ["add_column"]
    assert migrations.upgrade(db, tmp_path, (add_column, add_index)) == ["add_index"]
    assert migrations.upgrade(db, tmp_path, (add_column, add_index)) == []
    assert migrations.version(db) == 2
    assert db.execute("SELECT text, day FROM notes").fetchall() == [("kept", "")]


def test_a_failed_step_leaves_the_previous_version_whole(tmp_path):
    db = _db(tmp_path)
    with pytest.raises(RuntimeError):
        migrations.upgrade(db, tmp_path, (add_column, broken))
    assert migrations.version(db) == 1
    assert not db.execute("SELECT name FROM sqlite_master WHERE name = 'half_done'").fetchall()


def test_a_database_newer_than_the_program_is_refused(tmp_path):
    db = _db(tmp_path)
    db.execute("PRAGMA user_version = 7")
    with pytest.raises(migrations.MigrationError, match="newer than this program"):
        migrations.upgrade(db, tmp_path, (add_column,))
