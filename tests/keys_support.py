"""Building blocks for the tests of `keys/`: items, envelopes and export bundles made in memory.

Plain functions, not fixtures, so each test says what it builds. Responder keys
are generated, never sealed, because sealing runs argon2id.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import struct
from dataclasses import dataclass
from pathlib import Path

from nacl.public import PrivateKey

from keys import bundle_v1, envelope
from keys.bundle import MAX_ITEMS_PER_RECORD, BundleWriter, ConversationEntry, Head, ItemEntry, Proof
from keys.items import Answer, ItemMeta, Report
from keys.responder import Responder, ResponderKey

DATE = "2024-05-01"
BINDING = envelope.Binding("0123456789abcdef0123456789abcdef", envelope.Origin.REPORTER, 0)


def seal(plaintext: bytes, recipients, binding: envelope.Binding = BINDING) -> bytes:
    """A version 2 envelope; tests that are not about binding all use one place."""
    return envelope.seal(plaintext, recipients, binding)


def item(kind: str, body: bytes, name: str = "", date: str = DATE) -> bytes:
    """The plaintext of one item: its metadata, then its body."""
    return ItemMeta(kind=kind, date=date, name=name).encode() + body


def report_item(reporter: PrivateKey | None, message: str = "It happened at the meetup.",
                sealed_key: bytes | None = None) -> bytes:
    """A report item as the server makes it: the form's answers, the reporter's key sealed inside."""
    body = Report(False, "", (Answer("reporting_for", "Who is this report for?", "For myself"),),
                  message).encode()
    key = sealed_key if sealed_key is not None else bytes(reporter.public_key) if reporter else b""
    return ItemMeta("report", DATE, reporter_key=base64.b64encode(key).decode() if key else "") \
        .encode() + body


def new_id() -> str:
    return secrets.token_hex(16)


@dataclass
class Conversation:
    """One conversation to put in a bundle; `sealed_to` defaults to its recipients."""
    recipients: list[ResponderKey]
    items: list[bytes]
    reporter: PrivateKey | None = None
    id: str = ""
    sealed_to: list | None = None
    designation: str = ""

    def __post_init__(self):
        self.id = self.id or new_id()
        self.item_ids = [new_id() for _ in self.items]


def sealed_items(conv: Conversation, damage=None, start: int = 0):
    """(ItemEntry, envelope) for each item, bound to its place; replies signed by their author."""
    keys = conv.sealed_to or [r.secret_key.public_key for r in conv.recipients]
    authors = {r.name: r for r in conv.recipients}
    out, reporter_items = [], 0
    # A test may give a conversation an id no writer would use; its envelopes still need one.
    bound_to = conv.id if re.fullmatch(r"[a-z0-9]{16,64}", conv.id) else BINDING.conversation_id
    for index, (item_id, plaintext) in enumerate(zip(conv.item_ids, conv.items, strict=True)):
        try:  # leniently: tests also seal metadata no reader accepts
            meta = json.loads(plaintext[4:4 + int.from_bytes(plaintext[:4], "big")])
            kind, name = meta.get("kind"), meta.get("name")
        except ValueError:
            kind = name = None
        if kind == "reply":
            binding = envelope.Binding(bound_to, envelope.Origin.TEAM, reporter_items)
            readers = ([conv.reporter.public_key] if conv.reporter else []) + keys
        else:
            binding = envelope.Binding(bound_to, envelope.Origin.REPORTER, reporter_items)
            reporter_items += 1
            readers = keys
        blob = envelope.seal(plaintext, readers, binding)
        if damage is not None:
            blob = damage(blob, start + index)
        proof = None
        if kind == "reply" and name in authors:
            signing_key = authors[name].signing_key
            assert signing_key is not None, f"{name} signs replies, so needs a version 2 key"
            proof = Proof.sign(signing_key, name, conv.id, item_id,
                               binding.position, blob, readers)
        out.append((ItemEntry(item_id, len(blob), binding.origin, binding.position, proof), blob))
    return out


def write_export(path: Path, conversations: list[Conversation], damage=None,
                 recipient: ResponderKey | None = None, excluded: int | None = 0) -> Path:
    """Write a version 2 export bundle; `damage(envelope_bytes, index)` may alter envelopes,
    as a server holding a damaged item would."""
    count = 0
    with open(path, "wb") as out:
        writer = BundleWriter(out, Head("export", DATE, recipient.responder if recipient else None))
        for conv in conversations:
            items = sealed_items(conv, damage, count)
            count += len(items)
            for start in range(0, max(len(items), 1), MAX_ITEMS_PER_RECORD):  # long ones: slices
                part = items[start:start + MAX_ITEMS_PER_RECORD]
                writer.conversation(ConversationEntry(
                    conv.id, tuple(entry for entry, _ in part),
                    tuple(r.responder for r in conv.recipients),
                    conv.reporter.public_key if conv.reporter else None, conv.designation))
                for _, blob in part:
                    writer.write(blob)
        writer.close(excluded)
    return path


def write_export_v1(path: Path, conversations: list[Conversation]) -> Path:
    """An export as v0.1.0 wrote it: one manifest for the team, unbound and unpadded envelopes."""
    sealed, entries = [], []
    for conv in conversations:
        keys = conv.sealed_to or [r.secret_key.public_key for r in conv.recipients]
        blobs = [v1_envelope(plaintext, keys) for plaintext in conv.items]
        sealed += blobs
        entries.append(bundle_v1.ConversationEntry(
            conv.id, tuple(Responder(r.name, r.secret_key.public_key) for r in conv.recipients),
            tuple(bundle_v1.ItemEntry(i, len(b)) for i, b in zip(conv.item_ids, blobs, strict=True)),
            conv.reporter.public_key if conv.reporter else None))
    with open(path, "wb") as out:
        writer = BundleWriterV1(out, bundle_v1.Manifest("export", DATE, tuple(entries)))
        for blob in sealed:
            writer.write(blob)
        writer.close()
    return path


def v1_manifest_json(manifest: bundle_v1.Manifest) -> bytes:
    """A version 1 manifest as v0.1.0 encoded it (FORMAT.md, "Bundle", version 1)."""
    def b64(key) -> str:
        return base64.b64encode(bytes(key)).decode("ascii")

    def conversation(c: bundle_v1.ConversationEntry) -> dict:
        record = {"id": c.id, "recipients": [{"name": r.name, "public_key": b64(r.public_key)}
                                             for r in c.recipients],
                  "items": [{"id": i.id, "size": i.size} for i in c.items]}
        if c.reporter_key is not None:
            record["reporter_key"] = b64(c.reporter_key)
        return record
    record = {"format": bundle_v1.VERSION, "kind": manifest.kind, "created": manifest.created,
              "conversations": [conversation(c) for c in manifest.conversations]}
    return json.dumps(record, sort_keys=True).encode("utf-8")


class BundleWriterV1:
    """Writes a version 1 bundle as v0.1.0 did: the manifest, then exactly the envelope bytes
    it announces, then the checksum of the whole. Only tests write version 1 now."""

    def __init__(self, out, manifest: bundle_v1.Manifest):
        self._out = out
        self._hash = hashlib.blake2b(digest_size=bundle_v1.CHECKSUM_SIZE, person=b"odbx-bundle")
        self._expected = sum(i.size for c in manifest.conversations for i in c.items)
        self._written = 0
        encoded = v1_manifest_json(manifest)
        head = bundle_v1.MAGIC + bytes([bundle_v1.VERSION]) + struct.pack(">I", len(encoded)) + encoded
        self._emit(head + hashlib.blake2b(head, digest_size=bundle_v1.CHECKSUM_SIZE,
                                          person=b"odbx-manifest").digest())

    def write(self, data: bytes) -> None:
        self._written += len(data)
        if self._written > self._expected:
            raise ValueError("more envelope bytes than the manifest announces")
        self._emit(data)

    def close(self) -> None:
        if self._written != self._expected:
            raise ValueError("fewer envelope bytes than the manifest announces")
        self._out.write(self._hash.digest())

    def _emit(self, data: bytes) -> None:
        self._hash.update(data)
        self._out.write(data)


def v1_envelope(plaintext: bytes, recipients) -> bytes:
    """An envelope of version 1 (FORMAT.md version 1): no binding, no padding."""
    import hashlib
    import hmac
    from nacl import bindings as sodium
    from nacl.public import SealedBox
    file_key = os.urandom(32)

    def subkey(purpose: bytes) -> bytes:
        return hashlib.blake2b(purpose, key=file_key, digest_size=32, person=b"odbx-envelope").digest()
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    ss_header = sodium.crypto_secretstream_xchacha20poly1305_init_push(state, subkey(b"payload"))
    head = (b"ODBXENV" + bytes([1, len(recipients)])
            + b"".join(SealedBox(k).encrypt(file_key) for k in recipients) + ss_header)
    chunks = [plaintext[i:i + 65536] for i in range(0, len(plaintext), 65536)]
    if not chunks or len(chunks[-1]) == 65536:
        chunks.append(b"")
    payload = b"".join(sodium.crypto_secretstream_xchacha20poly1305_push(
        state, c, None, 3 if n == len(chunks) - 1 else 0) for n, c in enumerate(chunks))
    return head + hmac.new(subkey(b"header"), head, "sha256").digest() + payload


def folder_of(out: Path, conversation_id: str) -> Path:
    """Where `keys open` put a conversation: OUT/<first two>/<designation>_<id> or .../<id>."""
    found = list((Path(out) / conversation_id[:2]).glob(f"*{conversation_id}"))
    assert len(found) == 1, found
    return found[0]


def all_files(folder: Path) -> dict[str, bytes]:
    """Every file under `folder`, by path relative to it."""
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def leftovers(folder: Path, marker: bytes) -> list[str]:
    """Files under `folder` that are partial, or that hold `marker`."""
    return [name for name, data in all_files(folder).items()
            if ".partial" in name or marker in data]


def flip(data: bytes, position: int, mask: int = 0x01) -> bytes:
    changed = bytearray(data)
    changed[position] ^= mask
    return bytes(changed)


def random_bytes(size: int) -> bytes:
    return os.urandom(size)


def forge_reply(bundle_path: Path, conversation_id: str, signer: ResponderKey, claimed: str,
                out: Path) -> Path:
    """A reply file as a left-out responder could make it from a colleague's bundle: sealed to
    the reporter and every recipient, named `claimed`, signed with `signer`'s own key."""
    from keys.bundle import BundleReader
    with open(bundle_path, "rb") as stream:
        [entry] = [e for e, _ in BundleReader(stream).records() if e.id == conversation_id]
    assert entry.reporter_key is not None, f"{conversation_id} in {bundle_path} names no reporter key"
    assert signer.signing_key is not None, f"{signer.name} has a version 1 key: it cannot sign"
    binding = envelope.Binding(conversation_id, envelope.Origin.TEAM, 1)
    readers = [entry.reporter_key, *(r.public_key for r in entry.recipients)]
    sealed = envelope.seal(ItemMeta("reply", DATE, claimed).encode() + b"Reply from a colleague?",
                           readers, binding)
    item_id = new_id()
    proof = Proof.sign(signer.signing_key, claimed, conversation_id, item_id, 1, sealed, readers)
    with open(out, "wb") as stream:
        writer = BundleWriter(stream, Head("reply", DATE))
        writer.conversation(ConversationEntry(conversation_id, (ItemEntry(
            item_id, len(sealed), envelope.Origin.TEAM, 1, proof),)))
        writer.write(sealed)
        writer.close()
    return out
