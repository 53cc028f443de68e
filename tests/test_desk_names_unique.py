"""Desk names are unique per instance and tell nobody anything about other conversations.

A conversation's desk name is two words derived from its id (`keys.codename.desk_name`), so
`keys open` can print it offline. Two ids can derive the same two words (one pair in a few
thousand). When the desk met such a pair it gave the second conversation a third word, and a
responder left out of the first learned from their own conversation's longer name that some
other conversation, hidden from them, held the two-word one. Now a conversation is given an
id whose name is free when it is made, and named in the same transaction: every name is two
words, and no name depends on a conversation someone cannot see.
"""
from __future__ import annotations

import json
import random
import shutil
import sqlite3
from pathlib import Path

import pytest
from nacl.public import PrivateKey

from dropbox.cli.upgrade import apply_upgrades
from dropbox.config import Config
from dropbox.desk.conversations import page_for
from dropbox.storage import StorageError, Store
from keys.codename import desk_name
from stored import _stage, populate
from keys.envelope import Binding, Origin
from keys.items import ItemMeta

# Two ids that derive the same desk name (found by drawing ids until two did).
TWINS = ("47eb747383069c788ba08cb0051dc623", "97e3495ed1b7e81c5d24dc006bfe5ef5")
FIXTURE = Path(__file__).parent / "fixtures" / "v0.1.0"


def _store(data: Path) -> Store:
    config = Config.load(data)
    return Store(config.database, config.store_dir, config.tmp_dir)


def _create(store: Store, conversation_id: str, names: set[str]) -> None:
    recipients = tuple(r for r in store.team.members() if r.name in names)
    keys = [r.public_key for r in recipients]
    item = _stage(store, ItemMeta("message", "2026-12-01"), b"report", keys,
                  Binding(conversation_id, Origin.REPORTER, 0))
    store.conversations.create_conversation(conversation_id, PrivateKey.generate().public_key,
                                            recipients, [item], conversation_id)


def _names(data: Path) -> dict[str, str]:
    with sqlite3.connect(data / "dropbox.sqlite3") as db:
        return dict(db.execute("SELECT conversation_id, designation FROM desk_conversations"))


def test_the_twins_share_a_name():
    assert desk_name(TWINS[0]) == desk_name(TWINS[1])


def test_a_conversation_whose_name_another_holds_is_never_made(instance):
    store = _store(instance)
    store.desk.add_account("bahaa", b"x", b"x", "")
    _create(store, TWINS[0], {"alexandra", "mario"})  # leaves bahaa out
    with pytest.raises(StorageError):
        _create(store, TWINS[1], {"alexandra", "bahaa", "mario"})
    assert _names(instance) == {TWINS[0]: desk_name(TWINS[0])}
    assert not store.conversations.conversation_folder(TWINS[1]).exists()
    assert store.conversations.conversation(TWINS[1]) is None


def test_every_conversation_is_named_when_made_with_two_words_all_different(instance):
    store = _store(instance)
    ids = populate(store, 400, random.Random(3))
    names = _names(instance)
    assert set(names) == set(ids)
    assert all(names[cid] == desk_name(cid) and names[cid].count("-") == 1 for cid in ids)
    taken = set(names.values())
    for _ in range(2000):  # a new id never derives a name that is taken
        assert desk_name(store.conversations.new_conversation_id()) not in taken


def test_a_left_out_responder_sees_only_two_word_names_whatever_else_is_stored(instance):
    store = _store(instance)
    for name in ("alexandra", "bahaa"):
        store.desk.add_account(name, b"x", b"x", "")
    _create(store, TWINS[0], {"alexandra", "mario"})  # leaves bahaa out
    page_for(store, "alexandra", 1, 1000)  # the desk lists it, under its name
    try:
        _create(store, TWINS[1], {"alexandra", "bahaa", "mario"})
    except StorageError:
        pass  # refused: the reporter site never picks such an id (new_conversation_id)
    populate(store, 200, random.Random(4))
    page = page_for(store, "bahaa", 1, 1000)
    assert page.total and all(c.designation.count("-") == 1 for c in page.conversations)


def test_an_upgraded_v0_1_0_instance_has_every_conversation_named(tmp_path):
    data = tmp_path / "instance"
    shutil.copytree(FIXTURE / "instance", data)
    reports = json.loads((FIXTURE / "fixture.json").read_text())["reports"]
    assert _names(data) == {}  # v0.1.0 named a conversation when the desk first listed it
    apply_upgrades(data)
    assert _names(data) == {r["conversation"]: desk_name(r["conversation"]) for r in reports}
