"""Bundles of version 1 (v0.1.0): read so that old exports and reply files still open.

A bundle is a manifest (which conversations, their reporter key and
recipients, which items and how long each envelope is) followed by the
envelopes themselves, still encrypted, and a checksum of the whole file
(docs/FORMAT.md, "Bundle"). An export from the server and a reply file
written offline are both bundles; `kind` tells them apart.

Envelopes authenticate themselves; the checksums catch a damaged or
truncated file early and protect the manifest, which is not secret but
matters (it says whom a reply is encrypted to).
"""
from __future__ import annotations

import base64
import hashlib
import json
import struct
from dataclasses import dataclass, field
from typing import BinaryIO
from collections.abc import Iterator

from nacl.public import PublicKey

from keys import ids, strict
from keys.bundle import ChecksummedStream, _Limited
from keys.errors import FormatError
from keys.responder import Responder, check_name

MAGIC = b"ODBXBDL"
VERSION = 1
KINDS = ("export", "reply")
CHECKSUM_SIZE = 32
MAX_MANIFEST = 16 * 1024 * 1024
_LENGTH = struct.Struct(">I")


def _checksum() -> hashlib._Hash:
    return hashlib.blake2b(digest_size=CHECKSUM_SIZE, person=b"odbx-bundle")


def _check_id(value: object) -> str:
    return ids.check_id(value, "bundle manifest")


def _b64(key: PublicKey) -> str:
    return base64.b64encode(bytes(key)).decode("ascii")


def _key(value: object) -> PublicKey:
    return PublicKey(strict.b64(value, 32, "bundle manifest"))


def _fields(record: object, required: set[str], optional: set[str] = frozenset()) -> dict:
    if not isinstance(record, dict) or not required <= set(record) <= required | optional:
        raise FormatError("bundle manifest is unreadable")
    return record


def _list(value: object) -> list:
    if not isinstance(value, list):
        raise FormatError("bundle manifest is unreadable")
    return value


@dataclass(frozen=True)
class ItemEntry:
    id: str
    size: int


@dataclass(frozen=True)
class ConversationEntry:
    id: str
    recipients: tuple[Responder, ...]
    items: tuple[ItemEntry, ...]
    reporter_key: PublicKey | None = None

    def to_json(self) -> dict:
        record = {
            "id": self.id,
            "recipients": [{"name": r.name, "public_key": _b64(r.public_key)} for r in self.recipients],
            "items": [{"id": i.id, "size": i.size} for i in self.items],
        }
        if self.reporter_key is not None:
            record["reporter_key"] = _b64(self.reporter_key)
        return record

    @classmethod
    def from_json(cls, record: object) -> ConversationEntry:
        record = _fields(record, {"id", "recipients", "items"}, {"reporter_key"})
        recipients = tuple(Responder(check_name(strict.text(r["name"], "bundle manifest", 64)),
                                     _key(r["public_key"]))
                           for r in (_fields(r, {"name", "public_key"})
                                     for r in _list(record["recipients"])))
        items = tuple(ItemEntry(_check_id(i["id"]), strict.size(i["size"], "bundle manifest"))
                      for i in (_fields(i, {"id", "size"}) for i in _list(record["items"])))
        reporter = record.get("reporter_key")
        return cls(_check_id(record["id"]), recipients, items,
                   None if reporter is None else _key(reporter))


@dataclass(frozen=True)
class Manifest:
    kind: str
    created: str
    conversations: tuple[ConversationEntry, ...] = field(default=())

    def encode(self) -> bytes:
        record = {"format": VERSION, "kind": self.kind, "created": self.created,
                  "conversations": [c.to_json() for c in self.conversations]}
        return json.dumps(record, sort_keys=True).encode("utf-8")

    @classmethod
    def decode(cls, data: bytes) -> Manifest:
        record = _fields(strict.load_json(data, "bundle manifest", max_depth=5),
                         {"kind", "created", "conversations"}, {"format"})
        kind = strict.text(record["kind"], "bundle manifest", 16)
        if kind not in KINDS:
            raise FormatError(f"unknown bundle kind {kind!r}")
        written = record.get("format", VERSION)
        if type(written) is not int or written != VERSION:
            raise FormatError(f"bundle manifest says format {str(written)[:20]!r}, not 1")
        conversations = tuple(ConversationEntry.from_json(c) for c in _list(record["conversations"]))
        _check_listed_once(conversations)
        return cls(kind, strict.date(record["created"], "bundle manifest"), conversations)


def _check_listed_once(conversations: tuple[ConversationEntry, ...]) -> None:
    """Each conversation and item once: a reader's work then grows with what a manifest lists
    (a conversation listed twice would be opened, and its folder read, twice)."""
    conversation_ids, item_ids = set(), set()
    for conversation in conversations:
        if conversation.id in conversation_ids:
            raise FormatError(f"bundle manifest lists conversation {conversation.id} twice")
        conversation_ids.add(conversation.id)
        for item in conversation.items:
            if item.id in item_ids:
                raise FormatError(f"bundle manifest lists item {item.id} twice")
            item_ids.add(item.id)


class BundleWriter:
    """Writes a bundle: the manifest first, then exactly the envelope bytes it announces."""

    def __init__(self, out: BinaryIO, manifest: Manifest):
        self._out = out
        self._hash = _checksum()
        self._expected = sum(i.size for c in manifest.conversations for i in c.items)
        self._written = 0
        encoded = manifest.encode()
        head = MAGIC + bytes([VERSION]) + _LENGTH.pack(len(encoded)) + encoded
        self._emit(head + hashlib.blake2b(head, digest_size=CHECKSUM_SIZE,
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


class BundleReader(ChecksummedStream):
    """Reads a version 1 bundle in one pass (see `ChecksummedStream` for `whole_checksum`).
    The manifest checksum, the sizes and the end of the file are always checked."""

    def __init__(self, stream: BinaryIO, whole_checksum: bool = True):
        super().__init__(stream, whole_checksum)
        head = self._read_exact(len(MAGIC) + 1 + _LENGTH.size)
        if head[:len(MAGIC)] != MAGIC:
            raise FormatError("not an onion-dropbox bundle")
        if head[len(MAGIC)] != VERSION:
            raise FormatError(f"bundle version {head[len(MAGIC)]} is not supported")
        (size,) = _LENGTH.unpack_from(head, len(MAGIC) + 1)
        if size > MAX_MANIFEST:
            raise FormatError("bundle manifest is too large")
        encoded = self._read_exact(size)
        digest = self._read_exact(CHECKSUM_SIZE)
        expected = hashlib.blake2b(head + encoded, digest_size=CHECKSUM_SIZE,
                                   person=b"odbx-manifest").digest()
        if digest != expected:
            raise FormatError("bundle is damaged (its manifest checksum does not match)")
        self.manifest = Manifest.decode(encoded)

    def envelopes(self) -> Iterator[tuple[ConversationEntry, ItemEntry, _Limited]]:
        """Each envelope in manifest order; whatever the caller leaves unread is skipped."""
        for conversation in self.manifest.conversations:
            for item in conversation.items:
                view = _Limited(self, item.size)
                yield conversation, item, view
                view.drain()
        self._verify_end()


def check_bundle(stream: BinaryIO) -> Manifest:
    """Read a whole bundle to verify its checksums; returns the manifest it vouches for."""
    reader = BundleReader(stream)
    for _ in reader.envelopes():
        pass
    return reader.manifest
