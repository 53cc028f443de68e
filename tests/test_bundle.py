"""Bundles of version 2: records stream in order, each with its envelopes, and arrive whole or not at all."""
from __future__ import annotations

import hashlib
import io
import json
import struct

import pytest
from nacl.public import PrivateKey

from keys.bundle import (MAGIC, MAX_ITEMS_PER_RECORD, MAX_RECORD, BundleReader, BundleWriter,
                         ConversationEntry, Head, ItemEntry)
from keys.errors import FormatError
from keys.responder import ResponderKey

from keys_support import DATE, new_id

ALICE = ResponderKey.generate("alice")
REPORTER = PrivateKey.generate()


def build(conversations: list[list[bytes]], excluded: int | None = 3) -> bytes:
    out = io.BytesIO()
    writer = BundleWriter(out, Head("export", DATE, ALICE.responder))
    for blobs in conversations:
        writer.conversation(ConversationEntry(
            new_id(), tuple(ItemEntry(new_id(), len(b), "reporter", n) for n, b in enumerate(blobs)),
            (ALICE.responder,), REPORTER.public_key, "maple-river"))
        for blob in blobs:
            writer.write(blob)
    writer.close(excluded)
    return out.getvalue()


def read_all(data: bytes) -> tuple[BundleReader, list[tuple[str, list[bytes]]]]:
    reader = BundleReader(io.BytesIO(data))
    return reader, [(entry.id, [view.read() for _, view in envelopes])
                    for entry, envelopes in reader.records()]


def records(data: bytes) -> list[dict]:
    """The JSON records of a bundle, in order (for building changed copies)."""
    found, at = [], len(MAGIC) + 1
    while at < len(data) - 32:
        (size,) = struct.unpack_from(">I", data, at)
        record = json.loads(data[at + 4:at + 4 + size])
        found.append(record)
        at += 4 + size + sum(i["size"] for i in record.get("items", []))
    return found


def rebuild(recs: list[dict], blobs: list[bytes]) -> bytes:
    body = MAGIC + bytes([2])
    blobs = iter(blobs)
    for record in recs:
        data = json.dumps(record).encode()
        body += struct.pack(">I", len(data)) + data
        for _ in record.get("items", []):
            body += next(blobs)
    return body + hashlib.blake2b(body, digest_size=32, person=b"odbx-bundle").digest()


BLOBS = [[b"a" * 100, b"b" * 70_000], [b"c" * 5]]


def test_records_and_envelopes_come_back_in_order_with_the_head_and_end():
    reader, got = read_all(build(BLOBS))
    assert [blobs for _, blobs in got] == BLOBS
    assert (reader.head.kind, reader.head.recipient, reader.end.excluded) == ("export", ALICE.responder, 3)


def test_a_bundle_has_no_manifest_limit_and_long_conversations_are_split():
    with pytest.raises(ValueError, match="split"):
        build([[b"x"] * (MAX_ITEMS_PER_RECORD + 1)])
    many = build([[b"x"]] * 2000)
    assert len(read_all(many)[1]) == 2000


@pytest.mark.parametrize("cut", [5, 20, 150, 70_000, -33, -1])
def test_truncated_bundle_is_refused(cut):
    data = build(BLOBS)
    with pytest.raises(FormatError, match="truncated"):
        read_all(data[:cut])


def test_changed_byte_trailing_bytes_and_a_wrong_record_count_are_refused():
    data = build(BLOBS)
    changed = bytearray(data)
    changed[len(data) // 2] ^= 1
    with pytest.raises(FormatError, match="damaged"):
        read_all(bytes(changed))
    with pytest.raises(FormatError, match="bytes after its end"):
        read_all(data + b"\0")
    recs = records(data)
    recs[-1]["records"] = 1
    with pytest.raises(FormatError, match="record count"):
        read_all(rebuild(recs, [b for blobs in BLOBS for b in blobs]))


@pytest.mark.parametrize("change, error", [
    (lambda r: r[1]["items"][0].update(size="100"), "invalid size"),
    (lambda r: r[1]["items"][0].update(size=True), "invalid size"),
    (lambda r: r[1]["items"][0].update(origin="server"), "unknown item origin"),
    (lambda r: r[1].update(id="../" + "a" * 16), "invalid id"),
    (lambda r: r[1].update(designation="Maple River"), "invalid designation"),
    (lambda r: r[1].update(type="manifest"), "unknown record"),
    (lambda r: r[0].update(kind="backup"), "unknown bundle kind"),
    (lambda r: r[0].update(created="2024-02-30"), "invalid date"),
    (lambda r: r[1]["recipients"].append(r[1]["recipients"][0]), "recipient twice"),
])
def test_records_with_unusable_fields_are_refused(change, error):
    recs = records(build(BLOBS))
    change(recs)
    with pytest.raises(FormatError, match=error):
        read_all(rebuild(recs, [b for blobs in BLOBS for b in blobs]))


def test_a_record_over_the_limit_is_refused_before_it_is_read():
    data = MAGIC + bytes([2]) + struct.pack(">I", MAX_RECORD + 1) + b"{"
    with pytest.raises(FormatError, match="too large"):
        BundleReader(io.BytesIO(data))


def test_other_versions_and_files_are_refused_by_name():
    with pytest.raises(FormatError, match="version 9 is not supported"):
        BundleReader(io.BytesIO(MAGIC + bytes([9]) + b"\0" * 40))
    with pytest.raises(FormatError, match="not an onion-dropbox bundle"):
        BundleReader(io.BytesIO(b"PK\3\4" + b"\0" * 40))
