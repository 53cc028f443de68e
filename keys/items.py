"""Items: what one envelope's plaintext holds.

Every message, file and reply is one envelope whose plaintext starts with a
small JSON record saying what it is (kind, original file name, day), then the
body. Keeping the name inside the envelope means the server never learns it.
"""
from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass
from typing import Iterator

from keys.errors import FormatError

KINDS = ("message", "file", "reply")
_LENGTH = struct.Struct(">I")
MAX_META = 64 * 1024
DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class ItemMeta:
    kind: str
    date: str
    name: str = ""

    def encode(self) -> bytes:
        """The prefix written before the body."""
        record = {"kind": self.kind, "date": self.date}
        if self.name:
            record["name"] = self.name
        data = json.dumps(record, ensure_ascii=False, sort_keys=True).encode("utf-8")
        return _LENGTH.pack(len(data)) + data


def split_item(chunks: Iterator[bytes]) -> tuple[ItemMeta, Iterator[bytes]]:
    """Read the metadata from an item's plaintext chunks; the rest is the body."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        if len(buffer) >= _LENGTH.size:
            (size,) = _LENGTH.unpack_from(buffer)
            if size > MAX_META:
                raise FormatError("item metadata is too large")
            if len(buffer) >= _LENGTH.size + size:
                break
    else:
        if len(buffer) < _LENGTH.size or len(buffer) < _LENGTH.size + _LENGTH.unpack_from(buffer)[0]:
            raise FormatError("item is too short to hold its metadata")
    (size,) = _LENGTH.unpack_from(buffer)
    try:
        record = json.loads(buffer[_LENGTH.size:_LENGTH.size + size].decode("utf-8"))
        meta = ItemMeta(kind=record["kind"], date=record["date"], name=record.get("name", ""))
        # The date becomes part of a file name offline: only a plain day may pass.
        if not all(isinstance(v, str) for v in (meta.kind, meta.date, meta.name)) \
                or not DATE_PATTERN.fullmatch(meta.date):
            raise ValueError
    except (ValueError, KeyError, TypeError, AttributeError):
        raise FormatError("item metadata is unreadable") from None
    if meta.kind not in KINDS:
        raise FormatError(f"unknown item kind {meta.kind!r}")
    rest = buffer[_LENGTH.size + size:]

    def body() -> Iterator[bytes]:
        if rest:
            yield rest
        yield from chunks

    return meta, body()
