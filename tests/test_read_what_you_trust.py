"""Issue 11 on the air-gapped side: what `keys open` checks before it writes, and how it writes.

Items are bound to their conversation and place, replies are signed by their author,
the reporter's key is pinned by the report itself, and what is written is private and
shows free text with its control characters escaped.
"""
from __future__ import annotations

import json
import os
import secrets
import stat
import subprocess
import sys

import pytest
from nacl.public import PrivateKey

from keys import envelope
from keys.bundle import BundleWriter, ConversationEntry, Head, ItemEntry, Proof
from keys.first_opening import FEW_RECORDS, FirstOpenings
from keys.items import ItemMeta
from keys.opening import open_bundle
from keys.safe_text import sanitise_name, visible
from keys.responder import Responder, ResponderKey

from keys_support import (DATE, Conversation, all_files, folder_of, item, report_item,
                          sealed_items, v1_envelope, write_export, write_export_v1)

ALICE, BOB, CAROL = (ResponderKey.generate(n) for n in ("alice", "bob", "carol"))
REPORTER = PrivateKey.generate()


def write_items(path, conv: Conversation, entries_and_blobs) -> None:
    """An export whose record lists exactly `entries_and_blobs`, as a hostile server could."""
    with open(path, "wb") as out:
        writer = BundleWriter(out, Head("export", DATE))
        writer.conversation(ConversationEntry(
            conv.id, tuple(e for e, _ in entries_and_blobs), tuple(r.responder for r in conv.recipients),
            REPORTER.public_key, "maple-river"))
        for _, blob in entries_and_blobs:
            writer.write(blob)
        writer.close(0)


def three(conv_id: str | None = None) -> Conversation:
    return Conversation([ALICE, BOB], [report_item(REPORTER), item("message", b"second"),
                                       item("message", b"third")], REPORTER, id=conv_id or "")


def test_item_moved_from_another_conversation_is_refused(tmp_path):
    here, there = three(), three()
    moved = sealed_items(there)[1]
    items = sealed_items(here)
    write_items(tmp_path / "b.odbx", here, [items[0], (ItemEntry(moved[0].id, moved[0].size,
                                                                 "reporter", 1), moved[1])])
    report = open_bundle(tmp_path / "b.odbx", ALICE, tmp_path / "out")
    assert report.items == 1
    assert "sealed for another conversation" in report.failures[0]


def test_duplicated_item_is_refused_and_a_dropped_one_is_flagged(tmp_path):
    conv = three()
    first, second, third = sealed_items(conv)
    copy = (ItemEntry("d" * 32, second[0].size, "reporter", 1), second[1])
    write_items(tmp_path / "dup.odbx", conv, [first, second, copy])
    report = open_bundle(tmp_path / "dup.odbx", ALICE, tmp_path / "out1")
    assert report.items == 2 and "a second item in the reporter's place 1" in report.failures[0]
    write_items(tmp_path / "drop.odbx", conv, [first, third])
    report = open_bundle(tmp_path / "drop.odbx", ALICE, tmp_path / "out2")
    assert report.failures == [] and report.items == 2
    assert "1 earlier item(s) of the reporter are missing" in report.warnings[0]
    assert "missing" in (folder_of(tmp_path / "out2", conv.id) / "index.txt").read_text()


def test_reordered_items_are_flagged_and_an_item_listed_in_another_place_is_refused(tmp_path):
    conv = three()
    first, second, third = sealed_items(conv)
    write_items(tmp_path / "order.odbx", conv, [first, third, second])
    report = open_bundle(tmp_path / "order.odbx", ALICE, tmp_path / "out1")
    assert report.items == 3
    assert any("out of order" in w for w in report.warnings)
    relabelled = (ItemEntry(third[0].id, third[0].size, "reporter", 1), third[1])
    write_items(tmp_path / "place.odbx", conv, [first, relabelled])
    report = open_bundle(tmp_path / "place.odbx", ALICE, tmp_path / "out2")
    assert "not in the place it was sealed for" in report.failures[0]


def test_reply_from_a_left_out_responder_under_a_colleagues_name_is_refused(tmp_path):
    """Carol was left out; she seals a reply named "bob" (she has the reporter key) and signs it."""
    conv = Conversation([ALICE, BOB], [report_item(REPORTER)], REPORTER)
    items = sealed_items(conv)
    readers = [REPORTER.public_key, ALICE.secret_key.public_key, BOB.secret_key.public_key]
    forged = envelope.seal(ItemMeta("reply", DATE, "bob").encode() + b"I am bob", readers,
                           envelope.Binding(conv.id, "team", 1))
    for signer, author in ((CAROL, "carol"), (CAROL, "bob"), (ALICE, "bob")):
        proof = Proof.sign(signer.signing_key, author, conv.id, "e" * 32, 1, forged, readers)
        write_items(tmp_path / "f.odbx", conv, [items[0], (ItemEntry("e" * 32, len(forged), "team", 1,
                                                                    proof), forged)])
        report = open_bundle(tmp_path / "f.odbx", BOB, tmp_path / f"out-{signer.name}-{author}")
        assert report.items == 1, (signer.name, author)
        assert "not written" in report.failures[0]


def test_unsigned_reply_is_shown_as_unsigned_only_in_an_envelope_of_version_1(tmp_path):
    """v0.1.0 wrote unsigned replies in envelopes of version 1; a format-2 envelope was made
    after replies were signed, so one without a proof is refused, never called old."""
    conv = Conversation([ALICE, BOB], [report_item(REPORTER)], REPORTER)
    items = sealed_items(conv)
    plaintext = ItemMeta("reply", DATE, "bob").encode() + b"old reply"
    old = v1_envelope(plaintext, [REPORTER.public_key, ALICE.secret_key.public_key])
    write_items(tmp_path / "u.odbx", conv, [items[0], (ItemEntry("e" * 32, len(old), "team"), old)])
    report = open_bundle(tmp_path / "u.odbx", ALICE, tmp_path / "out")
    assert report.items == 2 and any("unsigned" in w for w in report.warnings)
    new = envelope.seal(plaintext, [REPORTER.public_key, ALICE.secret_key.public_key],
                        envelope.Binding(conv.id, "team", 1))
    write_items(tmp_path / "n.odbx", conv, [items[0], (ItemEntry("f" * 32, len(new), "team", 1), new)])
    report = open_bundle(tmp_path / "n.odbx", ALICE, tmp_path / "out2")
    assert report.items == 1 and not any("unsigned" in w for w in report.warnings)
    assert "a reply of format 2 without its author's signature" in report.failures[0]


def test_version_1_bundle_opens_with_its_items_marked_as_made_before_binding(tmp_path):
    conv = Conversation([ALICE, BOB], [item("message", b"from v0.1.0"),
                                       item("reply", b"an old reply", "bob")], REPORTER)
    path = write_export_v1(tmp_path / "old.bundle", [conv, Conversation([BOB], [item("message", b"x")])])
    report = open_bundle(path, ALICE, tmp_path / "out")
    assert (report.items, report.excluded, report.failures) == (2, 1, [])
    index = (folder_of(tmp_path / "out", conv.id) / "index.txt").read_text()
    assert "made before binding" in index and "unsigned" in index


def test_opened_folders_and_files_are_private(tmp_path):
    conv = Conversation([ALICE], [report_item(REPORTER), item("file", b"x", "a.txt")], REPORTER)
    path = write_export(tmp_path / "b.odbx", [conv])
    os.umask(0o022)
    open_bundle(path, ALICE, tmp_path / "out")
    for found in (tmp_path / "out").rglob("*"):
        mode = stat.S_IMODE(found.stat().st_mode)
        assert mode == (0o700 if found.is_dir() else 0o600), (found, oct(mode))


def test_control_and_bidi_characters_in_free_text_are_shown_escaped(tmp_path):
    hostile = "clear\x1b[2J\x1b]52;c;cGF5bG9hZA==\x07 line\rrewritten \u202eevil\u2066 end"
    conv = Conversation([ALICE], [report_item(REPORTER, message=hostile),
                                  item("message", hostile.encode())], REPORTER)
    path = write_export(tmp_path / "b.odbx", [conv])
    open_bundle(path, ALICE, tmp_path / "out")
    for name, data in all_files(folder_of(tmp_path / "out", conv.id)).items():
        text = data.decode("utf-8")
        for raw in ("\x1b", "\r", "\x07", "\u202e", "\u2066"):
            assert raw not in text, (name, raw)
    report = (folder_of(tmp_path / "out", conv.id) / "report.txt").read_text()
    assert "clear\\u001b[2J\\u001b]52;c;cGF5bG9hZA==\\u0007 line\\u000drewritten \\u202eevil" in report


def test_visible_keeps_ordinary_text_and_escapes_the_rest():
    assert visible("Héllo, 世界\n\tok") == "Héllo, 世界\n\tok"
    assert visible("a\u2028b\u200fc") == "a\\u2028b\\u200fc"
    assert visible("one\ntwo", keep_newlines=False) == "one\\u000atwo"


@pytest.mark.parametrize("given", [". .hidden.txt", " ..\t.bashrc", "\u200e.profile", ".\u00a0.x"])
def test_attachment_names_never_become_dot_files(given):
    assert not sanitise_name(given).startswith(".")


def test_same_name_attachments_get_numbered_names_and_no_folder_holds_more_than_1000(tmp_path, monkeypatch):
    monkeypatch.setattr("keys.opened_folder.FILES_PER_FOLDER", 100)  # the real limit is 1000
    conv = Conversation([ALICE], [report_item(REPORTER)]
                        + [item("file", str(n).encode(), "photo.jpg") for n in range(250)], REPORTER)
    path = write_export(tmp_path / "b.odbx", [conv])
    report = open_bundle(path, ALICE, tmp_path / "out")
    folder = folder_of(tmp_path / "out", conv.id)
    names = {p.name for p in (folder / "attachments").iterdir()}
    assert report.items == 251
    assert names == {"photo.jpg"} | {f"photo ({n}).jpg" for n in range(2, 101)}
    assert len(list((folder / "attachments-2").iterdir())) == 100
    assert len(list((folder / "attachments-3").iterdir())) == 50
    assert "attachments-3/photo (50).jpg" in (folder / "index.txt").read_text()


def test_output_is_sharded_and_named_by_designation_and_id(tmp_path):
    convs = [Conversation([ALICE], [report_item(REPORTER)], REPORTER, designation=f"maple-river{'x' * n}")
             for n in range(3)]
    path = write_export(tmp_path / "b.odbx", convs)
    open_bundle(path, ALICE, tmp_path / "out")
    for conv in convs:
        assert folder_of(tmp_path / "out", conv.id).name == f"{conv.designation}_{conv.id}"
    index = (tmp_path / "out" / "index.txt").read_text().splitlines()
    assert sorted(index) == sorted(f"{c.designation}\t{c.id}\t{c.id[:2]}/{c.designation}_{c.id}"
                                   for c in convs)


def test_keys_open_prints_each_conversation_id_and_designation(tmp_path):
    conv = Conversation([ALICE], [report_item(REPORTER)], REPORTER, designation="maple-river")
    write_export(tmp_path / "b.odbx", [conv])
    (tmp_path / "alice.key").write_bytes(ALICE.seal("a passphrase of length", opslimit=1,
                                                   memlimit=8 << 20))
    (tmp_path / "pass").write_text("a passphrase of length\n")
    result = subprocess.run([sys.executable, "-m", "keys", "open", tmp_path / "b.odbx", "--key",
                             tmp_path / "alice.key", "--out", tmp_path / "out", "--passphrase-file",
                             tmp_path / "pass"], capture_output=True, check=False, text=True)
    assert result.returncode == 0, result.stderr
    line = result.stdout.splitlines()[0]
    assert "maple-river" in line and conv.id in line and f"{conv.id[:2]}/maple-river_{conv.id}" in line


def test_opening_same_name_attachments_does_work_linear_in_their_number(tmp_path, monkeypatch):
    """v0.1.0 probed `name (2)`, `name (3)`, … on disk for each file: n²/2 probes for n files."""
    import pathlib
    conv = Conversation([ALICE], [report_item(REPORTER)]
                        + [item("file", b"x", "photo.jpg") for _ in range(300)], REPORTER)
    path = write_export(tmp_path / "b.odbx", [conv])
    probes = []
    for name in ("exists", "is_file", "stat"):
        original = getattr(pathlib.Path, name)
        monkeypatch.setattr(pathlib.Path, name, lambda self, *a, _o=original, **k: probes.append(1) or _o(self, *a, **k))
    assert open_bundle(path, ALICE, tmp_path / "out").items == 301
    assert len(probes) < 3 * 301


def test_reply_is_checked_with_the_pinned_key_not_the_one_the_bundle_names(tmp_path):
    """A server that swaps bob's signing key in the record and signs a reply "from bob"
    with its own key: refused where bob is pinned, and never shown as pinned-verified."""
    server_key = ResponderKey.generate("bob")  # the server's own signing key, under bob's name
    conv = Conversation([ALICE, BOB], [report_item(REPORTER)], REPORTER)
    items = sealed_items(conv)
    readers = [REPORTER.public_key, ALICE.secret_key.public_key, BOB.secret_key.public_key]
    forged = envelope.seal(ItemMeta("reply", DATE, "bob").encode() + b"from the server", readers,
                           envelope.Binding(conv.id, "team", 1))
    proof = Proof.sign(server_key.signing_key, "bob", conv.id, "e" * 32, 1, forged, readers)
    with open(tmp_path / "b.odbx", "wb") as out:
        writer = BundleWriter(out, Head("export", DATE))
        bob_as_listed = Responder("bob", BOB.secret_key.public_key, server_key.signing_key.verify_key)
        entries = (items[0][0], ItemEntry("e" * 32, len(forged), "team", 1, proof))
        writer.conversation(ConversationEntry(conv.id, entries, (ALICE.responder, bob_as_listed),
                                              REPORTER.public_key, "maple-river"))
        writer.write(items[0][1])
        writer.write(forged)
        writer.close(0)
    pinned = open_bundle(tmp_path / "b.odbx", ALICE, tmp_path / "pinned", {"bob": BOB.responder})
    assert pinned.items == 1 and "with the key pinned for bob" in pinned.failures[0]
    unpinned = open_bundle(tmp_path / "b.odbx", ALICE, tmp_path / "unpinned")
    assert unpinned.items == 2 and any("bob is not pinned here" in w for w in unpinned.warnings)


def test_note_is_checked_with_the_pinned_key_and_never_shown_to_a_reporter_key(tmp_path):
    """A note "from bob" signed by the server's key under bob's name is refused where bob is
    pinned; bob's own note opens with its author noted, and is no reply of the team."""
    server_key = ResponderKey.generate("bob")
    conv = Conversation([ALICE, BOB], [report_item(REPORTER)], REPORTER)
    items = sealed_items(conv)
    readers = [ALICE.secret_key.public_key, BOB.secret_key.public_key]
    notes = []
    for item_id, signer in (("e" * 32, server_key), ("f" * 32, BOB)):
        sealed = envelope.seal(ItemMeta("note", DATE, "bob").encode() + b"between us", readers,
                               envelope.Binding(conv.id, envelope.Origin.NOTE, 1))
        assert signer.signing_key is not None
        proof = Proof.sign(signer.signing_key, "bob", conv.id, item_id, 1, sealed, readers, "note")
        notes.append((ItemEntry(item_id, len(sealed), envelope.Origin.NOTE, 1, proof), sealed))
    with open(tmp_path / "b.odbx", "wb") as out:
        writer = BundleWriter(out, Head("export", DATE))
        bob_as_listed = Responder("bob", BOB.secret_key.public_key, server_key.signing_key.verify_key)
        writer.conversation(ConversationEntry(conv.id, (items[0][0], *(e for e, _ in notes)),
                                              (ALICE.responder, bob_as_listed), REPORTER.public_key,
                                              "maple-river"))
        writer.write(items[0][1])
        for _, sealed in notes:
            writer.write(sealed)
        writer.close(0)
    pinned = open_bundle(tmp_path / "b.odbx", ALICE, tmp_path / "pinned", {"bob": BOB.responder})
    assert pinned.items == 2 and len(pinned.failures) == 1
    assert "note signature does not verify with the key pinned for bob" in pinned.failures[0]
    [written] = (tmp_path / "pinned").rglob(f"*-note-{'f' * 8}.txt")
    assert written.read_bytes() == b"between us"
    index = (written.parent / "index.txt").read_text()
    assert f"{written.name} (from bob) [signature by bob verified]" in index


# A server compromised after a conversation was first opened cannot steer a reply: what the first
# opening learned (docs/FORMAT.md, "First openings") is kept beside the key, not in OUT.

PASSPHRASE = "a passphrase of length"


def responder_machine(folder, pinned=(BOB,)):
    """alice's air-gapped machine: her key file, its passphrase, her colleagues pinned."""
    folder.mkdir(exist_ok=True)
    (folder / "alice.key").write_bytes(ALICE.seal(PASSPHRASE, opslimit=1, memlimit=8 << 20))
    (folder / "pass").write_text(PASSPHRASE + "\n")
    (folder / "trusted").mkdir(exist_ok=True)
    for colleague in pinned:
        (folder / "trusted" / f"{colleague.name}.pub").write_text(colleague.responder.to_pub_text())
    return folder


def keys(machine, *args):
    return subprocess.run([sys.executable, "-m", "keys", *map(str, args), "--key", machine / "alice.key",
                           "--passphrase-file", machine / "pass"], capture_output=True, check=False, text=True)


def reply(machine, bundle, conv, out):
    (machine / "message.txt").write_text("We have read your report.")
    return keys(machine, "reply", bundle, conv.id, "--message-file", machine / "message.txt",
                "--out", out)


def replaced(conv: Conversation, report: bytes, designation: str = "") -> Conversation:
    """The same conversation as a compromised server sends it: same ids, another report."""
    again = Conversation(conv.recipients, [report, *conv.items[1:]], REPORTER, id=conv.id,
                         designation=designation or conv.designation)
    again.item_ids = conv.item_ids
    return again


def genuine() -> Conversation:
    return Conversation([ALICE, BOB], [report_item(REPORTER, "The real report."),
                                       item("message", b"a follow-up")], REPORTER,
                        designation="maple-river")


SERVER = PrivateKey.generate()  # a key of the server's own, to read replies with


@pytest.mark.parametrize("how", ["same reporter key", "the server's key sealed inside"])
def test_a_report_replaced_after_the_first_opening_is_refused_in_any_folder(tmp_path, how):
    machine = responder_machine(tmp_path / "machine")
    conv = genuine()
    write_export(tmp_path / "first.odbx", [conv])
    assert keys(machine, "open", tmp_path / "first.odbx", "--out", tmp_path / "out").returncode == 0
    fake = report_item(REPORTER, "Another report.") if how == "same reporter key" \
        else report_item(SERVER, "Another report.")
    bad = replaced(conv, fake, designation="quiet-harbour")
    if how != "same reporter key":
        bad.reporter = SERVER
    write_export(tmp_path / "later.odbx", [bad])
    for out in (tmp_path / "out", tmp_path / "elsewhere"):
        result = keys(machine, "open", tmp_path / "later.odbx", "--out", out)
        assert result.returncode == 1 and "first opened on this machine" in result.stderr, result
        assert "Another report" not in "".join(p.read_text() for p in out.rglob("*.txt"))
    assert not list((tmp_path / "elsewhere").rglob("report*.txt"))
    written = reply(machine, tmp_path / "later.odbx", conv, tmp_path / "reply.odbx")
    assert written.returncode == 1 and "first opened" in written.stderr
    assert not (tmp_path / "reply.odbx").exists()


def test_a_format_2_report_without_the_reporter_key_is_refused_and_never_replied_to(tmp_path):
    """The server seals a report without the key and lists its own: not taken for v0.1.0's."""
    machine = responder_machine(tmp_path / "machine")
    conv = Conversation([ALICE, BOB], [report_item(None, "Who reads the reply?")], SERVER)
    write_export(tmp_path / "b.odbx", [conv])
    opened = keys(machine, "open", tmp_path / "b.odbx", "--out", tmp_path / "out")
    assert opened.returncode == 1 and "without the reporter key sealed in it" in opened.stderr
    assert not list((tmp_path / "out").rglob("report*.txt"))
    written = reply(machine, tmp_path / "b.odbx", conv, tmp_path / "reply.odbx")
    assert written.returncode == 1 and "without the reporter key" in written.stderr
    assert not (tmp_path / "reply.odbx").exists()


def test_a_version_1_bundle_of_a_conversation_first_opened_from_version_2_is_refused(tmp_path):
    machine = responder_machine(tmp_path / "machine")
    conv = genuine()
    write_export(tmp_path / "v2.odbx", [conv])
    assert keys(machine, "open", tmp_path / "v2.odbx", "--out", tmp_path / "out").returncode == 0
    old = Conversation(conv.recipients, [item("report", b"an unsealed report")], SERVER, id=conv.id)
    write_export_v1(tmp_path / "v1.bundle", [old])
    for out in (tmp_path / "out", tmp_path / "elsewhere"):
        result = keys(machine, "open", tmp_path / "v1.bundle", "--out", out)
        assert result.returncode == 1 and "version 1 bundle of it is refused" in result.stderr
    assert not list((tmp_path / "elsewhere").rglob("*.txt"))
    written = reply(machine, tmp_path / "v1.bundle", old, tmp_path / "reply.odbx")
    assert written.returncode == 1 and not (tmp_path / "reply.odbx").exists()


def test_keys_reply_seals_only_to_the_reporter_key_of_the_first_opening(tmp_path):
    """Replying first is a first opening too; a later bundle must agree with it."""
    machine = responder_machine(tmp_path / "machine")
    conv = genuine()
    write_export(tmp_path / "first.odbx", [conv])
    written = reply(machine, tmp_path / "first.odbx", conv, tmp_path / "reply.odbx")
    assert written.returncode == 0, written.stderr
    bad = replaced(conv, report_item(SERVER, "Another report."))
    bad.reporter = SERVER
    write_export(tmp_path / "later.odbx", [bad])
    again = reply(machine, tmp_path / "later.odbx", conv, tmp_path / "reply2.odbx")
    assert again.returncode == 1 and "first opened on this machine" in again.stderr
    opened = keys(machine, "open", tmp_path / "later.odbx", "--out", tmp_path / "out")
    assert opened.returncode == 1 and not list((tmp_path / "out").rglob("report*.txt"))


def test_first_openings_are_kept_private_beside_the_key_by_conversation_id(tmp_path):
    machine = responder_machine(tmp_path / "machine")
    conv = genuine()
    write_export(tmp_path / "b.odbx", [conv])
    os.umask(0o022)
    assert keys(machine, "open", tmp_path / "b.odbx", "--out", tmp_path / "out").returncode == 0
    kept = machine / "trusted" / "first-opened" / conv.id[:2] / f"{conv.id}.json"
    record = json.loads(kept.read_text())
    assert record["conversation"] == conv.id and record["report"]["id"] == conv.item_ids[0]
    assert record["places"] == {"0": conv.item_ids[0], "1": conv.item_ids[1]}
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(kept.parent.stat().st_mode) == 0o700
    # A new designation is said, and what is genuine still opens into the new folder.
    write_export(tmp_path / "renamed.odbx", [replaced(conv, conv.items[0], "quiet-harbour")])
    renamed = keys(machine, "open", tmp_path / "renamed.odbx", "--out", tmp_path / "out")
    assert renamed.returncode == 0 and "it was maple-river when first opened here" in renamed.stdout


def test_a_version_1_bundle_opened_twice_into_one_folder_writes_nothing_twice(tmp_path):
    conv = Conversation([ALICE, BOB], [item("message", b"listed first"), report_item(None)],
                        REPORTER)
    path = write_export_v1(tmp_path / "old.bundle", [conv])
    store = FirstOpenings(tmp_path / "first-opened")
    assert open_bundle(path, ALICE, tmp_path / "out", first_openings=store).items == 2
    before = all_files(tmp_path / "out")
    # Again with what was learned; and as a folder opened before first openings were kept.
    for folder in ("first-opened", "none-yet"):
        again = open_bundle(path, ALICE, tmp_path / "out", first_openings=FirstOpenings(tmp_path / folder))
        assert (again.items, again.failures) == (0, [])
        assert all_files(tmp_path / "out").keys() == before.keys()


@pytest.mark.parametrize("count", [1, FEW_RECORDS, FEW_RECORDS + 1])
def test_first_openings_are_kept_whether_made_durable_one_by_one_or_all_at_once(tmp_path, count):
    """A run that learned a few conversations syncs their records one by one (a sync of the whole
    machine would also wait for the gigabyte of attachments just opened); one that learned many,
    all at once. Either way every record is read back as saved, and no partial file is left."""
    store = FirstOpenings(tmp_path / "trusted" / "first-opened")
    ids_ = [secrets.token_hex(16) for _ in range(count)]
    for conversation_id in ids_:
        first = store.get(conversation_id)
        first.designation, first.changed = f"name {conversation_id[:4]}", True
        store.save(first)
    store.sync()
    again = FirstOpenings(tmp_path / "trusted" / "first-opened")
    assert [again.get(c).designation for c in ids_] == [f"name {c[:4]}" for c in ids_]
    assert not [p for p in (tmp_path / "trusted").rglob("*") if p.name.endswith(".partial")]
