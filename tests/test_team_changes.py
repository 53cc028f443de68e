"""Team changes reach the crypto: a removed key gets nothing new, a replaced key gets what is new.

The reporter's choice of recipients is kept by name; every new item of a conversation is
sealed to the keys those names have on the team today (docs/FORMAT.md, "Recipients").
"""
from __future__ import annotations

import io
import sqlite3

import pytest

from keys import envelope
from keys.responder import ResponderKey

from conftest import PASSPHRASE, dropbox, opened_conversations
from support.commands import invoke
from support.reporter import log_in, new_report


def newest_header(data) -> envelope.Header:
    with sqlite3.connect(data / "dropbox.sqlite3") as db:
        [(header,)] = db.execute("SELECT header FROM items ORDER BY seq DESC LIMIT 1").fetchall()
    return envelope.read_header(io.BytesIO(header))


def follow_up(server, codename: str, text: str) -> None:
    client, page = log_in(server, codename)
    page = client.submit(page, "Send", fill={"message": text})
    assert page.status == 200 and "Sent" in page.text


def opens(header: envelope.Header, key: ResponderKey) -> bool:
    try:
        envelope.unwrap_file_key(header, key.secret_key)
    except envelope.NotARecipient:
        return False
    return True


def test_removed_responder_receives_nothing_new_in_old_conversations(server, airgap):
    codename, _ = new_report(server, "to all three")
    bahaa = ResponderKey.load(airgap.key("bahaa"), PASSPHRASE)
    assert opens(newest_header(server.data), bahaa)
    dropbox("team", "remove", "bahaa", "--data", server.data)
    follow_up(server, codename, "after bahaa left")
    header = newest_header(server.data)
    assert len(header.stanzas) == 2 and not opens(header, bahaa)
    assert header.binding.position == 1


@pytest.mark.slow
def test_replaced_key_receives_new_items_and_the_old_key_does_not(server, airgap, tmp_path):
    codename, _ = new_report(server, "to all three")
    dropbox("keys", "new", "mario", "--out", tmp_path, "--passphrase-file", airgap.passphrase_file)
    said = dropbox("team", "replace", "mario", tmp_path / "mario.pub", "--data", server.data)
    assert "replaced mario's key" in said.out
    follow_up(server, codename, "after mario's key was replaced")
    header = newest_header(server.data)
    old, new = (ResponderKey.load(path, PASSPHRASE) for path in (airgap.key("mario"), tmp_path / "mario.key"))
    assert opens(header, new) and not opens(header, old)
    # The new key is a recipient of the conversation, by name: not "excluded".
    dropbox("export", "--all", "--data", server.data, "--out", tmp_path / "export")
    said = dropbox("keys", "open", tmp_path / "export", "--key", tmp_path / "mario.key", "--out",
                   tmp_path / "out", "--passphrase-file", airgap.passphrase_file, check=False)
    assert "in 1 conversation(s); excluded from 0" in said.out
    assert "after mario's key was replaced" in "".join(
        p.read_text() for p in (tmp_path / "out").rglob("*-message-*.txt"))
    # What was sealed to the old key stays readable only by it, and says so.
    assert "not among the envelope's recipients" in said.err


@pytest.mark.parametrize("command", ["add", "replace"])
def test_team_refuses_a_key_file_of_another_name(instance, airgap, command):
    said = invoke("team", command, "mario", airgap.pub("bahaa"), "--data", instance, check=False)
    assert said.code == 1 and "is the key of 'bahaa'" in said.err


def test_two_submissions_cannot_take_the_same_place(server, airgap):
    """A follow-up bound to a place another submission took meanwhile is not stored."""
    from dropbox.storage import StagedItem, Store, StorageError
    codename, _ = new_report(server, "first")
    with sqlite3.connect(server.data / "dropbox.sqlite3") as db:
        [(cid,)] = db.execute("SELECT id FROM conversations").fetchall()
    store = Store(server.data / "dropbox.sqlite3", server.data / "store", server.data / "tmp")
    follow_up(server, codename, "takes place 1")
    late = server.data / "tmp" / "late.part"
    late.write_bytes(b"ciphertext")
    with pytest.raises(StorageError, match="came first"):
        store.conversations.add_items(cid, "reporter", [StagedItem("f" * 32, b"header", late, 10)],
                                      first_position=1)
    assert store.conversations.reporter_items(cid) == 2
    assert not (server.data / "store" / cid / ("f" * 32)).exists()


@pytest.mark.slow
def test_a_reply_written_before_a_key_was_replaced_is_refused_at_import(server, airgap, tmp_path):
    """The reply is sealed to mario's old key (same count of stanzas): the server checks the
    keys its author signed against the conversation's readers today, not their number."""
    new_report(server, "to all three")
    dropbox("export", "--all", "--data", server.data, "--out", tmp_path / "export")
    airgap.open(tmp_path / "export", "alexandra", tmp_path / "out")
    [conversation] = list(opened_conversations(tmp_path / "out"))
    airgap.reply(tmp_path / "export", conversation, "alexandra", "Written before the change.",
                 tmp_path / "reply.odbx")
    dropbox("keys", "new", "mario", "--out", tmp_path / "new", "--passphrase-file", airgap.passphrase_file)
    dropbox("team", "replace", "mario", tmp_path / "new" / "mario.pub", "--data", server.data)
    said = dropbox("import-replies", tmp_path / "reply.odbx", "--data", server.data, check=False)
    assert said.code != 0 and "a key was replaced" in said.err + said.out
    with sqlite3.connect(server.data / "dropbox.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM items WHERE origin = 'team'").fetchone() == (0,)
    # Written again from a fresh export, it goes to mario's new key and is taken.
    dropbox("export", "--all", "--data", server.data, "--out", tmp_path / "fresh")
    trusted = tmp_path / "trusted"  # alexandra pins mario's new key
    dropbox("keys", "trust", airgap.pub("bahaa"), tmp_path / "new" / "mario.pub", "--trusted", trusted)
    (tmp_path / "after.txt").write_text("Written after.")
    dropbox("keys", "reply", tmp_path / "fresh", conversation, "--key", airgap.key("alexandra"),
            "--message-file", tmp_path / "after.txt", "--out", tmp_path / "r2.odbx",
            "--trusted", trusted, "--passphrase-file", airgap.passphrase_file)
    assert "stored 1" in dropbox("import-replies", tmp_path / "r2.odbx", "--data", server.data).out


def test_the_team_stops_at_the_most_a_reply_can_be_sealed_to(tmp_path):
    """A reply is sealed to the reporter and every reader, in an envelope of at most 255
    stanzas: a 255th responder would make a conversation naming them all unanswerable."""
    from nacl.public import PrivateKey
    from nacl.signing import SigningKey
    from dropbox.storage import Store
    from dropbox.storage.records import StorageError
    from dropbox.storage.team import MAX_TEAM
    from keys.responder import Responder
    dropbox("init", "--data", tmp_path / "data", "--community", "Test community")
    data = tmp_path / "data"
    store = Store(data / "dropbox.sqlite3", data / "store", data / "tmp")
    team = [Responder(f"r{n}", PrivateKey.generate().public_key, SigningKey.generate().verify_key)
            for n in range(MAX_TEAM + 1)]
    for responder in team[:MAX_TEAM]:
        store.team.add(responder)
    with pytest.raises(StorageError, match="remove one first"):
        store.team.add(team[MAX_TEAM])
    assert len(store.team.members()) == MAX_TEAM == envelope.MAX_RECIPIENTS - 1
