"""The two questions the desk asks on every page stay exact when asked the quick way.

"Which reports has no one downloaded for N days?" is answered between two item numbers, the
second looked up by day; "what is new for me since my last download?" walks either the new
items or my own conversations, whichever list is shorter. Both are checked against the plain
reading of the question, item by item, on an instance filled through the `Store` API with real
envelopes (tests/stored.py), whose items were made over several days.
"""
from __future__ import annotations

import datetime
import random
import sqlite3
from pathlib import Path

import pytest

from dropbox.config import Config
from dropbox.storage import Store
from stored import populate

CONVERSATIONS = 40
DAYS = 8


@pytest.fixture(scope="module")
def filled(tmp_path_factory, instance_template) -> tuple[Store, Path]:
    from deskclient import new_instance
    data = new_instance(tmp_path_factory.mktemp("waiting"), instance_template)
    config = Config.load(data)
    store = Store(config.database, config.store_dir, config.tmp_dir)
    populate(store, CONVERSATIONS, random.Random(5))
    with sqlite3.connect(config.database) as db:  # items arrived over DAYS days, in order
        count = db.execute("SELECT count(*) FROM items").fetchone()[0]
        start = datetime.date(2026, 1, 1)
        db.executemany("UPDATE items SET created = ? WHERE seq = ?", [
            ((start + datetime.timedelta(days=n * DAYS // count)).isoformat(), seq)
            for n, (seq,) in enumerate(db.execute("SELECT seq FROM items ORDER BY seq").fetchall())])
        db.execute("UPDATE items SET origin = 'team' WHERE seq % 7 = 0")  # some are replies
    return store, config.database


def _rows(database: Path, sql: str, *args) -> list[tuple]:
    with sqlite3.connect(database) as db:
        return db.execute(sql, args).fetchall()


def test_reports_waiting_unread_are_exactly_the_old_untaken_ones_from_reporters(filled):
    store, database = filled
    items = _rows(database, "SELECT seq, conversation_id, origin, created FROM items")
    last = max(seq for seq, *_ in items)
    for taken in (0, 1, last // 3, last // 2, last - 1, last):
        for day in range(DAYS + 2):
            before = (datetime.date(2026, 1, 1) + datetime.timedelta(days=day)).isoformat()
            expected = {cid for seq, cid, origin, created in items
                        if seq > taken and origin == "reporter" and created < before}
            assert store.conversations.waiting_reports(taken, before) == expected, (taken, before)
    assert store.conversations.waiting_reports(0, "2027-01-01")  # the check above was not of empty sets only


def test_what_is_new_for_me_is_exactly_my_items_after_my_mark_whichever_list_is_walked(filled):
    store, database = filled
    mine = {name: {cid for (cid,) in _rows(database, "SELECT conversation_id FROM"
                                            " conversation_recipients WHERE name = ?", name)}
            for (name,) in _rows(database, "SELECT name FROM team")}
    assert any(len(cids) < CONVERSATIONS for cids in mine.values())  # someone is left out
    items = _rows(database, "SELECT seq, conversation_id FROM items ORDER BY seq")
    last = items[-1][0]
    # From 0 more items are new than any responder has conversations (their own are walked);
    # near the end only a few are (the new items are walked).
    for since in (0, last // 2, last - 5, last - 1, last):
        for name, cids in mine.items():
            found = store.conversations.items_after(since, recipient=name)
            expected = [(seq, cid) for seq, cid in items if seq > since and cid in cids]
            assert sorted((i.seq, i.conversation_id) for group in found.values() for i in group) \
                == expected, (since, name)
            assert list(found) == list(dict.fromkeys(cid for _, cid in expected))  # oldest first
            for group in found.values():
                assert [i.seq for i in group] == sorted(i.seq for i in group)
