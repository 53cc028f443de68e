"""Every reader, fuzzed: whatever bytes arrive, the answer is the value or the project's own error.

Property-based (hypothesis), derandomized so CI runs the same fixed budget every time.
Inputs start from real files of each format (the version 2 vectors, a reply file, key
files) and are mutated: bytes flipped, cut, inserted, spliced; and for the JSON inside
bundles, records are rebuilt with arbitrary JSON values in every field and framed
correctly (length, checksum) so the parser is reached, not just the framing. Each reader
may only return or raise `FormatError`: never another exception, never unbounded time or
memory (inputs are small and the readers bound their own work).
"""
from __future__ import annotations

import hashlib
import io
import json
import struct
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl.public import PrivateKey

from keys import bundle, bundle_v1, envelope, strict
from keys.errors import FormatError
from keys.items import Report, split_item
from keys.opening import open_bundle
from keys.safe_text import render_report, sanitise_name, visible
from keys.responder import Responder, ResponderKey

VECTORS = Path(__file__).resolve().parent / "vectors"
KEYS = {name: PrivateKey(bytes.fromhex(k["secret_key"]))
        for name, k in json.loads((VECTORS / "keys.json").read_text()).items()}
ALICE = ResponderKey("alice", KEYS["alice"])
# Fifteen times the profile's examples: 1,500 in `make test`, 150 in `make test-fast`.
PROFILE_EXAMPLES = settings().max_examples
BUDGET = settings(max_examples=15 * PROFILE_EXAMPLES, deadline=None, derandomize=True,
                  database=None, suppress_health_check=list(HealthCheck))
SMALL_BUDGET = settings(BUDGET, max_examples=4 * PROFILE_EXAMPLES)


def seed(name: str) -> bytes:
    return (VECTORS / name).read_bytes()


SEEDS = {
    "envelope": [seed("envelope-good-3-recipients.bin"), seed("envelope-good-empty.bin"),
                 seed("v1-envelope-good-1-byte.bin")],
    "bundle": [seed("bundle-good-export.bin"), seed("v1-bundle-good-export.bin")],
    "reply": [seed("reply-good.bin")],
    "pub": [seed("responder-alice.pub"), seed("v1-responder-alice.pub")],
    "key": [seed("responder-alice.key"), seed("v1-responder-alice.key")],
}


@st.composite
def mutated(draw, kind: str) -> bytes:
    """A real file of `kind`, then a few random edits."""
    data = bytearray(draw(st.sampled_from(SEEDS[kind])))
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["flip", "cut", "insert", "delete", "set"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if action == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif action == "cut":
            del data[at:]
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif action == "delete":
            del data[at:at + draw(st.integers(1, 64))]
        elif action == "set" and data:
            data[at] = draw(st.sampled_from([0, 0xFF, ord("{"), ord("["), ord('"'), ord("9")]))
    return bytes(data)


def only_format_errors(call, *args) -> None:
    try:
        call(*args)
    except FormatError:
        pass


# --- envelopes, items, reports --------------------------------------------------------------

@BUDGET
@given(mutated("envelope"), st.sampled_from(["alice", "bob", "mallory"]))
def test_envelope_reader(data, name):
    only_format_errors(lambda: b"".join(envelope.open_envelope(io.BytesIO(data), KEYS[name])))


@BUDGET
@given(st.binary(max_size=400))
def test_envelope_header_reader_on_any_bytes(data):
    only_format_errors(envelope.read_header, io.BytesIO(b"ODBXENV\x02" + data))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


@BUDGET
@given(st.dictionaries(st.sampled_from(["kind", "date", "name", "reporter_key", "x"]), json_values,
                       max_size=5), st.binary(max_size=40))
def test_item_metadata_reader(record, body):
    encoded = json.dumps(record).encode()
    only_format_errors(lambda: b"".join(split_item(iter([struct.pack(">I", len(encoded)) + encoded
                                                         + body]))[1]))


@BUDGET
@given(st.binary(max_size=200))
def test_item_reader_on_any_bytes(data):
    only_format_errors(lambda: split_item(iter([data])))


@BUDGET
@given(st.dictionaries(st.sampled_from(["version", "content_warning", "content_warning_note",
                                        "answers", "message"]), json_values, max_size=5)
       | st.builds(lambda a: {"version": 1, "content_warning": False, "content_warning_note": "",
                              "message": "m", "answers": a}, json_values))
def test_report_reader_and_rendering(record):
    try:
        report = Report.decode(json.dumps(record).encode())
    except FormatError:
        return
    render_report("2024-05-01", report).decode("utf-8")


@BUDGET
@given(st.text(max_size=60))
def test_free_text_is_shown_without_control_characters(text):
    shown = visible(text)
    hidden = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
    assert all(c in "\n\t" or unicodedata.category(c) not in hidden for c in shown)
    shown.encode("utf-8")  # lone surrogates are escaped too


@BUDGET
@given(st.text(max_size=300))
def test_attachment_names_stay_in_their_folder_and_are_never_dot_files(name):
    safe = sanitise_name(name)
    assert safe and not safe.startswith(".") and "/" not in safe and "\\" not in safe
    assert len(safe.encode("utf-8")) <= 200 and safe == safe.strip()


# --- strict JSON ------------------------------------------------------------------------------

@BUDGET
@given(st.binary(max_size=200) | st.text(alphabet="[]{}\":,0123456789.eE-+ tfnrulasx\\", max_size=300)
       .map(str.encode))
def test_json_reader(data):
    only_format_errors(strict.load_json, data, "fuzzed")


# --- bundles, records, reply files --------------------------------------------------------

@SMALL_BUDGET
@given(mutated("bundle"))
def test_open_bundle_writes_or_fails_cleanly(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "b.odbx").write_bytes(data)
    only_format_errors(open_bundle, folder / "b.odbx", ALICE, folder / "out")
    assert not [p for p in folder.rglob("*") if ".partial" in p.name]


@BUDGET
@given(mutated("bundle"))
def test_bundle_readers(data):
    def read():
        if bundle.bundle_version(io.BytesIO(data)) == 1:
            reader = bundle_v1.BundleReader(io.BytesIO(data))
            for _ in reader.envelopes():
                pass
            return
        for _, envelopes in bundle.BundleReader(io.BytesIO(data)).records():
            for _ in envelopes:
                pass
    only_format_errors(read)


def _records(data: bytes) -> list[tuple[dict, bytes]]:
    """(record, the envelope bytes after it) for a version 2 bundle."""
    found, at = [], 8
    while at < len(data) - 32:
        (size,) = struct.unpack_from(">I", data, at)
        record = json.loads(data[at + 4:at + 4 + size])
        blobs = sum(i["size"] for i in record.get("items", []))
        found.append((record, data[at + 4 + size:at + 4 + size + blobs]))
        at += 4 + size + blobs
    return found


GOOD_RECORDS = _records(seed("bundle-good-export.bin"))


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _paths(inner, prefix + (key,))
    elif isinstance(value, list):
        for n, inner in enumerate(value):
            yield from _paths(inner, prefix + (n,))


@BUDGET
@given(st.data())
def test_bundle_records_with_any_json_in_any_field(data):
    """A correctly framed bundle whose records carry arbitrary values where fields were."""
    records = [(json.loads(json.dumps(r)), b) for r, b in GOOD_RECORDS]
    which = data.draw(st.integers(0, len(records) - 1))
    record = records[which][0]
    path = data.draw(st.sampled_from(list(_paths(record))[1:]))
    target = record
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = data.draw(json_values)
    body = b"ODBXBDL\x02" + b"".join(struct.pack(">I", len(e := json.dumps(r).encode())) + e + b
                                     for r, b in records)
    framed = body + hashlib.blake2b(body, digest_size=32, person=b"odbx-bundle").digest()
    def read():
        for _, envelopes in bundle.BundleReader(io.BytesIO(framed)).records():
            for _ in envelopes:
                pass
    only_format_errors(read)


@BUDGET
@given(mutated("reply"))
def test_reply_file_reader(data):
    only_format_errors(bundle.read_reply_file, io.BytesIO(data))


@BUDGET
@given(st.dictionaries(st.sampled_from(["kind", "created", "conversations", "format", "x"]), json_values,
                       max_size=4))
def test_version_1_manifest_reader(record):
    only_format_errors(bundle_v1.Manifest.decode, json.dumps(record).encode())


# --- key files ------------------------------------------------------------------------------

@BUDGET
@given(mutated("pub") | st.binary(max_size=300))
def test_public_key_file_reader(data):
    only_format_errors(lambda: Responder.from_pub_text(data.decode("utf-8", errors="replace")))


KEY_HEAD = 7 + 17 + 16  # magic, version and costs, salt: fuzzing past them keeps argon2id small


@SMALL_BUDGET
@given(st.sampled_from(SEEDS["key"]), st.binary(max_size=120), st.sampled_from([1, 2, 3]))
def test_secret_key_file_reader_with_a_valid_checksum(original, box, version):
    """Whatever is sealed, under a valid checksum and a small cost: a key, or the one error."""
    body = original[:7] + bytes([version]) + original[8:KEY_HEAD] + box
    data = body + hashlib.blake2b(body, digest_size=32, person=b"odbx-keyfile").digest()
    only_format_errors(ResponderKey.unseal, data, "correct horse battery staple")


@BUDGET
@given(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1))
def test_secret_key_file_costs_beyond_the_caps_are_refused_before_argon2id(opslimit, memlimit):
    body = b"ODBXKEY" + struct.pack(">BQQ", 2, opslimit, memlimit) + bytes(16 + 24 + 80)
    data = body + hashlib.blake2b(body, digest_size=32, person=b"odbx-keyfile").digest()
    if opslimit <= 4 and 8192 <= memlimit <= 1 << 30:
        return  # a cost a real key file may have: argon2id would run
    with pytest.raises(FormatError, match="a cost no real key file has"):
        ResponderKey.unseal(data, "x")


@BUDGET
@given(mutated("key") | st.binary(max_size=200))
def test_secret_key_file_reader(data):
    only_format_errors(ResponderKey.unseal, data, "correct horse battery staple")


# The strict values docs/FORMAT.md ("Conventions") names, at their edges.
@pytest.mark.parametrize("data, error", [
    (b'\xef\xbb\xbf{"a": 1}', "unreadable"),       # a byte-order mark
    (b'{"a": -0}', "unreadable"),                  # minus zero: no writer makes it
    (b'{"a": 1.0}', "unreadable"),
    (b'{"a": 12345678901234567}', "unreadable"),   # 17 digits
])
def test_json_at_the_edges_of_the_conventions_is_refused(data, error):
    with pytest.raises(FormatError, match=error):
        strict.load_json(data, "test")


@pytest.mark.parametrize("value", ["0000-01-01", "2024-02-30", "+2024-01-01", "2024-1-01"])
def test_dates_outside_the_conventions_are_refused(value):
    with pytest.raises(FormatError, match="invalid date"):
        strict.date(value, "test")


def test_json_integers_at_the_edges_are_read():
    assert strict.load_json(b'{"a": 0, "b": -1, "c": 9999999999999999}', "test") == \
        {"a": 0, "b": -1, "c": 9999999999999999}
    assert strict.date("0001-01-01", "test") == "0001-01-01"
