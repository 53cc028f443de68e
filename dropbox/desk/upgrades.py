"""The desk's database steps (see dropbox/migrations.py): names from the curated list,
deletions that wait, who uploaded which reply, a name for every conversation, and the
language each responder reads.

Each is safe to run again and loses no row.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

from keys.codename import desk_name


def step_desk_names_from_curated_list(db: sqlite3.Connection, data_dir: Path | None) -> None:
    """Rename every conversation to its derived name (keys.codename.desk_name).

    v0.1.0 drew names at random from the whole EFF list ("mortality-preacher");
    the derived ones come from the curated list and are the names `keys open`
    can print on the air-gapped machine.
    """
    ids = [r[0] for r in db.execute("SELECT conversation_id FROM desk_conversations ORDER BY rowid")]
    # Park every row on a name no derived one can be, so renaming never collides with an old name.
    db.execute("UPDATE desk_conversations SET designation = '~' || conversation_id")
    _name(db, ids, taken=set())


def _name(db: sqlite3.Connection, ids: list[str], taken: set[str]) -> None:
    """Give each conversation its derived name, or, where an earlier one holds it, the same
    words and more (its id cannot change: its envelopes are bound to it)."""
    for cid in ids:
        tries = 0
        while (name := desk_name(cid, tries)) in taken:
            tries += 1
        taken.add(name)
        db.execute("INSERT INTO desk_conversations (conversation_id, designation) VALUES (?, ?)"
                   " ON CONFLICT (conversation_id) DO UPDATE SET designation = excluded.designation",
                   (cid, name))


def step_desk_deletions_wait(db: sqlite3.Connection, data_dir: Path | None) -> None:
    """A deletion asked for on the desk waits until `due` (a day), and any reader can cancel it."""
    db.execute("""CREATE TABLE IF NOT EXISTS desk_deletions (
        conversation_id TEXT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
        requested_by TEXT NOT NULL,
        due TEXT NOT NULL)""")


def step_desk_reply_uploaders(db: sqlite3.Connection, data_dir: Path | None) -> None:
    """Which responder uploaded a reply on the desk, so it is not "new" to them."""
    db.execute("""CREATE TABLE IF NOT EXISTS desk_uploads (
        item_id TEXT PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
        uploaded_by TEXT NOT NULL)""")


def step_name_every_conversation(db: sqlite3.Connection, data_dir: Path | None) -> None:
    """Name every conversation the desk has not listed yet, oldest first. From now on a
    conversation is named when it is made, with an id whose two-word name is free, so no
    name depends on what a responder cannot see; only names given here can have a third word."""
    taken = {r[0] for r in db.execute("SELECT designation FROM desk_conversations")}
    ids = [r[0] for r in db.execute(
        "SELECT id FROM conversations WHERE id NOT IN (SELECT conversation_id FROM desk_conversations)"
        " ORDER BY created, rowid")]
    _name(db, ids, taken)


def step_desk_responders_language(db: sqlite3.Connection, data_dir: Path | None) -> None:
    """The language each responder last used the desk in, for the mail sent to them."""
    if not any(row[1] == "language" for row in db.execute("PRAGMA table_info(desk_accounts)")):
        db.execute("ALTER TABLE desk_accounts ADD COLUMN language TEXT NOT NULL DEFAULT 'en'")
