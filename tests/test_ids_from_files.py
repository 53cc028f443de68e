"""An id read from any file never becomes a path outside its folder.

Ids name folders and files in the store, so a database row (in a backup, or in the instance
itself) or a journal line naming `../../../../tmp/X` must meet a one-line error and leave X
alone: restore's clean-up, `dropbox purge` and the server's housekeeping all delete folders
named by ids. Each kind of source has its test; `keys.ids` is the one check they share.
"""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from nacl.public import PrivateKey

from dropbox.backup import BackupError, restore_backup, write_backup
from dropbox.cli import cli
from dropbox.config import Config
from dropbox.desk.housekeeping import purge_expired
from dropbox.storage import Store
from keys.errors import FormatError
from keys.ids import check_id, id_path


@pytest.fixture
def template(instance_template) -> Path:
    """The session's instance (conftest.py): read here, never changed."""
    return instance_template


@pytest.fixture
def data(template, tmp_path) -> Path:
    copy = tmp_path / "instance"
    shutil.copytree(template, copy, symlinks=True)
    return copy


@pytest.fixture
def victim(tmp_path) -> Path:
    """A folder outside every instance, which nothing of ours may delete."""
    folder = tmp_path / "outside" / "victim"
    folder.mkdir(parents=True)
    (folder / "precious.txt").write_text("keep me")
    return folder


def hostile_id(victim: Path) -> str:
    """A conversation "id" that, as store/<first two>/<id>, is the victim's folder."""
    return "../" * 40 + str(victim).lstrip("/")


def name_in_database(data: Path, conversation_id: str, last_activity: str = "2000-01-01") -> None:
    """A conversation row and an item row whose payload is missing (what restore cleans up)."""
    with sqlite3.connect(data / "dropbox.sqlite3") as db:
        db.execute("INSERT INTO conversations (id, lookup_id, reporter_key, recipients, created,"
                   " last_activity) VALUES (?, ?, ?, ?, ?, ?)",
                   (conversation_id, "lookup" * 4, bytes(32), "[]", "2000-01-01", last_activity))
        db.execute("INSERT INTO items (id, conversation_id, origin, header, payload_size, created)"
                   " VALUES (?, ?, 'reporter', x'00', 1, '2000-01-01')",
                   ("0123456789abcdef0123456789abcdef", conversation_id))


def test_ids_are_one_pattern_and_paths_from_them_stay_inside():
    assert check_id("0123456789abcdef", "a test") == "0123456789abcdef"
    for bad in ("../../tmp/x", "ABCDEF0123456789", "0123456789abcde", "a" * 65, "0123456789abcdef\n",
                "0123456789abcdef/..", "", None, 12345678901234567):
        with pytest.raises(FormatError, match="a test holds an invalid id"):
            check_id(bad, "a test")
    assert id_path(Path("/s"), "ab", "ab" * 16) == Path("/s/ab/" + "ab" * 16)
    for parts in ((".."), ("..", "x" * 16), ("ab", "../" * 8), ("/etc",), ("ab", "")):
        with pytest.raises(FormatError):
            id_path(Path("/s"), *parts)


def test_a_backup_whose_database_names_a_path_restores_nothing_and_deletes_nothing(
        data, victim, tmp_path):
    name_in_database(data, hostile_id(victim))
    key = PrivateKey.generate()
    made = write_backup(data, tmp_path / "hostile.odbk", [key.public_key])
    target = tmp_path / "restored"
    with pytest.raises(BackupError, match="invalid id.*nothing was restored"):
        restore_backup(tmp_path / "hostile.odbk", target, key, tmp_path / "backup.seen",
                       trust_signer=made.signer)
    assert (victim / "precious.txt").read_text() == "keep me"
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_purge_refuses_a_database_row_that_names_a_path(data, victim):
    name_in_database(data, hostile_id(victim))
    said = CliRunner().invoke(cli, ["purge", "--data", str(data)])
    assert said.exit_code == 1 and "the instance database holds an invalid id" in said.output
    assert said.exception is None or isinstance(said.exception, SystemExit), said.exception
    assert (victim / "precious.txt").read_text() == "keep me"


def test_housekeeping_purge_refuses_a_database_row_that_names_a_path(data, victim):
    name_in_database(data, hostile_id(victim))
    config = Config.load(data)
    store = Store(config.database, config.store_dir, config.tmp_dir)
    with pytest.raises(FormatError, match="invalid id"):
        purge_expired(store, 30)
    assert (victim / "precious.txt").read_text() == "keep me"


def test_deleting_by_an_id_that_is_not_one_touches_nothing(data, victim):
    """Even an id that comes from elsewhere than a row (a caller, a form) is a path only if it
    is an id: the store builds every path through `id_path`."""
    config = Config.load(data)
    store = Store(config.database, config.store_dir, config.tmp_dir)
    with pytest.raises(FormatError):
        store.conversations._remove_folder(hostile_id(victim))
    assert (victim / "precious.txt").read_text() == "keep me"


def test_a_journal_line_naming_a_path_is_skipped_at_start_up(data, victim):
    (victim / "0123456789abcdef0123456789abcdef").write_text("keep me too")
    config = Config.load(data)
    store = Store(config.database, config.store_dir, config.tmp_dir)
    (data / "tmp").mkdir(exist_ok=True)
    (data / "tmp" / "0123456789abcdef.placing").write_text(
        f"{hostile_id(victim)} 0123456789abcdef0123456789abcdef\n")
    store.recover()
    assert (victim / "0123456789abcdef0123456789abcdef").read_text() == "keep me too"
