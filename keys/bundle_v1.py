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

import hashlib
import struct
from dataclasses import dataclass, field
from typing import BinaryIO
from collections.abc import Iterator

from nacl.public import PublicKey

from keys import ids, strict
from keys.bundle import ChecksummedStream, EnvelopeView
from keys.errors import FormatError
from keys.responder import Responder, check_name

MAGIC = b"ODBXBDL"
VERSION = 1
KINDS = ("export", "reply")
CHECKSUM_SIZE = 32
MAX_MANIFEST = 16 * 1024 * 1024
_LENGTH = struct.Struct(">I")
_WHAT = "bundle manifest"  # what the errors name


def _key(value: object) -> PublicKey:
    return PublicKey(strict.b64(value, 32, _WHAT))


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

    @classmethod
    def from_json(cls, record: object) -> ConversationEntry:
        record = strict.fields(record, _WHAT, {"id", "recipients", "items"}, {"reporter_key"})
        recipients = tuple(Responder(check_name(strict.text(r["name"], _WHAT, 64)),
                                     _key(r["public_key"]))
                           for r in (strict.fields(r, _WHAT, {"name", "public_key"})
                                     for r in strict.array(record["recipients"], _WHAT)))
        items = tuple(ItemEntry(ids.check_id(i["id"], _WHAT), strict.size(i["size"], _WHAT))
                      for i in (strict.fields(i, _WHAT, {"id", "size"})
                                for i in strict.array(record["items"], _WHAT)))
        reporter = record.get("reporter_key")
        return cls(ids.check_id(record["id"], _WHAT), recipients, items,
                   None if reporter is None else _key(reporter))


@dataclass(frozen=True)
class Manifest:
    kind: str
    created: str
    conversations: tuple[ConversationEntry, ...] = field(default=())

    @classmethod
    def decode(cls, data: bytes) -> Manifest:
        record = strict.fields(strict.load_json(data, _WHAT, max_depth=5), _WHAT,
                               {"kind", "created", "conversations"}, {"format"})
        kind = strict.text(record["kind"], _WHAT, 16)
        if kind not in KINDS:
            raise FormatError(f"unknown bundle kind {kind!r}")
        written = record.get("format", VERSION)
        if type(written) is not int or written != VERSION:
            raise FormatError(f"bundle manifest says format {str(written)[:20]!r}, not 1")
        conversations = tuple(ConversationEntry.from_json(c)
                              for c in strict.array(record["conversations"], _WHAT))
        _check_listed_once(conversations)
        return cls(kind, strict.date(record["created"], _WHAT), conversations)


def _check_listed_once(conversations: tuple[ConversationEntry, ...]) -> None:
    """Each conversation and item once: a reader's work then grows with what a manifest lists
    (a conversation listed twice would be opened, and its folder read, twice)."""
    conversation_ids: set[str] = set()
    item_ids: set[str] = set()
    for conversation in conversations:
        if conversation.id in conversation_ids:
            raise FormatError(f"bundle manifest lists conversation {conversation.id} twice")
        conversation_ids.add(conversation.id)
        for item in conversation.items:
            if item.id in item_ids:
                raise FormatError(f"bundle manifest lists item {item.id} twice")
            item_ids.add(item.id)


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

    def envelopes(self) -> Iterator[tuple[ConversationEntry, ItemEntry, EnvelopeView]]:
        """Each envelope in manifest order; whatever the caller leaves unread is skipped."""
        for conversation in self.manifest.conversations:
            for item in conversation.items:
                view = EnvelopeView(self, item.size)
                yield conversation, item, view
                view.drain()
        self._verify_end()

