"""Deleted is gone when the deletion returns: the write-ahead log included.

SQLite in WAL mode keeps every page a transaction wrote in `dropbox.sqlite3-wal` until
that file is reset; `secure_delete` zeroes deleted rows in the database file, not the
older pages in the log. So a deleted conversation's id, lookup id (a codename's trace,
with the peppers on the same disk) and reporter key are searched for in the bytes of the
database file and of its -wal, right after the deletion returns, with the server (or the
`Store`) still open and, for the purge, other threads reading all the while.
"""
from __future__ import annotations

import random
import sqlite3
import threading
import time
from pathlib import Path

from conftest import start_server
from dropbox.config import Config
from dropbox.desk.housekeeping import purge_expired
from dropbox.storage import Store
from stored import populate
from support.reporter import log_in, new_report


def _traces(data: Path) -> dict[str, tuple[bytes, ...]]:
    """Conversation id → what identifies it: the id, its lookup id, its reporter key."""
    with sqlite3.connect(f"{(data / 'dropbox.sqlite3').as_uri()}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT id, lookup_id, reporter_key FROM conversations").fetchall()
    return {cid: (cid.encode(), lookup.encode(), bytes(key)) for cid, lookup, key in rows}


def _left_on_disk(data: Path, traces: tuple[bytes, ...]) -> list[str]:
    found = []
    for name in ("dropbox.sqlite3", "dropbox.sqlite3-wal"):
        path = data / name
        content = path.read_bytes() if path.exists() else b""
        found += [f"{name} holds {trace[:8]!r}..." for trace in traces if trace in content]
    return found


def test_a_conversation_the_reporter_deleted_is_in_no_database_file_while_the_server_runs(instance):
    server = start_server(instance)
    try:
        codename, _ = new_report(server, "Please delete this later.")
        new_report(server, "Another report, kept.")
        before = _traces(instance)
        client, page = log_in(server, codename)
        done = client.submit(client.get("/delete"), "Delete everything")
        assert done.status == 200
        (deleted,) = set(before) - set(_traces(instance))
        assert server.process.poll() is None
        assert _left_on_disk(instance, before[deleted]) == []
        kept = [trace for cid, trace in before.items() if cid != deleted]
        assert _left_on_disk(instance, kept[0]) != [], "the search must find what is stored"
    finally:
        server.stop()


def test_a_purge_leaves_nothing_of_what_it_deleted_while_others_read(instance):
    config = Config.load(instance)
    store = Store(config.database, config.store_dir, config.tmp_dir)
    ids = populate(store, 150, random.Random(5))
    expired = ids[::3]
    with sqlite3.connect(config.database) as db:
        db.executemany("UPDATE conversations SET last_activity = '2000-01-01' WHERE id = ?",
                       [(cid,) for cid in expired])
    traces = _traces(instance)
    reading, reads = threading.Event(), []

    def reader():  # the site and the desk go on reading while the purge runs
        while not reading.is_set():
            store.conversations.conversation(ids[len(reads) % len(ids)])
            reads.append(1)
    readers = [threading.Thread(target=reader) for _ in range(4)]
    for thread in readers:
        thread.start()
    try:
        started = time.perf_counter()
        assert purge_expired(store, retention_days=30) == len(expired)
        took = time.perf_counter() - started
        left = [line for cid in expired for line in _left_on_disk(instance, traces[cid])]
    finally:
        reading.set()
        for thread in readers:
            thread.join()
    assert left == []
    assert reads and took < 10, (len(reads), took)
