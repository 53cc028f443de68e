"""Reading a bundle into folders and writing a reply, on the air-gapped machine."""
from __future__ import annotations

import io
import os

import pytest
from nacl.public import PrivateKey

from keys import envelope
from keys.bundle import read_reply_file
from keys.errors import FormatError
from keys.items import split_item
from keys.opening import open_bundle
from keys.replying import write_note, write_reply
from keys.responder import ResponderKey
from keys.safe_text import sanitise_name

from keys_support import (DATE, BundleWriterV1, Conversation, all_files, flip, folder_of, item, leftovers,
                          new_id, report_item, write_export)

ALICE, BOB, CAROL = (ResponderKey.generate(n) for n in ("alice", "bob", "carol"))
REPORTER = PrivateKey.generate()
MARKER = b"MARKER-of-the-item-that-fails"


@pytest.fixture(scope="module")
def conversations():
    """Conversation 1 goes to all three; conversation 2 was made with carol recused."""
    first = Conversation([ALICE, BOB, CAROL], [
        report_item(REPORTER),
        item("message", b"Someone kept interrupting me."),
        item("file", b"%PDF-1.7 evidence", "../../etc/passwd"),
        item("file", b"second notes", "notes.txt"),
        item("file", b"third notes", "notes.txt"),
        item("reply", b"Thank you, we are on it.", "bob"),
    ], REPORTER)
    recused = Conversation([ALICE, BOB], [report_item(REPORTER), item("message", b"About carol.")],
                           REPORTER)
    return first, recused


@pytest.fixture(scope="module")
def export(conversations, tmp_path_factory):
    return write_export(tmp_path_factory.mktemp("export") / "export.odbx", list(conversations))


@pytest.fixture(scope="module")
def trusted(tmp_path_factory):
    """alice's pinned team keys, as `keys trust` leaves them."""
    folder = tmp_path_factory.mktemp("trusted")
    for key in (ALICE, BOB, CAROL):
        (folder / f"{key.name}.pub").write_text(key.responder.to_pub_text())
    return folder


def ids(report) -> list[str]:
    return sorted(c.id for c in report.conversations)


def test_each_conversation_opens_into_its_own_folder(export, conversations, tmp_path):
    first, recused = conversations
    report = open_bundle(export, ALICE, tmp_path)
    assert (report.items, report.excluded, report.failures) == (8, 0, [])
    assert ids(report) == sorted([first.id, recused.id])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["index.txt", first.id[:2], recused.id[:2]])
    files = all_files(folder_of(tmp_path, first.id))
    assert files[f"{DATE}-message-{first.item_ids[1][:8]}.txt"] == b"Someone kept interrupting me."
    assert files[f"{DATE}-reply-{first.item_ids[5][:8]}.txt"] == b"Thank you, we are on it."
    assert b"It happened at the meetup." in files["report.txt"]
    assert files["attachments/passwd"] == b"%PDF-1.7 evidence"
    assert all_files(folder_of(tmp_path, recused.id))[f"{DATE}-message-{recused.item_ids[1][:8]}.txt"] \
        == b"About carol."


def test_attachments_keep_their_sanitised_names_and_never_overwrite_each_other(export, conversations, tmp_path):
    first, _ = conversations
    open_bundle(export, ALICE, tmp_path)
    attachments = folder_of(tmp_path, first.id) / "attachments"
    assert sorted(p.name for p in attachments.iterdir()) == ["notes (2).txt", "notes.txt", "passwd"]
    assert {(attachments / "notes.txt").read_bytes(), (attachments / "notes (2).txt").read_bytes()} \
        == {b"second notes", b"third notes"}
    assert not (tmp_path.parent / "etc").exists()


def test_index_lists_recipients_and_every_item_with_the_reply_author(export, conversations, tmp_path):
    first, _ = conversations
    open_bundle(export, ALICE, tmp_path, {"bob": BOB.responder})
    index = (folder_of(tmp_path, first.id) / "index.txt").read_text().splitlines()
    assert index[:3] == [f"conversation {first.id}", "designation: -", "recipients: alice, bob, carol"]
    assert f"{DATE}  message  {DATE}-message-{first.item_ids[1][:8]}.txt" in index
    assert f"{DATE}  file     attachments/passwd" in index
    assert f"{DATE}  reply    {DATE}-reply-{first.item_ids[5][:8]}.txt (from bob) " \
        "[signature by bob verified]" in index
    assert len(index) == 4 + 6


def test_recused_responder_gets_no_folder_for_that_conversation(export, conversations, tmp_path):
    first, recused = conversations
    report = open_bundle(export, CAROL, tmp_path)
    assert (report.items, report.excluded, ids(report)) == (6, 1, [first.id])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["index.txt", first.id[:2]])
    assert report.summary("carol") == "carol: opened 6 item(s) in 1 conversation(s); " \
                                      "excluded from 1 conversation(s)"


def test_recused_responder_cannot_open_report_even_if_the_manifest_lists_them(tmp_path):
    # The manifest is not what protects a report: the envelope is sealed to alice and bob only.
    lying = Conversation([ALICE, BOB, CAROL], [item("message", MARKER)], REPORTER,
                         sealed_to=[ALICE.secret_key.public_key, BOB.secret_key.public_key])
    bundle = write_export(tmp_path / "lying.odbx", [lying])
    report = open_bundle(bundle, CAROL, tmp_path / "out")
    assert report.items == 0
    assert len(report.failures) == 1 and "not among the envelope's recipients" in report.failures[0]
    assert leftovers(tmp_path / "out", MARKER) == []
    assert "1 item(s) failed to verify and were not written" in report.summary("carol")


def test_key_on_no_recipient_list_opens_nothing(export, tmp_path):
    report = open_bundle(export, ResponderKey.generate("dave"), tmp_path)
    assert (report.items, report.excluded, report.conversations) == (0, 2, [])
    assert [p.name for p in tmp_path.iterdir()] == []


def assert_bundle_fails(words: str, *args) -> None:
    """A damaged bundle is reported as failed, with a message saying how."""
    report = open_bundle(*args)
    assert report.failures and words in report.failures[-1], report.failures


def marker_bundle(tmp_path, damage=None):
    """A bundle whose last item is 200 KB of MARKER, so several chunks verify before any damage."""
    before = Conversation([ALICE], [item("message", b"an earlier report")], REPORTER)
    failing = Conversation([ALICE], [item("message", b"ok"),
                                     item("file", MARKER * 7000, "big.txt")], REPORTER)
    path = write_export(tmp_path / "bundle.odbx", [before, failing], damage)
    return path, before, failing


def test_truncated_bundle_is_rejected_and_nothing_of_the_failing_item_is_written(tmp_path):
    path, before, _ = marker_bundle(tmp_path)
    data = path.read_bytes()
    # Cut 100 kB into the last envelope, and 8 bytes into it (the final checksum is 32 bytes).
    # Cut 100 kB into the last envelope, and 43 bytes into its end (the end record and checksum
    # take 77 bytes).
    for cut in (len(data) - 100_000, len(data) - 120):
        out = tmp_path / f"out-{cut}"
        path.write_bytes(data[:cut])
        assert_bundle_fails("truncated", path, ALICE, out)
        assert leftovers(out, MARKER) == []
        # Items before the damage verified on their own and stay readable.
        assert b"an earlier report" in all_files(folder_of(out, before.id)).values()


def test_bundle_missing_part_of_its_final_checksum_is_rejected(tmp_path):
    path, _, _ = marker_bundle(tmp_path)
    path.write_bytes(path.read_bytes()[:-1])
    assert_bundle_fails("truncated", path, ALICE, tmp_path / "out")
    assert [p for p in (tmp_path / "out").rglob("*") if ".partial" in p.name] == []


def test_bundle_truncated_inside_its_only_item_writes_no_file(tmp_path):
    only = Conversation([ALICE], [item("message", MARKER * 20_000)], REPORTER)
    path = write_export(tmp_path / "bundle.odbx", [only])
    path.write_bytes(path.read_bytes()[:-70_000])
    assert_bundle_fails("truncated", path, ALICE, tmp_path / "out")
    assert [name for name in all_files(tmp_path / "out") if "message" in name] == []


def test_tampered_bundle_is_rejected_and_nothing_of_the_tampered_item_is_written(tmp_path):
    path, before, _ = marker_bundle(tmp_path)
    data = path.read_bytes()
    path.write_bytes(flip(data, len(data) - 40_000))   # inside the last item's final chunks
    assert_bundle_fails("damaged", path, ALICE, tmp_path / "out")
    assert leftovers(tmp_path / "out", MARKER) == []


def test_damaged_item_in_an_intact_bundle_is_skipped_and_reported(tmp_path):
    # A server holding a damaged envelope still writes a consistent bundle around it.
    damage = lambda blob, n: flip(blob, len(blob) - 30_000) if n == 2 else blob  # noqa: E731
    path, before, failing = marker_bundle(tmp_path, damage)
    report = open_bundle(path, ALICE, tmp_path / "out")
    assert report.items == 2
    assert report.failures == [f"{failing.id}/{failing.item_ids[1]}: "
                               "envelope payload is damaged or out of order"]
    assert leftovers(tmp_path / "out", MARKER) == []
    index = (folder_of(tmp_path / "out", failing.id) / "index.txt").read_text()
    assert "big.txt" not in index


def test_record_with_a_path_traversal_id_is_rejected_and_nothing_is_written(tmp_path):
    evil = Conversation([ALICE], [item("message", MARKER)], REPORTER, id="../" + "x" * 16)
    path = write_export(tmp_path / "evil.odbx", [evil])
    report = open_bundle(path, ALICE, tmp_path / "out")
    assert report.items == 0 and "invalid id" in report.failures[0]
    assert list((tmp_path / "out").iterdir()) == []
    assert leftovers(tmp_path, MARKER) == []


def test_item_date_cannot_place_a_file_outside_the_output_folder(tmp_path):
    crafted = Conversation([ALICE], [item("message", MARKER, date="../../escaped")], REPORTER)
    path = write_export(tmp_path / "crafted.odbx", [crafted])
    out = tmp_path / "a" / "out"
    out.mkdir(parents=True)
    try:
        open_bundle(path, ALICE, out)
    except FormatError:
        pass
    outside = [name for name, data in all_files(tmp_path).items()
               if not name.startswith("a/out/") and MARKER in data]
    assert outside == []


def test_attachment_with_a_long_non_latin_name_is_opened(tmp_path):
    conv = Conversation([ALICE], [item("file", b"scan", "報告書" * 100 + ".pdf")], REPORTER)
    path = write_export(tmp_path / "bundle.odbx", [conv])
    report = open_bundle(path, ALICE, tmp_path / "out")
    assert report.items == 1


def test_item_with_non_text_metadata_is_refused_as_unreadable(tmp_path):
    meta = b'{"date": "2024-05-01", "kind": "file", "name": 7}'
    conv = Conversation([ALICE], [len(meta).to_bytes(4, "big") + meta + b"body"], REPORTER)
    path = write_export(tmp_path / "bundle.odbx", [conv])
    report = open_bundle(path, ALICE, tmp_path / "out")
    assert report.items == 0 and "unreadable" in report.failures[0]


@pytest.mark.parametrize("given, expected", [
    ("report.pdf", "report.pdf"),
    ("../../etc/passwd", "passwd"),
    ("..\\..\\Windows\\boot.ini", "boot.ini"),
    ("/absolute/path.txt", "path.txt"),
    ("line\nbreak\r.txt", "linebreak.txt"),
    ("bell\x07and\x00nul\x1b[31m.txt", "bellandnul[31m.txt"),
    ("evil\u202etxt.exe", "eviltxt.exe"),            # right-to-left override
    ("zero\u200bwidth.txt", "zerowidth.txt"),
    (".bashrc", "bashrc"),
    ("..", "attachment"),
    ("...", "attachment"),
    ("", "attachment"),
    ("   ", "attachment"),
    ("\x00\x01", "attachment"),
    ("folder/", "attachment"),
    ("Cafe\u0301.txt", "Café.txt"),                  # NFC
])
def test_sanitise_name(given, expected):
    assert sanitise_name(given) == expected


def test_sanitise_name_shortens_very_long_names_and_keeps_the_extension():
    long = sanitise_name("a" * 1000 + ".pdf")
    assert long.endswith(".pdf") and len(long.encode()) <= 200
    assert len(sanitise_name("b" * 1000).encode()) <= 200
    assert len(sanitise_name("c" * 1000 + "." + "d" * 50).encode()) <= 200


def open_reply(path, key: PrivateKey) -> tuple:
    with open(path, "rb") as stream:
        reply = read_reply_file(stream)
    meta, body = split_item(envelope.open_envelope(io.BytesIO(reply.envelope), key))
    return reply, meta, b"".join(body)


def test_reply_can_be_read_by_the_reporter_and_every_listed_responder(export, conversations, trusted, tmp_path):
    first, _ = conversations
    item_id = write_reply(export, first.id, ALICE, "We talked to them. Thank you.",
                          tmp_path / "reply.odbx", trusted)
    for reader in (REPORTER, ALICE.secret_key, BOB.secret_key, CAROL.secret_key):
        reply, meta, body = open_reply(tmp_path / "reply.odbx", reader)
        assert (reply.head.kind, reply.conversation_id, reply.item.id) == ("reply", first.id, item_id)
        assert (meta.kind, meta.name, reply.item.proof.author) == ("reply", "alice", "alice")
        assert body == b"We talked to them. Thank you."
    with pytest.raises(envelope.NotARecipient):
        open_reply(tmp_path / "reply.odbx", PrivateKey.generate())
    assert [p.name for p in tmp_path.iterdir()] == ["reply.odbx"]   # no temporary file left


def test_reply_is_signed_over_its_place_and_envelope(export, conversations, trusted, tmp_path):
    first, _ = conversations
    item_id = write_reply(export, first.id, ALICE, "Signed.", tmp_path / "reply.odbx", trusted)
    with open(tmp_path / "reply.odbx", "rb") as stream:
        reply = read_reply_file(stream)
    from keys.bundle import envelope_digest
    digest = envelope_digest(reply.envelope)
    key = ALICE.responder.signing_key
    assert reply.item.proof.verify(key, first.id, item_id, reply.item.position, digest)
    assert reply.item.position == 5  # the reporter's five items came before it
    assert not reply.item.proof.verify(key, "f" * 32, item_id, reply.item.position, digest)
    assert not reply.item.proof.verify(key, first.id, item_id, reply.item.position + 1, digest)
    assert not reply.item.proof.verify(BOB.responder.signing_key, first.id, item_id,
                                       reply.item.position, digest)


def test_recused_responder_cannot_write_a_reply(export, conversations, trusted, tmp_path):
    _, recused = conversations
    with pytest.raises(FormatError, match="carol is not a recipient"):
        write_reply(export, recused.id, CAROL, "Let me see.", tmp_path / "reply.odbx", trusted)
    assert list(tmp_path.iterdir()) == []


def test_reply_to_an_unknown_conversation_is_refused(export, trusted, tmp_path):
    with pytest.raises(FormatError, match="is not in this bundle"):
        write_reply(export, "f" * 32, ALICE, "Hello?", tmp_path / "reply.odbx", trusted)
    assert list(tmp_path.iterdir()) == []


def test_empty_reply_is_refused(export, conversations, trusted, tmp_path):
    first, _ = conversations
    with pytest.raises(FormatError, match="the reply is empty"):
        write_reply(export, first.id, ALICE, " \n\t", tmp_path / "reply.odbx", trusted)


def test_reply_needs_the_reporter_key_in_the_bundle(trusted, tmp_path):
    keyless = Conversation([ALICE], [item("message", b"old export")])
    path = write_export(tmp_path / "old.odbx", [keyless])
    with pytest.raises(FormatError, match="export it again"):
        write_reply(path, keyless.id, ALICE, "Hi", tmp_path / "reply.odbx", trusted)


def test_reply_seals_only_to_pinned_team_keys(export, conversations, tmp_path):
    """A bundle naming a key alice never pinned (a server adding its own) gets no reply."""
    first, _ = conversations
    pinned = tmp_path / "pinned"
    pinned.mkdir()
    (pinned / "bob.pub").write_text(BOB.responder.to_pub_text())
    with pytest.raises(FormatError, match="not pinned for carol"):
        write_reply(export, first.id, ALICE, "Hi", tmp_path / "reply.odbx", pinned)
    impostor = ResponderKey.generate("carol")
    (pinned / "carol.pub").write_text(impostor.responder.to_pub_text())
    with pytest.raises(FormatError, match="not pinned for carol"):
        write_reply(export, first.id, ALICE, "Hi", tmp_path / "reply.odbx", pinned)
    assert not (tmp_path / "reply.odbx").exists()


def test_a_note_is_sealed_to_the_readers_only_and_written_only_to_pinned_keys(export, conversations,
                                                                             trusted, tmp_path):
    """`keys note`: every recipient can open it, the reporter's key cannot; a recipient not
    pinned, or a writer left out, gets no note written."""
    from keys.bundle import read_reply_file
    _, recused = conversations
    write_note(export, recused.id, ALICE, "Bob, can you take it?", tmp_path / "note.odbx", trusted)
    with open(tmp_path / "note.odbx", "rb") as stream:
        note = read_reply_file(stream)
    assert note.item.origin == "note" and note.item.proof.author == "alice"
    for reader in (ALICE, BOB):
        meta, body = split_item(envelope.open_envelope(io.BytesIO(note.envelope), reader.secret_key))
        assert (meta.kind, meta.name, b"".join(body)) == ("note", "alice", b"Bob, can you take it?")
    for outsider in (REPORTER, CAROL.secret_key):
        with pytest.raises(FormatError, match="not among"):
            list(envelope.open_envelope(io.BytesIO(note.envelope), outsider))
    with pytest.raises(FormatError, match="not a recipient"):
        write_note(export, recused.id, CAROL, "let me in", tmp_path / "carol.odbx", trusted)
    pinned = tmp_path / "pinned"
    pinned.mkdir()
    with pytest.raises(FormatError, match="not pinned for bob"):
        write_note(export, recused.id, ALICE, "Hi", tmp_path / "unpinned.odbx", pinned)
    assert not (tmp_path / "carol.odbx").exists() and not (tmp_path / "unpinned.odbx").exists()


def test_reply_files_are_sealed_with_their_reply_and_a_missing_one_writes_nothing(export, conversations,
                                                                                 trusted, tmp_path):
    from keys.bundle import read_reply_file
    first, _ = conversations
    (tmp_path / "policy.pdf").write_bytes(b"%PDF-1.7 policy")
    with pytest.raises(FormatError, match="cannot read the file"):
        write_reply(export, first.id, ALICE, "Hi", tmp_path / "reply.odbx", trusted,
                    [tmp_path / "policy.pdf", tmp_path / "missing.txt"])
    assert not (tmp_path / "reply.odbx").exists()
    reply_id = write_reply(export, first.id, ALICE, "Hi", tmp_path / "reply.odbx", trusted,
                           [tmp_path / "policy.pdf"])
    with open(tmp_path / "reply.odbx", "rb") as stream:
        reply = read_reply_file(stream, 1 << 20, 1 << 20)
    [(entry, sealed)] = reply.attachments
    assert (entry.origin, entry.attached_to, entry.position) == ("team", reply_id, reply.item.position)
    meta, body = split_item(envelope.open_envelope(io.BytesIO(sealed), REPORTER))
    assert (meta.kind, meta.name, b"".join(body)) == ("file", "policy.pdf", b"%PDF-1.7 policy")


def test_reply_is_refused_when_the_bundle_swaps_the_reporter_key(trusted, tmp_path):
    real = PrivateKey.generate()
    report = report_item(real)
    swapped = Conversation([ALICE], [report], PrivateKey.generate())  # the server's own key
    path = write_export(tmp_path / "swapped.odbx", [swapped])
    with pytest.raises(FormatError, match="reporter key other than the one sealed"):
        write_reply(path, swapped.id, ALICE, "Hi", tmp_path / "reply.odbx", trusted)
    result = open_bundle(path, ALICE, tmp_path / "out")
    assert "reporter key other than the one sealed" in result.failures[0]


def test_key_without_a_signing_key_cannot_reply(export, conversations, trusted, tmp_path):
    first, _ = conversations
    old = ResponderKey(ALICE.name, ALICE.secret_key)  # as a v0.1.0 key file opens
    with pytest.raises(FormatError, match="keys upgrade-key"):
        write_reply(export, first.id, old, "Hi", tmp_path / "reply.odbx", trusted)


def test_reply_from_a_damaged_bundle_is_refused(export, conversations, trusted, tmp_path):
    first, _ = conversations
    damaged = tmp_path / "damaged.odbx"
    data = export.read_bytes()
    damaged.write_bytes(flip(data, len(data) - 1))
    with pytest.raises(FormatError, match="damaged"):
        write_reply(damaged, first.id, ALICE, "Hi", tmp_path / "reply.odbx", trusted)
    damaged.write_bytes(data[:-1])
    with pytest.raises(FormatError, match="truncated"):
        write_reply(damaged, first.id, ALICE, "Hi", tmp_path / "reply.odbx", trusted)
    assert not (tmp_path / "reply.odbx").exists()


def test_opening_twice_into_the_same_folder_writes_nothing_twice(export, conversations, tmp_path):
    first, _ = conversations
    open_bundle(export, ALICE, tmp_path)
    again = open_bundle(export, ALICE, tmp_path)
    assert (again.items, again.failures) == (0, [])
    assert all("opened before" in w for w in again.warnings) and len(again.warnings) == 8
    names = os.listdir(folder_of(tmp_path, first.id))
    assert f"{DATE}-message-{first.item_ids[1][:8]} (2).txt" not in names


def test_reply_position_is_the_number_of_reporter_items_in_the_bundle(trusted, tmp_path):
    """FORMAT.md, "Reply file": POSITION counts the reporter's items, so one the server
    withheld (place 1 here) is not answered as if it had been read."""
    from keys.bundle import BundleWriter, ConversationEntry, Head
    from keys_support import sealed_items
    conv = Conversation([ALICE, BOB], [report_item(REPORTER), item("message", b"withheld"),
                                       item("message", b"shown")], REPORTER)
    report, _, shown = sealed_items(conv)
    with open(tmp_path / "gap.odbx", "wb") as out:
        writer = BundleWriter(out, Head("export", DATE))
        writer.conversation(ConversationEntry(conv.id, (report[0], shown[0]),
                                              (ALICE.responder, BOB.responder), REPORTER.public_key))
        writer.write(report[1])
        writer.write(shown[1])
        writer.close(0)
    write_reply(tmp_path / "gap.odbx", conv.id, ALICE, "Two items read.", tmp_path / "r.odbx", trusted)
    reply, _, _ = open_reply(tmp_path / "r.odbx", REPORTER)
    assert reply.item.position == 2


def test_a_reply_of_4_mib_of_text_is_written_and_read_back_and_more_is_refused(
        export, conversations, trusted, tmp_path):
    """The Item section allows 4 MiB of text in a reply; its padded envelope is larger."""
    first, _ = conversations
    text = "x" * (4 << 20)
    write_reply(export, first.id, ALICE, text, tmp_path / "reply.odbx", trusted)
    _, meta, body = open_reply(tmp_path / "reply.odbx", REPORTER)
    assert len(body) == 4 << 20
    with pytest.raises(FormatError, match="longer than 4 MiB"):
        write_reply(export, first.id, ALICE, text + "x", tmp_path / "big.odbx", trusted)
    assert not (tmp_path / "big.odbx").exists()


def test_reply_is_written_only_from_an_export(export, conversations, trusted, tmp_path):
    first, _ = conversations
    write_reply(export, first.id, ALICE, "First.", tmp_path / "reply.odbx", trusted)
    with pytest.raises(FormatError, match="reply file, not an export"):
        write_reply(tmp_path / "reply.odbx", first.id, ALICE, "Again.", tmp_path / "r2.odbx", trusted)


# Links planted in OUT before `keys open` (a folder copied from elsewhere, a shared stick): every
# file and folder it writes is opened without following a link, so nothing lands outside OUT.

def planted(conv: Conversation, out, outside) -> dict:
    """Where each kind of link can wait in OUT, and what it points at outside it."""
    folder = f"{conv.id[:2]}/{conv.id}"
    return {
        "shard": (conv.id[:2], outside),
        "conversation folder": (folder, outside),
        "top index": ("index.txt", outside / "victim.txt"),
        "conversation index": (f"{folder}/index.txt", outside / "victim.txt"),
        "partial item": (f"{folder}/.partial-{conv.item_ids[0]}", outside / "victim.txt"),
        "attachments": (f"{folder}/attachments", outside),
        "state": (f"{folder}/.opened.json", outside / "victim.txt"),
    }


@pytest.mark.parametrize("kind", ["shard", "conversation folder", "top index", "conversation index",
                                  "partial item", "attachments", "state"])
def test_a_link_planted_in_the_output_folder_is_never_followed(kind, tmp_path):
    conv = Conversation([ALICE], [item("message", MARKER), item("file", MARKER, "photo.png")], REPORTER)
    path = write_export(tmp_path / "bundle.odbx", [conv])
    out, outside = tmp_path / "out", tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.txt").write_bytes(b"untouched")
    name, target = planted(conv, out, outside)[kind]
    (out / name).parent.mkdir(parents=True, exist_ok=True)
    (out / name).symlink_to(target)
    report = open_bundle(path, ALICE, out)
    assert report.failures and any("is a link" in f for f in report.failures), report.failures
    assert sorted(p.name for p in outside.iterdir()) == ["victim.txt"]
    assert (outside / "victim.txt").read_bytes() == b"untouched"
    # The link stays, bar a partial item's: that name is the opener's own, removed after each item.
    assert (out / name).is_symlink() or kind == "partial item"


def test_a_hard_link_planted_in_the_output_folder_is_never_written_through(tmp_path):
    conv = Conversation([ALICE], [item("message", MARKER)], REPORTER)
    path = write_export(tmp_path / "bundle.odbx", [conv])
    out, victim = tmp_path / "out", tmp_path / "victim.txt"
    out.mkdir()
    victim.write_bytes(b"untouched")
    os.link(victim, out / "index.txt")
    report = open_bundle(path, ALICE, out)
    assert report.failures and "is a link" in report.failures[0]
    assert victim.read_bytes() == b"untouched"


def test_files_and_folders_already_in_the_output_folder_are_made_private(tmp_path):
    conv = Conversation([ALICE], [item("message", MARKER), item("file", MARKER, "photo.png")], REPORTER)
    path = write_export(tmp_path / "bundle.odbx", [conv])
    out = tmp_path / "out"
    folder = out / conv.id[:2] / conv.id
    (folder / "attachments").mkdir(parents=True, mode=0o755)
    for made in (out, out / conv.id[:2], folder, folder / "attachments"):
        made.chmod(0o755)
    for name in (out / "index.txt", folder / "index.txt"):
        name.write_text("")
        name.chmod(0o644)
    assert open_bundle(path, ALICE, out).failures == []
    for made in out.rglob("*"):
        assert made.stat().st_mode & 0o777 == (0o700 if made.is_dir() else 0o600), made
    assert out.stat().st_mode & 0o777 == 0o700


def test_records_whose_items_all_fail_leave_no_folder_behind(tmp_path):
    damage = lambda blob, n: flip(blob, len(blob) - 20)  # noqa: E731
    convs = [Conversation([ALICE], [item("message", MARKER)], REPORTER) for _ in range(3)]
    path = write_export(tmp_path / "bundle.odbx", convs, damage)
    report = open_bundle(path, ALICE, tmp_path / "out")
    assert report.items == 0 and len(report.failures) == 3
    assert list((tmp_path / "out").iterdir()) == []


# The work a hostile bundle can cause grows with what it holds, never with how often it says
# nothing: each rule is in docs/FORMAT.md, refused with a clear error, and nothing is written.

def test_a_bundle_of_records_without_items_is_refused_and_nothing_is_written(tmp_path):
    from keys.bundle import BundleWriter, ConversationEntry, Head
    path = tmp_path / "empty.odbx"
    with open(path, "wb") as out:
        writer = BundleWriter(out, Head("export", DATE, ALICE.responder))
        for _ in range(1000):
            writer.conversation(ConversationEntry(new_id(), (), (ALICE.responder,), REPORTER.public_key))
        writer.close(0)
    report = open_bundle(path, ALICE, tmp_path / "out")
    assert report.failures == ["bundle: bundle holds a record with no items"]
    assert list((tmp_path / "out").iterdir()) == []


def test_a_version_1_reply_file_is_not_opened_as_an_export(tmp_path):
    from keys import bundle_v1
    with open(tmp_path / "reply.odbx", "wb") as out:
        BundleWriterV1(out, bundle_v1.Manifest("reply", DATE)).close()
    with pytest.raises(FormatError, match="reply file"):
        open_bundle(tmp_path / "reply.odbx", ALICE, tmp_path / "out")
    assert not (tmp_path / "out").exists()


# A public key file (docs/FORMAT.md, "Public key file"): at most 4,096 bytes, however many
# characters; lines end in LF (CR LF too); a field's name and value are trimmed of spaces and tabs
# only, so what a reader takes from a file does not depend on its Unicode tables.

def test_a_public_key_file_over_4096_bytes_is_refused_however_few_characters_it_holds(tmp_path):
    from keys.responder import Responder
    text = ALICE.responder.to_pub_text() + "# " + "é" * 2000 + "\n"
    assert len(text) < 4096 < len(text.encode("utf-8"))
    with pytest.raises(FormatError, match="too large"):
        Responder.from_pub_text(text)
    path = tmp_path / "alice.pub"
    for size in (4097, 4098, 4099):  # wherever the 4,097th byte falls in a character
        path.write_bytes(text.encode("utf-8")[:size])
        with pytest.raises(FormatError, match="too large"):
            Responder.load(path)


@pytest.mark.parametrize("change", [
    lambda t: t.replace("name: ", "name:\u00a0"),          # a no-break space
    lambda t: t.replace("\nname", "\x0cname"),             # a form feed as a line break
    lambda t: t.replace("\nname", "\u2028name"),           # a Unicode line separator
    lambda t: "\ufeff" + t,                                # a byte-order mark
])
def test_a_public_key_file_with_other_white_space_is_refused(change):
    from keys.responder import Responder
    with pytest.raises(FormatError):
        Responder.from_pub_text(change(ALICE.responder.to_pub_text()))


def test_a_public_key_file_with_crlf_lines_spaces_and_tabs_is_read():
    from keys.responder import Responder
    text = ALICE.responder.to_pub_text().replace("\n", "\r\n").replace(": ", " :\t ")
    assert Responder.from_pub_text("\n" + text + "\n  \n") == ALICE.responder


def test_a_pinned_key_file_must_be_named_for_the_responder_it_holds(tmp_path):
    from keys.pinning import trusted_keys
    (tmp_path / "alice.pub").write_text(ALICE.responder.to_pub_text())
    assert trusted_keys(tmp_path) == {"alice": ALICE.responder}
    # A file named for bob that holds another key for alice must not replace alice's pin.
    (tmp_path / "bob.pub").write_text(ResponderKey.generate("alice").responder.to_pub_text())
    with pytest.raises(FormatError, match="bob.pub holds the key of alice"):
        trusted_keys(tmp_path)


def test_a_link_named_like_an_item_is_left_alone_and_the_item_takes_the_next_name(tmp_path):
    conv = Conversation([ALICE], [report_item(REPORTER)], REPORTER)
    path = write_export(tmp_path / "bundle.odbx", [conv])
    out, victim = tmp_path / "out", tmp_path / "victim.txt"
    victim.write_bytes(b"untouched")
    (out / conv.id[:2] / conv.id).mkdir(parents=True)
    (out / conv.id[:2] / conv.id / "report.txt").symlink_to(victim)
    assert open_bundle(path, ALICE, out).failures == []
    assert victim.read_bytes() == b"untouched"
    assert b"It happened at the meetup." in (folder_of(out, conv.id) / "report (2).txt").read_bytes()


def test_a_version_1_manifest_of_items_that_all_fail_writes_nothing(tmp_path):
    from keys import bundle_v1
    from keys.responder import Responder
    junk = b"\0" * 10
    conversations = tuple(bundle_v1.ConversationEntry(
        new_id(), (Responder("alice", ALICE.secret_key.public_key),), (bundle_v1.ItemEntry(new_id(), 10),))
        for _ in range(500))
    with open(tmp_path / "v1.odbx", "wb") as out:
        writer = BundleWriterV1(out, bundle_v1.Manifest("export", DATE, conversations))
        for _ in conversations:
            writer.write(junk)
        writer.close()
    report = open_bundle(tmp_path / "v1.odbx", ALICE, tmp_path / "out")
    assert report.items == 0 and len(report.failures) == 500
    assert list((tmp_path / "out").iterdir()) == []


def test_a_private_folder_is_made_with_its_missing_parents_and_itself_0700(tmp_path):
    from keys.private_files import make_folder
    make_folder(tmp_path / "trusted" / "first-opened")
    assert (tmp_path / "trusted" / "first-opened").stat().st_mode & 0o777 == 0o700


def test_a_signed_reply_listed_without_its_place_is_refused_in_one_line(tmp_path):
    """A hostile bundle may list a signed reply with no place, its envelope sealed without
    one (version 1): the signature cannot cover a place, so the reply is refused, not a crash."""
    from keys.bundle import BundleWriter, ConversationEntry, Head, ItemEntry, Proof
    from keys.items import ItemMeta
    from keys_support import new_id, v1_envelope
    conversation_id, item_id = new_id(), new_id()
    readers = [REPORTER.public_key, ALICE.secret_key.public_key]
    blob = v1_envelope(ItemMeta("reply", DATE, "alice").encode() + b"We read it.", readers)
    proof = Proof.sign(ALICE.signing_key, "alice", conversation_id, item_id, 0, blob, readers)
    path = tmp_path / "export.odbx"
    with open(path, "wb") as out:
        writer = BundleWriter(out, Head("export", DATE))
        writer.conversation(ConversationEntry(conversation_id, (ItemEntry(
            item_id, len(blob), "team", None, proof),), (ALICE.responder,), REPORTER.public_key))
        writer.write(blob)
        writer.close()
    report = open_bundle(path, ALICE, tmp_path / "out")
    assert report.items == 0
    assert report.failures == [f"{conversation_id}/{item_id}: a signed reply without its place "
                               "or its key; not written"]
