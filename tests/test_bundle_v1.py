"""Bundles of version 1 (v0.1.0): still read, as strictly as FORMAT.md says; arrive whole or not at all."""
from __future__ import annotations

import hashlib
import io
import json
import struct

import pytest
from nacl.public import PrivateKey

from keys.bundle_v1 import MAGIC, BundleReader, ConversationEntry, ItemEntry, Manifest
from keys.errors import FormatError
from keys.responder import Responder, ResponderKey

from keys_support import DATE, BundleWriterV1, flip, item, new_id, seal

ALICE, BOB = ResponderKey.generate("alice"), ResponderKey.generate("bob")
REPORTER = PrivateKey.generate()


def build(conversations: list[tuple[str, list[ResponderKey], list[bytes]]], kind: str = "export"):
    """(bundle bytes, manifest, envelopes in order) for [(id, recipients, plaintexts)]."""
    entries, blobs = [], []
    for conv_id, recipients, plaintexts in conversations:
        sealed = [seal(p, [r.secret_key.public_key for r in recipients]) for p in plaintexts]
        blobs += sealed
        entries.append(ConversationEntry(conv_id, tuple(Responder(r.name, r.secret_key.public_key)
                                                        for r in recipients),
                                         tuple(ItemEntry(new_id(), len(b)) for b in sealed),
                                         REPORTER.public_key))
    manifest = Manifest(kind, DATE, tuple(entries))
    out = io.BytesIO()
    writer = BundleWriterV1(out, manifest)
    for blob in blobs:
        writer.write(blob)
    writer.close()
    return out.getvalue(), manifest, blobs


def read_all(data: bytes) -> tuple[Manifest, list[bytes]]:
    reader = BundleReader(io.BytesIO(data))
    blobs = [view.read() for _, _, view in reader.envelopes()]
    return reader.manifest, blobs


def manifest_end(data: bytes) -> int:
    return len(MAGIC) + 1 + 4 + struct.unpack_from(">I", data, len(MAGIC) + 1)[0]


def non_canonical(key: str) -> str:
    """The same bytes in Base64 whose unused low bits are set: decoders that are not strict accept it."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    return key[:-2] + alphabet[alphabet.index(key[-2]) | 1] + "="


def rewrite_manifest(data: bytes, change) -> bytes:
    """The same bundle with its manifest JSON changed and both checksums recomputed."""
    end = manifest_end(data)
    record = json.loads(data[len(MAGIC) + 5:end])
    change(record)
    encoded = json.dumps(record).encode()
    head = data[:len(MAGIC) + 1] + struct.pack(">I", len(encoded)) + encoded
    body = head + hashlib.blake2b(head, digest_size=32, person=b"odbx-manifest").digest() \
        + data[end + 32:-32]
    return body + hashlib.blake2b(body, digest_size=32, person=b"odbx-bundle").digest()


@pytest.fixture(scope="module")
def bundle():
    return build([(new_id(), [ALICE, BOB], [item("message", b"first"), item("file", b"x" * 70_000, "a.pdf")]),
                  (new_id(), [BOB], [item("message", b"for bob only")])])


def test_bundle_gives_back_its_manifest_and_envelopes_in_order(bundle):
    data, manifest, blobs = bundle
    read_manifest, read_blobs = read_all(data)
    assert read_manifest == manifest
    assert read_blobs == blobs


def test_manifest_keeps_names_keys_and_reporter_key(bundle):
    data, _, _ = bundle
    manifest, _ = read_all(data)
    first = manifest.conversations[0]
    assert [r.name for r in first.recipients] == ["alice", "bob"]
    assert first.recipients[0].public_key == ALICE.secret_key.public_key
    assert first.reporter_key == REPORTER.public_key


def test_envelopes_left_unread_are_skipped(bundle):
    data, _, blobs = bundle
    reader = BundleReader(io.BytesIO(data))
    seen = []
    for _, _, view in reader.envelopes():
        seen.append(view.read(10))
    assert seen == [b[:10] for b in blobs]


def test_truncated_bundle_is_rejected_wherever_it_is_cut(bundle):
    data, _, _ = bundle
    end = manifest_end(data)
    for cut in (0, 5, len(MAGIC) + 3, end - 1, end + 10, end + 32 + 100, len(data) - 33, len(data) - 1):
        with pytest.raises(FormatError, match="truncated"):
            read_all(data[:cut])


def test_tampered_manifest_is_rejected(bundle):
    data, _, _ = bundle
    position = data.index(b'"alice"') + 1
    with pytest.raises(FormatError, match="manifest checksum does not match"):
        BundleReader(io.BytesIO(flip(data, position)))


def test_tampered_envelope_fails_the_bundle_checksum(bundle):
    data, _, _ = bundle
    for position in (manifest_end(data) + 32 + 5, len(data) - 40, len(data) - 1):
        with pytest.raises(FormatError, match="checksum does not match"):
            read_all(flip(data, position))


def test_bytes_after_the_bundle_are_rejected(bundle):
    data, _, _ = bundle
    with pytest.raises(FormatError, match="bytes after its end"):
        read_all(data + b"\0")


@pytest.mark.parametrize("data, error", [
    (b"", "truncated"),
    (b"PK\x03\x04" + bytes(100), "not an onion-dropbox bundle"),
    (b"ODBXENV\x01\x01" + bytes(100), "not an onion-dropbox bundle"),
    (MAGIC + b"\x02" + bytes(100), "bundle version 2 is not supported"),
    (MAGIC + b"\x01\xff\xff\xff\xff", "manifest is too large"),
])
def test_foreign_or_future_files_are_not_read_as_bundles(data, error):
    with pytest.raises(FormatError, match=error):
        BundleReader(io.BytesIO(data))


@pytest.mark.parametrize("bad_id", ["../x", "../" + "a" * 16, "a" * 15, "a" * 65, "A" * 16,
                                    "a" * 15 + "/", "a" * 15 + ".", "", 1234567890123456789, None])
def test_manifest_with_an_unusable_conversation_id_is_rejected(bundle, bad_id):
    data, _, _ = bundle
    changed = rewrite_manifest(data, lambda r: r["conversations"][0].update(id=bad_id))
    with pytest.raises(FormatError, match="invalid id|unreadable"):
        BundleReader(io.BytesIO(changed))


def test_manifest_with_a_path_traversal_item_id_is_rejected(bundle):
    data, _, _ = bundle
    changed = rewrite_manifest(data, lambda r: r["conversations"][0]["items"][0].update(id="../../x" * 4))
    with pytest.raises(FormatError, match="invalid id"):
        BundleReader(io.BytesIO(changed))


def test_manifest_id_with_a_trailing_newline_is_rejected(bundle):
    data, _, _ = bundle
    changed = rewrite_manifest(data, lambda r: r["conversations"][0].update(id="a" * 16 + "\n"))
    with pytest.raises(FormatError, match="invalid id"):
        BundleReader(io.BytesIO(changed))


@pytest.mark.parametrize("change, error", [
    (lambda r: r["conversations"][0]["recipients"][0].update(public_key="AAAA"), "invalid public key"),
    (lambda r: r["conversations"][0].update(reporter_key="not base64!"), "invalid public key"),
    (lambda r: r["conversations"][0]["recipients"][0].update(name="../alice"), "not a usable name"),
    (lambda r: r["conversations"][0]["items"][0].update(size=-1), "invalid size"),
    (lambda r: r["conversations"][0]["items"][0].update(size="many"), "invalid size"),
    # The cases an independent implementation found accepted (issue 11).
    (lambda r: r["conversations"][0]["items"][0].update(size="331"), "invalid size"),
    (lambda r: r["conversations"][0]["items"][0].update(size=True), "invalid size"),
    (lambda r: r["conversations"][0]["recipients"][0].update(
        public_key=non_canonical(r["conversations"][0]["recipients"][0]["public_key"])),
     "invalid public key"),
    (lambda r: r.update(created="２０２４-05-01"), "invalid date"),
    (lambda r: r.update(extra=1), "unreadable"),
    (lambda r: r.update(kind="backup"), "unknown bundle kind"),
    (lambda r: r.pop("conversations"), "unreadable"),
    (lambda r: r.update(conversations="none"), "unreadable"),
])
def test_manifest_with_unusable_fields_is_rejected(bundle, change, error):
    data, _, _ = bundle
    with pytest.raises(FormatError, match=error):
        BundleReader(io.BytesIO(rewrite_manifest(data, change)))


def test_manifest_whose_sizes_lie_is_rejected(bundle):
    data, _, _ = bundle
    longer = rewrite_manifest(data, lambda r: r["conversations"][-1]["items"][-1].update(
        size=r["conversations"][-1]["items"][-1]["size"] + 1))
    with pytest.raises(FormatError, match="truncated"):
        read_all(longer)
    shorter = rewrite_manifest(data, lambda r: r["conversations"][0]["items"][0].update(
        size=r["conversations"][0]["items"][0]["size"] - 1))
    with pytest.raises(FormatError):
        read_all(shorter)


def test_writer_refuses_more_or_fewer_envelope_bytes_than_announced():
    manifest = Manifest("export", DATE, (ConversationEntry(new_id(), (ALICE.responder,),
                                                           (ItemEntry(new_id(), 10),)),))
    writer = BundleWriterV1(io.BytesIO(), manifest)
    with pytest.raises(ValueError, match="more envelope bytes"):
        writer.write(bytes(11))
    writer = BundleWriterV1(io.BytesIO(), manifest)
    writer.write(bytes(9))
    with pytest.raises(ValueError, match="fewer envelope bytes"):
        writer.close()


def test_empty_bundle_is_readable():
    data, manifest, _ = build([])
    assert read_all(data) == (manifest, [])


@pytest.mark.parametrize("size_text, error", [
    (b"331.9", "unreadable"), (b"1e999", "unreadable"), (b"NaN", "unreadable"),
    (b"1" * 40, "unreadable"),
])
def test_manifest_sizes_that_are_not_plain_integers_are_rejected(bundle, size_text, error):
    """`331.9` and `1e999` (an OverflowError before) are not sizes; nor is a 40-digit one."""
    data, _, _ = bundle
    marker = rewrite_manifest(data, lambda r: r["conversations"][0]["items"][0].update(size=987654))
    changed = _reframe(marker, lambda text: text.replace(b"987654", size_text))
    with pytest.raises(FormatError, match=error):
        BundleReader(io.BytesIO(changed))


def test_manifest_nested_200000_deep_is_a_clear_error(bundle):
    data, _, _ = bundle
    changed = _reframe(data, lambda text: b"[" * 200_000 + b"]" * 200_000)
    with pytest.raises(FormatError, match="nested too deeply"):
        BundleReader(io.BytesIO(changed))


def _reframe(data: bytes, change) -> bytes:
    """The bundle with its manifest text changed by `change`, checksum recomputed."""
    head = len(MAGIC) + 1
    (size,) = struct.unpack(">I", data[head:head + 4])
    manifest = change(data[head + 4:head + 4 + size])
    front = data[:head] + struct.pack(">I", len(manifest)) + manifest
    digest = hashlib.blake2b(front, digest_size=32, person=b"odbx-manifest").digest()
    return front + digest + data[head + 4 + size + 32:]


# What a manifest can make a reader do is bounded by what it lists once (docs/FORMAT.md,
# "Compatibility"): each conversation and each item appears once, and `format`, if given, is 1.

@pytest.mark.parametrize("change, error", [
    (lambda r: r["conversations"].append(r["conversations"][0]), "conversation .* twice"),
    (lambda r: r["conversations"][1]["items"].append(r["conversations"][0]["items"][0]), "item .* twice"),
    (lambda r: r["conversations"][0]["items"].append(r["conversations"][0]["items"][0]), "item .* twice"),
    (lambda r: r.update(format=2), "format"),
    (lambda r: r.update(format="1"), "format"),
])
def test_manifest_listing_a_conversation_or_item_twice_or_another_format_is_refused(bundle, change, error):
    data, _, _ = bundle
    with pytest.raises(FormatError, match=error):
        BundleReader(io.BytesIO(rewrite_manifest(data, change)))


def test_manifest_that_says_format_1_is_read(bundle):
    data, manifest, _ = bundle
    assert BundleReader(io.BytesIO(rewrite_manifest(data, lambda r: r.update(format=1)))).manifest == manifest
