"""Deleting many conversations at once takes exactly those, everywhere; start-up removes what
a crash left half-placed, and keeps everything committed.

The purge works on 1,100 conversations made through the `Store` API with real envelopes
(tests/stored.py), so it spans several of its batches; `dropbox purge` runs as a person runs it.
"""
from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import dropbox, start_server
from dropbox.config import Config
from dropbox.desk.conversations import new_designation
from dropbox.storage import Store
from stored import populate

CONVERSATIONS = 1100


def _store(data: Path) -> Store:
    config = Config.load(data)
    return Store(config.database, config.store_dir, config.tmp_dir)


def _column(data: Path, sql: str, *args) -> list:
    with sqlite3.connect(data / "dropbox.sqlite3") as db:
        return [row[0] for row in db.execute(sql, args)]


def _folders(data: Path) -> set[str]:
    """The conversations that have payload files in store/."""
    return {p.parent.name for p in (data / "store").rglob("*") if p.is_file()}


@pytest.mark.slow
def test_purge_deletes_exactly_the_expired_conversations_from_every_table_and_the_store(instance):
    store = _store(instance)
    ids = populate(store, CONVERSATIONS, random.Random(7))
    expired = set(ids[::2][:600])  # more than one batch
    for cid in ids[:40]:  # starred and designated on the desk, expired or not
        store.desk.toggle_star("alexandra", cid)
    store.desk.designations(ids[:40], new_designation)
    audiences = {cid: sorted(r.name for r in store.conversations.conversation(cid).recipients)
                 for cid in expired}
    with sqlite3.connect(instance / "dropbox.sqlite3") as db:
        db.executemany("UPDATE conversations SET last_activity = '2000-01-01' WHERE id = ?",
                       [(cid,) for cid in expired])

    said = dropbox("purge", "--data", instance).out
    assert f"deleted {len(expired)} conversations without activity" in said
    kept = set(ids) - expired
    assert set(_column(instance, "SELECT id FROM conversations")) == kept
    for table in ("items", "conversation_recipients", "desk_stars", "desk_conversations"):
        assert not set(_column(instance, f"SELECT conversation_id FROM {table}")) & expired, table
    assert set(_column(instance, "SELECT conversation_id FROM items")) == kept
    assert len(_column(instance, "SELECT 1 FROM desk_stars")) == len(set(ids[:40]) & kept)
    assert _folders(instance) == kept
    entries = sorted(_column(instance, "SELECT audience FROM desk_audit WHERE actor = 'retention'"
                                       " AND action = 'deleted a conversation'"))
    assert entries == sorted(json.dumps(a) for a in audiences.values())
    # What is left is whole: every kept conversation still counts for each of its recipients.
    assert store.conversations.count_for("bahaa") == len(_column(
        instance, "SELECT conversation_id FROM conversation_recipients WHERE name = 'bahaa'"))
    assert dropbox("purge", "--data", instance).out.startswith("deleted 0 conversations")


CRASH_WHILE_PLACING = """
import sys, os
sys.path.insert(0, sys.argv[2])
from pathlib import Path
from dropbox.config import Config
from dropbox.storage import Store
from stored import _stage
from keys.envelope import Binding
from keys.items import ItemMeta
config = Config.load(Path(sys.argv[1]))
store = Store(config.database, config.store_dir, config.tmp_dir)
keys = [r.public_key for r in store.team.members()]
items = [_stage(store, ItemMeta("message", "2026-01-01"), b"never acknowledged", keys,
                Binding("ab" * 16, "reporter", 0))]
with store.conversations._placed("ab" * 16, items):
    print(store.conversations.conversation_folder("ab" * 16) / items[0].id, flush=True)
    os._exit(9)  # killed after the payload is in place, before its row is committed
"""


def test_start_up_removes_a_payload_placed_but_never_committed_and_keeps_the_rest(instance):
    kept = populate(_store(instance), 3, random.Random(3))
    crashed = subprocess.run([sys.executable, "-c", CRASH_WHILE_PLACING, str(instance),
                              str(Path(__file__).parent)], capture_output=True, check=False, text=True)
    assert crashed.returncode == 9, crashed.stderr
    orphan = Path(crashed.stdout.strip())
    assert orphan.is_file() and list((instance / "tmp").iterdir())
    server = start_server(instance)
    server.stop()
    assert not orphan.exists() and not orphan.parent.exists()
    assert not list((instance / "tmp").iterdir())
    assert _folders(instance) == set(kept)
