"""What the server refuses of a note or a reply's files, without reading them (FORMAT.md, "Notes"
and "Reply files' attachments"): each class of hostile reply file, under every name, and
nothing of it stored.

Reply files are built here with the project's primitives (keys.envelope, keys.bundle) as a
left-out or removed responder, or a careless writer, could build them; the import is the one
`dropbox import-replies` and the desk's upload call.
"""
from __future__ import annotations

import base64
import time

import pytest
from nacl.public import PrivateKey

from conftest import PASSPHRASE, TEAM
from dropbox.config import Config, Settings
from dropbox.exports import import_replies
from dropbox.storage import Store
from keys import envelope
from keys.bundle import BundleWriter, ConversationEntry, Head, ItemEntry, Proof
from keys.envelope import Binding, Origin
from keys.errors import FormatError
from keys.items import Answer, ItemMeta, Report
from keys.responder import ResponderKey
from stored import _stage

DAY = time.strftime("%Y-%m-%d")
REPORTER = PrivateKey.generate()


@pytest.fixture(scope="module")
def keys(airgap) -> dict[str, ResponderKey]:
    return {name: ResponderKey.load(airgap.key(name), PASSPHRASE) for name in TEAM}


@pytest.fixture
def store(instance):
    config = Config.load(instance)
    store = Store(config.database, config.store_dir, config.tmp_dir)
    store.prepare()
    return store


def new_conversation(store: Store, left_out: str = "bahaa") -> str:
    """A report to the team less `left_out`, stored as the reporter's pages store one."""
    recipients = tuple(r for r in store.team.members() if r.name != left_out)
    cid = store.conversations.new_conversation_id()
    meta = ItemMeta("report", DAY, reporter_key=base64.b64encode(bytes(REPORTER.public_key)).decode())
    report = Report(False, "", (Answer("when", "When?", "today"),), "a report").encode()
    store.conversations.create_conversation(
        cid * 2, REPORTER.public_key, recipients,
        [_stage(store, meta, report, [r.public_key for r in recipients], Binding(cid, Origin.REPORTER, 0))],
        cid)
    return cid


def readers_of(store: Store, cid: str, reporter: bool) -> list:
    conversation = store.conversations.conversation(cid)
    assert conversation is not None
    team = [r.public_key for r in store.team.current_recipients(conversation.recipients)]
    return [conversation.reporter_key, *team] if reporter else team


def note_file(tmp_path, cid: str, signer: ResponderKey, readers: list, claimed: str = "",
              binding: Binding | None = None, signed: str = "note") -> bytes:
    """A note as FORMAT.md says, or changed as asked: another name, readers or binding."""
    claimed = claimed or signer.name
    binding = binding or Binding(cid, Origin.NOTE, 1)
    sealed = envelope.seal(ItemMeta("note", DAY, claimed).encode() + b"our words", readers, binding)
    item_id = secrets_id()
    assert signer.signing_key is not None
    proof = Proof.sign(signer.signing_key, claimed, cid, item_id, 1, sealed, readers, signed)
    return write(tmp_path, cid, [(ItemEntry(item_id, len(sealed), Origin.NOTE, 1, proof), sealed)])


def secrets_id() -> str:
    import secrets
    return secrets.token_hex(16)


def write(tmp_path, cid: str, items: list[tuple[ItemEntry, bytes]]):
    path = tmp_path / f"{secrets_id()}.odbx"
    with open(path, "wb") as out:
        writer = BundleWriter(out, Head("reply", DAY))
        writer.conversation(ConversationEntry(cid, tuple(entry for entry, _ in items)))
        for _, sealed in items:
            writer.write(sealed)
        writer.close()
    return path


def refused(store: Store, path, cid: str, error: str, settings: Settings | None = None) -> None:
    before = [i.id for i in store.conversations.items(cid)]
    with pytest.raises(FormatError, match=error):
        import_replies(store, path, settings or Settings())
    assert [i.id for i in store.conversations.items(cid)] == before
    assert not list(store.tmp_dir.iterdir())


def test_a_note_by_a_reader_is_stored_as_a_note_and_moves_nothing_the_reporter_sees(store, keys, tmp_path):
    cid = new_conversation(store)
    before = store.conversations.conversation(cid)
    path = note_file(tmp_path, cid, keys["alexandra"], readers_of(store, cid, reporter=False))
    assert import_replies(store, path, Settings()).item.origin == Origin.NOTE
    [_, note] = store.conversations.items(cid)
    assert note.origin == Origin.NOTE
    assert [i.origin for i in store.conversations.items(cid, reporter_sees=True)] == [Origin.REPORTER]
    assert store.conversations.conversation(cid) == before  # its last activity too
    refused(store, path, cid, "imported already")


@pytest.mark.parametrize("claimed", TEAM)
def test_a_note_by_a_left_out_responder_is_refused_under_every_name(store, keys, tmp_path, claimed):
    cid = new_conversation(store, left_out="bahaa")
    path = note_file(tmp_path, cid, keys["bahaa"], readers_of(store, cid, reporter=False), claimed)
    refused(store, path, cid, "not a current recipient|signature of the note is not")


@pytest.mark.parametrize("claimed", TEAM)
def test_a_note_by_a_removed_responder_is_refused_under_every_name(store, keys, tmp_path, claimed):
    cid = new_conversation(store, left_out="bahaa")
    readers = readers_of(store, cid, reporter=False)  # written from an export before the removal
    store.team.remove("mario")
    path = note_file(tmp_path, cid, keys["mario"], readers, claimed)
    refused(store, path, cid, "not a current recipient|signature of the note is not|not sealed")


def test_a_note_sealed_to_the_reporter_too_is_refused(store, keys, tmp_path):
    cid = new_conversation(store)
    path = note_file(tmp_path, cid, keys["alexandra"], readers_of(store, cid, reporter=True))
    refused(store, path, cid, "not sealed to this conversation's responders")


@pytest.mark.parametrize("where", ["another conversation", "a reply's place", "a later place"])
def test_a_note_bound_elsewhere_is_refused(store, keys, tmp_path, where):
    cid, other = new_conversation(store), new_conversation(store)
    binding = {"another conversation": Binding(other, Origin.NOTE, 1),
               "a reply's place": Binding(cid, Origin.TEAM, 1),
               "a later place": Binding(cid, Origin.NOTE, 2)}[where]
    path = note_file(tmp_path, cid, keys["alexandra"], readers_of(store, cid, reporter=False),
                     binding=binding)
    refused(store, path, cid, "bound to another conversation or place")


def test_a_reply_signature_does_not_pass_for_a_note(store, keys, tmp_path):
    cid = new_conversation(store)
    path = note_file(tmp_path, cid, keys["alexandra"], readers_of(store, cid, reporter=False),
                     signed="reply")
    refused(store, path, cid, "signature of the note is not")


# Files sent with a reply.

def reply_items(cid: str, signer: ResponderKey, readers: list, files: list[bytes],
                file_signer: ResponderKey | None = None, tie: str = "", origin: Origin = Origin.TEAM,
                signed: str = "reply-file") -> list[tuple[ItemEntry, bytes]]:
    """A reply and its files as `keys reply --file` writes them, or changed as asked."""
    assert signer.signing_key is not None
    binding = Binding(cid, Origin.TEAM, 1)
    sealed = envelope.seal(ItemMeta("reply", DAY, signer.name).encode() + b"see the files", readers,
                           binding)
    reply_id = secrets_id()
    items = [(ItemEntry(reply_id, len(sealed), Origin.TEAM, 1, Proof.sign(
        signer.signing_key, signer.name, cid, reply_id, 1, sealed, readers)), sealed)]
    file_signer = file_signer or signer
    assert file_signer.signing_key is not None
    for data in files:
        file_sealed = envelope.seal(ItemMeta("file", DAY, "a.pdf").encode() + data, readers, binding)
        file_id = secrets_id()
        proof = Proof.sign(file_signer.signing_key, file_signer.name, cid, file_id, 1, file_sealed,
                           readers, signed, tie or reply_id)
        items.append((ItemEntry(file_id, len(file_sealed), origin, 1, proof, tie or reply_id),
                      file_sealed))
    return items


def test_a_reply_with_its_files_is_stored_whole(store, keys, tmp_path):
    cid = new_conversation(store)
    items = reply_items(cid, keys["alexandra"], readers_of(store, cid, reporter=True), [b"1", b"2"])
    reply = import_replies(store, write(tmp_path, cid, items), Settings())
    assert len(reply.attachments) == 2
    assert len(store.conversations.items(cid, reporter_sees=True)) == 4


def test_a_file_without_its_reply_is_refused(store, keys, tmp_path):
    cid = new_conversation(store)
    items = reply_items(cid, keys["alexandra"], readers_of(store, cid, reporter=True), [b"1"])
    refused(store, write(tmp_path, cid, items[1:]), cid, "come after their reply")


def test_a_file_tied_to_another_reply_is_refused(store, keys, tmp_path):
    cid = new_conversation(store)
    items = reply_items(cid, keys["alexandra"], readers_of(store, cid, reporter=True), [b"1"],
                        tie=secrets_id())
    refused(store, write(tmp_path, cid, items), cid, "tied to another reply")


def test_a_file_claiming_the_reporters_origin_is_refused(store, keys, tmp_path):
    cid = new_conversation(store)
    items = reply_items(cid, keys["alexandra"], readers_of(store, cid, reporter=True), [b"1"])
    entry, sealed = items[1]
    as_reporter = ItemEntry(entry.id, entry.size, Origin.REPORTER, entry.position)
    refused(store, write(tmp_path, cid, [items[0], (as_reporter, sealed)]), cid, "exactly one reply")


def test_a_file_signed_by_someone_else_is_refused(store, keys, tmp_path):
    cid = new_conversation(store, left_out="bahaa")
    items = reply_items(cid, keys["alexandra"], readers_of(store, cid, reporter=True), [b"1"],
                        file_signer=keys["bahaa"])
    refused(store, write(tmp_path, cid, items), cid, "not by the reply's author")


def test_a_reply_signature_does_not_pass_for_a_file(store, keys, tmp_path):
    cid = new_conversation(store)
    items = reply_items(cid, keys["alexandra"], readers_of(store, cid, reporter=True), [b"1"],
                        signed="reply")
    refused(store, write(tmp_path, cid, items), cid, "signature of a file sent with the reply")


def test_files_over_the_settings_limits_are_refused(store, keys, tmp_path):
    cid = new_conversation(store)
    readers = readers_of(store, cid, reporter=True)
    one = Settings(reply_file_max_mib=1, reply_files_max_mib=2)
    big = write(tmp_path, cid, reply_items(cid, keys["alexandra"], readers, [b"x" * (1 << 20)]))
    refused(store, big, cid, "larger than this server takes", one)
    many = write(tmp_path, cid, reply_items(cid, keys["alexandra"], readers, [b"x" * 900_000] * 3))
    refused(store, many, cid, "larger together than this server takes", one)
