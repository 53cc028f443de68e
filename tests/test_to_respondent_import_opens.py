"""A message to the person reported is stored only for an invitation that still opens: one
withdrawn, expired or of another conversation is refused at import with nothing stored, since
nobody could ever read it (docs/FORMAT.md, "The person reported"). Built on the vector
reply-good-to-respondent.bin, on an instance holding its conversation A."""
from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path

import pytest
from nacl.public import PublicKey
from nacl.signing import VerifyKey

from stored import _stage
from dropbox.config import Config
from dropbox.exports import import_replies
from dropbox.storage import Store
from keys.envelope import Binding, Origin
from keys.errors import FormatError
from keys.items import ItemMeta
from keys.responder import Responder

VECTORS = Path(__file__).resolve().parent / "vectors"
CONVERSATION = "a" * 16 + "0123456789abcdef"
INVITATION = "e" * 16 + "0123456789abcdef"


def _conversation(store: Store, keys: dict, conversation: str) -> None:
    team = [Responder(n, PublicKey(bytes.fromhex(keys[n]["public_key"])),
                      VerifyKey(bytes.fromhex(keys[n]["signing_key"]))) for n in ("alice", "bob")]
    known = {m.name for m in store.team.members()}
    for member in team:
        if member.name not in known:
            store.team.add(member)
    reporter = PublicKey(bytes.fromhex(keys["reporter"]["public_key"]))
    meta = ItemMeta("report", "2024-05-01", reporter_key=base64.b64encode(bytes(reporter)).decode())
    store.conversations.create_conversation(conversation[:1] * 64, reporter, tuple(team), [_stage(
        store, meta, b"{}", [m.public_key for m in team], Binding(conversation, Origin.REPORTER, 0))],
        conversation)


@pytest.fixture
def held(instance):
    """(store, config, database): conversation A and the vector's invitation to it, open."""
    keys = json.loads((VECTORS / "keys.json").read_text())
    config = Config.load(instance)
    store = Store(config.database, config.store_dir, config.tmp_dir)
    store.prepare()
    _conversation(store, keys, CONVERSATION)
    with sqlite3.connect(config.database) as db:
        db.execute("INSERT INTO invitations (id, conversation_id, lookup_id, public_key, codename_tag,"
                   " created, expires) VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (INVITATION, CONVERSATION, "1" * 64, bytes.fromhex(keys["respondent"]["public_key"]),
                    b"abc", "2024-05-01", "9999-12-31"))
    return store, config, keys


def _to_respondent(store: Store) -> list:
    return [i for i in store.conversations.items(CONVERSATION) if i.origin == Origin.TO_RESPONDENT]


@pytest.mark.parametrize("change", [
    "UPDATE invitations SET expires = '2000-01-01'",
    "UPDATE invitations SET withdrawn = '2024-05-02'",
])
def test_a_message_to_an_invitation_that_no_longer_opens_is_refused(held, change):
    store, config, _ = held
    with sqlite3.connect(config.database) as db:
        db.execute(change)
    with pytest.raises(FormatError, match="not have open"):
        import_replies(store, VECTORS / "reply-good-to-respondent.bin", config.settings)
    assert not _to_respondent(store)
    assert not list(store.tmp_dir.iterdir())


def test_a_message_to_another_conversation_s_invitation_is_refused(held):
    store, config, keys = held
    other = "b" * 16 + "0123456789abcdef"
    _conversation(store, keys, other)
    with sqlite3.connect(config.database) as db:
        db.execute("UPDATE invitations SET conversation_id = ?", (other,))
    with pytest.raises(FormatError, match="not have open"):
        import_replies(store, VECTORS / "reply-good-to-respondent.bin", config.settings)
    assert not _to_respondent(store)


def test_a_message_to_an_open_invitation_is_stored_once(held):
    store, config, _ = held
    import_replies(store, VECTORS / "reply-good-to-respondent.bin", config.settings)
    with pytest.raises(FormatError, match="imported already"):
        import_replies(store, VECTORS / "reply-good-to-respondent.bin", config.settings)
    assert len(_to_respondent(store)) == 1
