"""Building blocks for the tests of `keys/`: items, envelopes and export bundles made in memory.

Plain functions, not fixtures, so each test says what it builds. Responder keys
are generated, never sealed, because sealing runs argon2id.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from nacl.public import PrivateKey

from keys import envelope
from keys.bundle import BundleWriter, ConversationEntry, ItemEntry, Manifest
from keys.items import ItemMeta
from keys.responder import ResponderKey

DATE = "2024-05-01"


def item(kind: str, body: bytes, name: str = "", date: str = DATE) -> bytes:
    """The plaintext of one item: its metadata, then its body."""
    return ItemMeta(kind=kind, date=date, name=name).encode() + body


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

    def __post_init__(self):
        self.id = self.id or new_id()
        self.item_ids = [new_id() for _ in self.items]


def write_export(path: Path, conversations: list[Conversation], damage=None) -> Path:
    """Write an export bundle; `damage(envelope_bytes, index)` may alter envelopes before
    the bundle's checksums are computed, as a server holding a damaged item would."""
    sealed, entries, count = [], [], 0
    for conv in conversations:
        keys = conv.sealed_to or [r.secret_key.public_key for r in conv.recipients]
        blobs = []
        for plaintext in conv.items:
            blob = envelope.seal(plaintext, keys)
            if damage is not None:
                blob = damage(blob, count)
            count += 1
            blobs.append(blob)
        sealed += blobs
        entries.append(ConversationEntry(
            conv.id, tuple(r.responder for r in conv.recipients),
            tuple(ItemEntry(i, len(b)) for i, b in zip(conv.item_ids, blobs)),
            conv.reporter.public_key if conv.reporter else None))
    with open(path, "wb") as out:
        writer = BundleWriter(out, Manifest("export", DATE, tuple(entries)))
        for blob in sealed:
            writer.write(blob)
        writer.close()
    return path


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
