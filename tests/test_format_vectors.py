"""Every file in tests/vectors/ behaves as index.json (version 2) and v1-index.json say (docs/FORMAT.md)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import io
import re
import json
from pathlib import Path

import pytest
from nacl import bindings as sodium
from nacl.exceptions import BadSignatureError, CryptoError
from nacl.public import PrivateKey
from nacl.signing import VerifyKey

from keys import envelope
from keys.codename import Peppers, StretchCost, derive
from keys.errors import FormatError
from keys.bundle import envelope_digest, read_reply_file
from keys.items import split_item
from keys.opening import open_bundle
from keys.responder import Responder, ResponderKey

VECTORS = Path(__file__).resolve().parent / "vectors"
CURRENT = json.loads((VECTORS / "index.json").read_text())
INDEX = {"vectors": CURRENT["vectors"] + json.loads((VECTORS / "v1-index.json").read_text())["vectors"],
         "codenames": CURRENT["codenames"]}
KEY_DATA = json.loads((VECTORS / "keys.json").read_text())
KEYS = {name: PrivateKey(bytes.fromhex(k["secret_key"])) for name, k in KEY_DATA.items()}


def _label(entry: dict) -> str:
    return f"{entry['file']}:{','.join(entry.get('keys', [])) or entry['expect']}"


def _open_streaming(path: Path, key: PrivateKey) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as stream:
        for chunk in envelope.open_envelope(stream, key):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def test_vectors_stay_small_and_all_listed():
    listed = {entry["file"] for entry in INDEX["vectors"]}
    on_disk = {p.name for p in VECTORS.glob("*") if p.suffix in (".bin", ".key", ".pub")}
    assert listed == on_disk
    assert sum(p.stat().st_size for p in VECTORS.iterdir()) < 2 * 1024 * 1024


@pytest.mark.parametrize("entry", [e for e in INDEX["vectors"] if e["type"] == "envelope"], ids=_label)
def test_envelope_vector(entry):
    path = VECTORS / entry["file"]
    for name in entry["keys"]:
        if entry["expect"] == "good":
            if "binding" in entry:
                with open(path, "rb") as stream:
                    binding = envelope.read_header(stream).binding
                assert f"{binding.conversation_id}/{binding.origin}/{binding.position}" == entry["binding"]
            assert _open_streaming(path, KEYS[name]) == (entry["plaintext_size"],
                                                          entry["plaintext_sha256"])
            assert hashlib.sha256(envelope.open_bytes(path.read_bytes(), KEYS[name])).hexdigest() \
                == entry["plaintext_sha256"]
        else:
            with pytest.raises(FormatError, match=entry["error"]):
                _open_streaming(path, KEYS[name])


@pytest.mark.parametrize("entry", [e for e in INDEX["vectors"] if e["type"] == "bundle"], ids=_label)
def test_bundle_vector(entry, tmp_path):
    key = ResponderKey(entry["keys"][0], KEYS[entry["keys"][0]])
    out = tmp_path / "out"
    # Pinned keys: the responders named, with the keys of keys.json (bad ones: none pinned).
    trusted = {name: Responder(name, KEYS[name].public_key,
                               VerifyKey(bytes.fromhex(KEY_DATA[name]["signing_key"])))
               for name in entry.get("trusted", [])}
    if entry["expect"] == "good":
        report = open_bundle(VECTORS / entry["file"], key, out, trusted)
        assert (report.items, report.excluded, report.failures) == (entry["opened"], entry["excluded"], [])
        written = {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
                   for p in out.rglob("*") if p.is_file() and p.name != ".opened.json"}
        assert written == entry["files"]
    else:
        # A bundle that is not one at all raises; one damaged further on is reported as failed.
        try:
            failures = open_bundle(VECTORS / entry["file"], key, out).failures
        except FormatError as exc:
            failures = [str(exc)]
        assert failures and re.search(entry["error"], " ".join(failures))
        assert not [p for p in tmp_path.rglob("*") if ".partial" in p.name]


@pytest.mark.parametrize("entry", [e for e in INDEX["vectors"] if e["type"] == "secret-key"], ids=_label)
def test_secret_key_file_vector(entry):
    data = (VECTORS / entry["file"]).read_bytes()
    if entry["expect"] == "good":
        key = ResponderKey.unseal(data, entry["passphrase"])
        assert (key.name, bytes(key.secret_key).hex()) == (entry["name"], entry["secret_key"])
        signing = key.signing_key and bytes(key.signing_key.verify_key).hex()
        assert signing == entry.get("signing_key")
    else:
        with pytest.raises(FormatError, match=entry["error"]):
            ResponderKey.unseal(data, entry["passphrase"])


@pytest.mark.parametrize("entry", [e for e in INDEX["vectors"] if e["type"] == "public-key"], ids=_label)
def test_public_key_file_vector(entry):
    if entry["expect"] == "bad":
        with pytest.raises(FormatError, match=entry["error"]):
            Responder.load(VECTORS / entry["file"])
        return
    responder = Responder.load(VECTORS / entry["file"])
    assert responder.name == entry["name"]
    assert bytes(responder.public_key).hex() == entry["public_key"]
    assert (responder.signing_key and bytes(responder.signing_key).hex()) == entry.get("signing_key")
    assert responder.fingerprint == entry["fingerprint"]
    assert responder.purpose == entry.get("purpose")  # none in v0.1.0's and v0.2.0's files


def _read_reply(stream):
    return read_reply_file(stream, 1 << 20, 1 << 20)  # a server taking files of up to 1 MiB


@pytest.mark.parametrize("entry", [e for e in INDEX["vectors"] if e["type"] == "reply"], ids=_label)
def test_reply_file_vector(entry):
    if entry["expect"] == "bad":
        with open(VECTORS / entry["file"], "rb") as stream, pytest.raises(FormatError, match=entry["error"]):
            _read_reply(stream)
        return
    with open(VECTORS / entry["file"], "rb") as stream:
        reply = _read_reply(stream)
    assert (reply.conversation_id, reply.item.position, reply.item.proof.author) == \
        (entry["conversation"], entry["position"], entry["author"])
    assert len(reply.attachments) == entry.get("attachments", 0)
    author = VerifyKey(bytes.fromhex(KEY_DATA[entry["author"]]["signing_key"]))
    for item, sealed in [(reply.item, reply.envelope), *reply.attachments]:
        assert item.proof.verify(author, reply.conversation_id, item.id, item.position,
                                 envelope_digest(sealed), item.signed, item.attached_to)
        for name in entry["keys"]:
            meta, _ = split_item(envelope.open_envelope(io.BytesIO(sealed), KEYS[name]))
            assert meta.kind == "file" if item.attached_to else meta.name == entry["author"]
    assert reply.item.invitation == entry.get("invitation")


@pytest.mark.parametrize("entry", [e for e in INDEX["vectors"] if e["type"] == "reply-import"], ids=_label)
def test_reply_file_the_server_must_refuse_reads_as_well_formed(entry):
    """A message to the person reported sealed to the reporter is well formed and signed: only the
    server's import, comparing READERS with the invitation's key, refuses it (test_respondent.py)."""
    with open(VECTORS / entry["file"], "rb") as stream:
        reply = read_reply_file(stream)
    assert reply.item.origin == "to-respondent"
    for name in entry["keys"]:  # readable by whom it should never reach
        split_item(envelope.open_envelope(io.BytesIO(reply.envelope), KEYS[name]))
    with pytest.raises(FormatError, match="not among"):
        split_item(envelope.open_envelope(io.BytesIO(reply.envelope), KEYS["respondent"]))


def _spec_import(data: bytes, readers: tuple[str, ...], reporter_items: int) -> str:
    """FORMAT.md's "Importing" for a reply (with its files) or a note, written from the text:
    the first rule a reply file breaks ("signer", "signature", "binding", "place", "readers"), or
    "" if it passes. The conversation is A; `readers` are its responders today."""
    records, at = [], 8
    while at < len(data) - 32:
        size = int.from_bytes(data[at:at + 4], "big")
        records.append(json.loads(data[at + 4:at + 4 + size]))
        at += 4 + size
        for item in records[-1].get("items", []):
            records[-1].setdefault("envelopes", []).append(data[at:at + item["size"]])
            at += item["size"]
    conversation = records[1]
    first = conversation["items"][0]
    note = first["origin"] == "note"
    keys = [bytes.fromhex(KEY_DATA[name]["public_key"]) for name in readers]
    if not note:
        keys.insert(0, bytes.fromhex(KEY_DATA["reporter"]["public_key"]))
    author = first["proof"]["author"]
    if author not in readers:
        return "signer"
    for item, sealed in zip(conversation["items"], conversation["envelopes"], strict=True):
        proof = item["proof"]
        signed = "note" if note else ("reply-file" if "attached_to" in item else "reply")
        context = {"reply": b"odbx-reply-v2\n", "note": b"odbx-note-v2\n",
                   "reply-file": b"odbx-reply-file-v2\n"}[signed]
        lines = f"{conversation['id']}\n{item['id']}\n{proof['author']}\n{item['position']}\n"
        if signed == "reply-file":
            lines += f"{item['attached_to']}\n"
        message = context + lines.encode() + base64.b64decode(proof["readers"]) \
            + _b2b(sealed, 32, person=b"odbx-reply")
        try:
            VerifyKey(bytes.fromhex(KEY_DATA[proof["author"]]["signing_key"])).verify(
                message, base64.b64decode(proof["signature"]))
        except BadSignatureError:
            return "signature"
        count = sealed[8]
        binding_at = 9 + 80 * count + 24 + 8
        binding = sealed[binding_at + 1:binding_at + 1 + sealed[binding_at]].decode()
        if binding != f"{conversation['id']}/{'note' if note else 'team'}/{item['position']}":
            return "binding"
        if item["position"] > reporter_items:
            return "place"
        if count != len(keys) or base64.b64decode(proof["readers"]) != \
                _b2b(b"".join(keys), 32, person=b"odbx-readers"):
            return "readers"
    return ""


@pytest.mark.parametrize("entry", [e for e in INDEX["vectors"] if e["type"] == "import"], ids=_label)
def test_import_vector_follows_the_spec(entry):
    """What the server checks on import (FORMAT.md, "Notes", "Importing"), given what it holds:
    conversation A, read by alice and bob today, 3 reporter items."""
    data = (VECTORS / entry["file"]).read_bytes()
    assert _spec_import(data, ("alice", "bob"), 3) == ("" if entry["expect"] == "good" else entry["error"])


@pytest.mark.parametrize("entry", INDEX["codenames"], ids=lambda e: e["codename"])
def test_codename_vector(entry):
    identity = derive(entry["codename"],
                      Peppers(bytes.fromhex(entry["lookup_pepper"]), bytes.fromhex(entry["key_pepper"])),
                      StretchCost(entry["opslimit"], entry["memlimit"]))
    assert identity.lookup_id == entry["lookup_id"]
    assert identity.public_key.hex() == entry["public_key"]


# The same vectors, computed from docs/FORMAT.md with libsodium and hashlib, not with keys/.

def _b2b(data: bytes, size: int, key: bytes = b"", person: bytes = b"") -> bytes:
    return hashlib.blake2b(data, digest_size=size, key=key, person=person).digest()


@pytest.mark.parametrize("entry", INDEX["codenames"], ids=lambda e: e["codename"])
def test_codename_vector_follows_the_spec(entry):
    lookup_pepper, key_pepper = bytes.fromhex(entry["lookup_pepper"]), bytes.fromhex(entry["key_pepper"])
    salt = _b2b(lookup_pepper, 16, person=b"odbx-salt")
    stretched = sodium.crypto_pwhash_alg(64, entry["codename"].encode("ascii"), salt, entry["opslimit"],
                                         entry["memlimit"], sodium.crypto_pwhash_ALG_ARGON2ID13)
    assert _b2b(stretched, 32, key=lookup_pepper, person=b"odbx-lookup").hex() == entry["lookup_id"]
    secret = _b2b(stretched, 32, key=key_pepper, person=b"odbx-reporter")
    assert sodium.crypto_scalarmult_base(secret).hex() == entry["public_key"]


def test_secret_key_file_vector_follows_the_spec():
    (entry,) = [e for e in CURRENT["vectors"] if e["type"] == "secret-key" and e["expect"] == "good"]
    data = (VECTORS / entry["file"]).read_bytes()
    assert data[:7] == b"ODBXKEY" and data[7] == 2
    assert _b2b(data[:-32], 32, person=b"odbx-keyfile") == data[-32:]
    opslimit, memlimit = int.from_bytes(data[8:16], "big"), int.from_bytes(data[16:24], "big")
    salt, box = data[24:40], data[40:-32]
    box_key = sodium.crypto_pwhash_alg(32, entry["passphrase"].encode(), salt, opslimit, memlimit,
                                       sodium.crypto_pwhash_ALG_ARGON2ID13)
    opened = sodium.crypto_secretbox_open(box[24:], box[:24], box_key)
    assert (opened[:32].hex(), opened[64:].decode()) == (entry["secret_key"], entry["name"])
    assert sodium.crypto_sign_seed_keypair(opened[32:64])[0].hex() == entry["signing_key"]


def test_public_key_file_vector_follows_the_spec():
    good = [e for e in CURRENT["vectors"] if e["type"] == "public-key" and e["expect"] == "good"]
    assert {e.get("purpose") for e in good} == {None, "backup"}
    for entry in good:
        digest = _b2b(bytes.fromhex(entry["public_key"]) + bytes.fromhex(entry["signing_key"]), 10,
                      person=b"odbx-fprint-v2")
        text = base64.b32encode(digest).decode()
        assert " ".join(text[i:i + 4] for i in range(0, 16, 4)) == entry["fingerprint"]


def _spec_open(data: bytes, secret: bytes) -> tuple[str, bytes]:
    """An envelope opened with libsodium as FORMAT.md says: (binding, item)."""
    assert data[:8] == b"ODBXENV\x02"
    count = data[8]
    at = 9 + 80 * count
    ss_header, masked, context_size = data[at:at + 24], data[at + 24:at + 32], data[at + 32]
    context = data[at + 33:at + 33 + context_size]
    end = at + 33 + context_size
    public = sodium.crypto_scalarmult_base(secret)
    file_key = next(key for i in range(count) if (key := _unseal(data[9 + 80 * i:9 + 80 * (i + 1)],
                                                                   public, secret)))
    mac = hmac.new(_b2b(b"header", 32, key=file_key, person=b"odbx-envelope"), data[:end], "sha256")
    assert mac.digest() == data[end:end + 32]
    length = int.from_bytes(bytes(a ^ b for a, b in zip(
        masked, _b2b(b"length", 8, key=file_key, person=b"odbx-envelope"), strict=True)), "big")
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    sodium.crypto_secretstream_xchacha20poly1305_init_pull(
        state, ss_header, _b2b(b"payload", 32, key=file_key, person=b"odbx-envelope"))
    plain, at = b"", end + 32
    while at < len(data):
        chunk, _ = sodium.crypto_secretstream_xchacha20poly1305_pull(state, data[at:at + 65553], None)
        plain, at = plain + chunk, at + 65553
    assert plain[length:] == bytes(len(plain) - length)
    return context.decode(), plain[:length]


def _unseal(stanza: bytes, public: bytes, secret: bytes) -> bytes | None:
    try:
        return sodium.crypto_box_seal_open(stanza, public, secret)
    except CryptoError:  # sealed to another recipient
        return None


@pytest.mark.parametrize("entry", [e for e in CURRENT["vectors"] if e["type"] == "envelope"
                                   and e["expect"] == "good"], ids=_label)
def test_envelope_vector_opens_by_the_spec(entry):
    context, item = _spec_open((VECTORS / entry["file"]).read_bytes(), bytes(KEYS["alice"]))
    assert (context, hashlib.sha256(item).hexdigest()) == (entry["binding"], entry["plaintext_sha256"])


def test_bundle_vector_follows_the_spec():
    data = (VECTORS / "bundle-good-export.bin").read_bytes()
    assert data[:8] == b"ODBXBDL\x02"
    assert _b2b(data[:-32], 32, person=b"odbx-bundle") == data[-32:]
    at, kinds = 8, []
    while at < len(data) - 32:
        size = int.from_bytes(data[at:at + 4], "big")
        record = json.loads(data[at + 4:at + 4 + size])
        kinds.append(record["type"])
        at += 4 + size + sum(i["size"] for i in record.get("items", []))
    assert kinds == ["bundle", "conversation", "end"] and at == len(data) - 32


def test_reply_vector_signature_follows_the_spec():
    """FORMAT.md, "Reply file": READERS and the signed message, computed from the text alone."""
    with open(VECTORS / "reply-good.bin", "rb") as stream:
        reply = _read_reply(stream)
    readers = _b2b(b"".join(bytes.fromhex(KEY_DATA[name]["public_key"])
                            for name in ("reporter", "alice", "bob")), 32, person=b"odbx-readers")
    assert reply.item.proof.readers == readers
    message = (b"odbx-reply-v2\n" + f"{reply.conversation_id}\n{reply.item.id}\nalice\n"
                                    f"{reply.item.position}\n".encode() + readers
               + _b2b(reply.envelope, 32, person=b"odbx-reply"))
    VerifyKey(bytes.fromhex(KEY_DATA["alice"]["signing_key"])).verify(message, reply.item.proof.signature)
