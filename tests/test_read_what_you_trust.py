"""Issue 11 on the air-gapped side: what `keys open` checks before it writes, and how it writes.

Items are bound to their conversation and place, replies are signed by their author,
the reporter's key is pinned by the report itself, and what is written is private and
shows free text with its control characters escaped.
"""
from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest
from nacl.public import PrivateKey

from keys import envelope
from keys.bundle import BundleWriter, ConversationEntry, Head, ItemEntry, Proof
from keys.items import ItemMeta
from keys.offline import open_bundle, sanitise_name, visible
from keys.responder import Responder, ResponderKey

from keys_support import (DATE, Conversation, all_files, folder_of, item, report_item,
                          sealed_items, write_export, write_export_v1)

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
    forged = envelope.seal(ItemMeta("reply", DATE, "bob").encode() + b"I am bob",
                           [REPORTER.public_key, ALICE.secret_key.public_key, BOB.secret_key.public_key],
                           envelope.Binding(conv.id, "team", 1))
    for signer, author in ((CAROL, "carol"), (CAROL, "bob"), (ALICE, "bob")):
        proof = Proof.sign(signer.signing_key, author, conv.id, "e" * 32, 1, forged)
        write_items(tmp_path / "f.odbx", conv, [items[0], (ItemEntry("e" * 32, len(forged), "team", 1,
                                                                    proof), forged)])
        report = open_bundle(tmp_path / "f.odbx", BOB, tmp_path / f"out-{signer.name}-{author}")
        assert report.items == 1, (signer.name, author)
        assert "not written" in report.failures[0]


def test_unsigned_reply_is_shown_as_unsigned(tmp_path):
    conv = Conversation([ALICE, BOB], [report_item(REPORTER)], REPORTER)
    items = sealed_items(conv)
    reply = envelope.seal(ItemMeta("reply", DATE, "bob").encode() + b"old reply",
                          [REPORTER.public_key, ALICE.secret_key.public_key],
                          envelope.Binding(conv.id, "team", 1))
    write_items(tmp_path / "u.odbx", conv, [items[0], (ItemEntry("e" * 32, len(reply), "team", 1), reply)])
    report = open_bundle(tmp_path / "u.odbx", ALICE, tmp_path / "out")
    assert report.items == 2 and any("unsigned" in w for w in report.warnings)


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
                             tmp_path / "pass"], capture_output=True, text=True)
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
    forged = envelope.seal(ItemMeta("reply", DATE, "bob").encode() + b"from the server",
                           [REPORTER.public_key, ALICE.secret_key.public_key, BOB.secret_key.public_key],
                           envelope.Binding(conv.id, "team", 1))
    proof = Proof.sign(server_key.signing_key, "bob", conv.id, "e" * 32, 1, forged)
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
