"""`dropbox upgrade` of a crafted or damaged old instance: refused whole, before any step.

An instance's layout holds no symbolic link, so one found there stops the upgrade before a step
can move, remove or write through it; a database that is not SQLite, lacks a table or column,
or holds rows a step cannot read is refused with one line, and the instance stays at the
version it had, every file as it was. Each test works on a copy of tests/fixtures/v0.1.0/.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner

from dropbox.cli import cli

FIXTURE = Path(__file__).parent / "fixtures" / "v0.1.0" / "instance"


@pytest.fixture
def old(tmp_path) -> Path:
    copy = tmp_path / "instance"
    shutil.copytree(FIXTURE, copy)
    return copy


def upgrade(data: Path):
    return CliRunner().invoke(cli, ["upgrade", "--data", str(data)])


def files(data: Path) -> dict[str, str]:
    """Every file of the instance (links as links) and a hash of its bytes; the database as
    SQLite sees it (its -wal and -shm files change when it is only read)."""
    found = {str(p.relative_to(data)): (os.readlink(p) if p.is_symlink() else
                                        hashlib.sha256(p.read_bytes()).hexdigest())
             for p in sorted(data.rglob("*")) if (p.is_file() or p.is_symlink())
             and not p.name.endswith(("-wal", "-shm"))}
    try:
        with closing(sqlite3.connect(data / "dropbox.sqlite3")) as db:
            found["dropbox.sqlite3"] = "\n".join((str(db.execute("PRAGMA user_version").fetchone()),
                                                  *db.iterdump()))
    except sqlite3.DatabaseError:
        pass  # not a database: its bytes are compared
    return found


def refused(data: Path, *words: str) -> None:
    before = files(data)
    said = upgrade(data)
    assert said.exit_code == 1, said.output
    assert said.exception is None or isinstance(said.exception, SystemExit), repr(said.exception)
    assert len(said.output.strip().splitlines()) == 1, said.output
    for word in words:
        assert word in said.output, said.output
    assert files(data) == before  # the database's rows too: still version 0


def test_a_symbolic_link_in_the_store_is_refused_and_nothing_outside_is_deleted(old, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "0123456789abcdef0123456789abcdef").write_text("not the instance's")
    (old / "store" / "zz").symlink_to(outside)
    refused(old, "symbolic link", "zz")
    assert (outside / "0123456789abcdef0123456789abcdef").read_text() == "not the instance's"


def test_a_link_where_the_upgrade_writes_is_refused_and_nothing_outside_is_written(old, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("mine")
    (old / ".code-of-practice.toml.upgrading").symlink_to(outside)
    refused(old, "symbolic link")
    assert outside.read_text() == "mine"


def test_the_code_of_practice_step_never_writes_through_a_planted_link(old, tmp_path):
    """Without the refusal too: the step writes a new file of its own, never an existing name."""
    from dropbox import migrations
    outside = tmp_path / "outside.txt"
    outside.write_text("mine")
    (old / ".code-of-practice.toml.upgrading").symlink_to(outside)
    migrations.practice_says_what_the_code_says(None, old)
    assert outside.read_text() == "mine"
    assert "will contact the person reported" in (old / "code-of-practice.toml").read_text()


def _damage(data: Path, sql: str) -> None:
    with closing(sqlite3.connect(data / "dropbox.sqlite3")) as db:
        db.executescript(sql)


@pytest.mark.parametrize("case, damage, words", [
    ("not SQLite", lambda d: (d / "dropbox.sqlite3").write_bytes(b"not a database " * 100),
     ("cannot be read as a database",)),
    ("empty", lambda d: (d / "dropbox.sqlite3").write_bytes(b""), ("no table",)),
    ("a missing column", lambda d: _damage(d, "ALTER TABLE conversations DROP COLUMN last_activity"),
     ("conversations.last_activity",)),
    ("a missing table", lambda d: _damage(d, "DROP TABLE desk_audit"), ("desk_audit",)),
    ("recipients that are not JSON",
     lambda d: _damage(d, "UPDATE conversations SET recipients = 'not json'"), ("recipients_by_name",)),
    ("recipients of the wrong shape",
     lambda d: _damage(d, "UPDATE conversations SET recipients = '[1, 2]'"), ("recipients_by_name",)),
    ("an id that is a path",
     lambda d: _damage(d, "PRAGMA foreign_keys = OFF; UPDATE items SET id = '../../x' || seq"), ("invalid id",)),
])
def test_a_malformed_database_is_refused_before_any_step(old, case, damage, words):
    damage(old)
    refused(old, *words)


def test_what_the_layout_does_not_name_in_the_store_is_neither_moved_nor_removed(old):
    """Buckets and conversation folders are made from ids only; a folder of someone else's in
    store/ (a file system's lost+found, where store/ is a mount point) stays as it is."""
    (old / "store" / "lost+found").mkdir()
    (old / "store" / "lost+found" / "#1234").write_bytes(b"fsck's")
    said = upgrade(old)
    assert said.exit_code == 0, said.output
    assert (old / "store" / "lost+found" / "#1234").read_bytes() == b"fsck's"
