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


ADD_COLUMN = migrations.Step(add_column, "gave each note a day")
ADD_INDEX = migrations.Step(add_index, "sped up finding notes by day")
BROKEN = migrations.Step(broken, "stopped half way")


def test_steps_run_once_in_order_and_keep_rows(tmp_path):
    db = _db(tmp_path)
    assert migrations.upgrade(db, tmp_path, (ADD_COLUMN,)) == ["add_column"]
    assert migrations.upgrade(db, tmp_path, (ADD_COLUMN, ADD_INDEX)) == ["add_index"]
    assert migrations.upgrade(db, tmp_path, (ADD_COLUMN, ADD_INDEX)) == []
    assert migrations.version(db) == 2
    assert db.execute("SELECT text, day FROM notes").fetchall() == [("kept", "")]


def test_a_failed_step_leaves_the_previous_version_whole(tmp_path):
    db = _db(tmp_path)
    with pytest.raises(RuntimeError):
        migrations.upgrade(db, tmp_path, (ADD_COLUMN, BROKEN))
    assert migrations.version(db) == 1
    assert not db.execute("SELECT name FROM sqlite_master WHERE name = 'half_done'").fetchall()


def test_a_database_newer_than_the_program_is_refused(tmp_path):
    db = _db(tmp_path)
    db.execute("PRAGMA user_version = 7")
    with pytest.raises(migrations.MigrationError, match="newer than this program"):
        migrations.upgrade(db, tmp_path, (ADD_COLUMN,))


def test_v0_1_0_words_on_contacting_the_person_reported_are_replaced_and_a_teams_own_kept(tmp_path):
    """v0.1.0's example told reporters they could stop the team contacting the person reported;
    the code of practice says the team will. A team that rewrote a language keeps its words."""
    from pathlib import Path
    from dropbox.practice import PRACTICE_FILE, Practice
    old = Path(__file__).parent / "fixtures" / "v0.1.0" / "instance" / PRACTICE_FILE
    ours = "The team contacts the person reported only with your consent."
    (tmp_path / PRACTICE_FILE).write_text(old.read_text("utf-8").replace(
        f'en = "{migrations.V0_1_0_CONTACT_ACCUSED["en"]}"', f'en = "{ours}"'), "utf-8")
    (tmp_path / PRACTICE_FILE).chmod(0o640)
    for _ in range(2):  # a second run (after a crash) changes nothing more
        migrations.practice_says_what_the_code_says(None, tmp_path)
        contact = next(t for t in Practice.load(tmp_path / PRACTICE_FILE).process
                       if t.id == "contact-accused")
        assert contact("en") == ours
        assert contact("es").startswith("El equipo de respuesta contactará")
        assert "will" not in contact("fr") and "contactera la personne" in contact("fr")
        assert contact("ar").startswith("سيتواصل")
    assert (tmp_path / PRACTICE_FILE).stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == [PRACTICE_FILE]


def _v0_1_0_database(tmp_path):
    from pathlib import Path
    import shutil
    source = Path(__file__).parent / "fixtures" / "v0.1.0" / "instance" / "dropbox.sqlite3"
    shutil.copyfile(source, tmp_path / "dropbox.sqlite3")
    return tmp_path / "dropbox.sqlite3"


def test_items_of_a_new_origin_need_no_schema_step_and_lose_no_desk_row(tmp_path):
    """v0.1.0's table refused any origin but the reporter's and the team's: a new party to a
    conversation would have needed a rebuilt table, which cascades into the desk's rows."""
    database = _v0_1_0_database(tmp_path)
    db = sqlite3.connect(database, isolation_level=None)
    db.execute("PRAGMA foreign_keys = ON")
    counts = {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("items", "desk_stars")}
    migrations.upgrade(db, None)
    assert {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in counts} == counts
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    row = db.execute("SELECT id, conversation_id, header, payload_size, created FROM items").fetchone()
    db.execute("INSERT INTO items (id, conversation_id, origin, header, payload_size, created)"
               " VALUES (?, ?, 'someone-new', ?, ?, ?)", ("f" * 32, *row[1:]))  # refused before the step
    db.close()
    # ... but only origins the format declares are served: the instance is now refused whole.
    with pytest.raises(migrations.MigrationError, match="unknown origin 'someone-new'"):
        migrations.check_database(database)


def test_storage_stores_only_the_declared_origins(tmp_path):
    from dropbox.storage.conversations import Conversations
    with pytest.raises(ValueError, match="not an origin"):
        Conversations._insert_items(sqlite3.connect(":memory:"), "0" * 32, "someone-new", [])
