"""Bundles of version 2: records stream in order, each with its envelopes, and arrive whole or not at all."""
from __future__ import annotations

import hashlib
import io
import json
import os
import struct

import pytest
from nacl.public import PrivateKey

from keys.bundle import (MAGIC, MAX_ITEMS_PER_RECORD, MAX_RECORD, BundleReader, BundleWriter,
                         ConversationEntry, Head, ItemEntry)
from keys.envelope import Origin
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
            new_id(), tuple(ItemEntry(new_id(), len(b), Origin.REPORTER, n) for n, b in enumerate(blobs)),
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
    sealed = iter(blobs)
    for record in recs:
        data = json.dumps(record).encode()
        body += struct.pack(">I", len(data)) + data
        for _ in record.get("items", []):
            body += next(sealed)
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


# What one record can make a reader do is bounded: a record holds 1 to 1,000 items, the records
# of one conversation come one after another and repeat what the first said, and an item id is
# not repeated in a conversation (docs/FORMAT.md, "Bundle").

def _blobs() -> list[bytes]:
    return [b for blobs in BLOBS for b in blobs]


def test_a_record_without_items_is_refused():
    recs = records(build(BLOBS))
    recs.insert(2, {**recs[2], "id": new_id(), "items": []})
    recs[-1]["records"] += 1
    with pytest.raises(FormatError, match="no items"):
        read_all(rebuild(recs, _blobs()))


def test_a_conversation_whose_records_are_not_one_after_another_is_refused():
    recs = records(build(BLOBS + [[b"d" * 5]]))
    recs[3]["id"] = recs[1]["id"]  # conversation 1, then 2, then 1 again
    with pytest.raises(FormatError, match="one after another"):
        read_all(rebuild(recs, _blobs() + [b"d" * 5]))


@pytest.mark.parametrize("change", [
    lambda r: r.update(recipients=[]),
    lambda r: r.update(designation="other-name"),
    lambda r: r.pop("reporter_key"),
])
def test_a_continuation_record_that_changes_its_conversation_is_refused(change):
    recs = records(build(BLOBS))
    recs[2]["id"] = recs[1]["id"]  # a second slice of the first conversation
    change(recs[2])
    with pytest.raises(FormatError, match="continues"):
        read_all(rebuild(recs, _blobs()))
    recs = records(build(BLOBS))
    recs[2]["id"] = recs[1]["id"]
    assert [len(blobs) for _, blobs in read_all(rebuild(recs, _blobs()))[1]] == [2, 1]


def test_an_item_id_repeated_in_a_conversation_is_refused():
    recs = records(build(BLOBS))
    recs[1]["items"][1]["id"] = recs[1]["items"][0]["id"]
    with pytest.raises(FormatError, match="twice"):
        read_all(rebuild(recs, _blobs()))


# A reply file is read with bounded memory: one reply at most, refused before a second is read,
# and a file larger than any reply file is refused before anything is read.

class CountingStream(io.BytesIO):
    """A file that counts how many of its bytes were read."""
    read_bytes = 0

    def read(self, size=-1):
        data = super().read(size)
        self.read_bytes += len(data)
        return data


def reply_file(bodies: list[bytes]) -> bytes:
    out = io.BytesIO()
    writer = BundleWriter(out, Head("reply", DATE))
    writer.conversation(ConversationEntry(new_id(), tuple(
        ItemEntry(new_id(), len(b), Origin.TEAM, 1) for b in bodies)))
    for body in bodies:
        writer.write(body)
    writer.close(None)
    return out.getvalue()


def test_a_reply_file_with_a_second_reply_is_refused_before_the_second_is_read():
    from keys.bundle import read_reply_file
    stream = CountingStream(reply_file([b"r" * 1000, b"s" * (4 << 20)]))
    with pytest.raises(FormatError, match="exactly one reply"):
        read_reply_file(stream)
    assert stream.read_bytes < 100_000


def test_a_reply_file_larger_than_any_reply_file_is_refused_before_it_is_read():
    from keys.bundle import MAX_REPLY_FILE, read_reply_file
    data = reply_file([b"r" * 1000])
    stream = CountingStream(data + b"\0" * (MAX_REPLY_FILE - len(data) + 1))
    with pytest.raises(FormatError, match="larger than any reply file"):
        read_reply_file(stream)
    assert stream.read_bytes <= 8


def test_a_proof_on_a_reporter_item_is_refused():
    recs = records(build(BLOBS))
    recs[1]["items"][0]["proof"] = {"author": "alice", "signature": "A" * 86 + "=="}
    with pytest.raises(FormatError, match="proof"):
        read_all(rebuild(recs, _blobs()))


def test_import_refuses_a_400_mib_reply_file_without_reading_it(tmp_path):
    """The server's reader (`import-replies`, the desk's upload) is this one: a 400 MiB file of
    reply records takes no more memory than its first bytes."""
    import tracemalloc
    from dropbox.config import Settings
    from dropbox.exports import read_reply
    path = tmp_path / "big.odbx"
    path.write_bytes(reply_file([b"r" * 1000, b"s" * 1000]))
    os.truncate(path, 400 << 20)  # sparse: the test writes 2 kB
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match="larger than any reply file"):
            read_reply(path, Settings())
        assert tracemalloc.get_traced_memory()[1] < 1 << 20
    finally:
        tracemalloc.stop()
