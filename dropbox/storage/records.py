"""What the tables hold, as values: conversations, items, and items waiting to be stored."""
from __future__ import annotations

import base64
import datetime
import json
import secrets
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from nacl.public import PublicKey

from keys.envelope import Origin
from keys.ids import check_id
from keys.responder import Responder


class StorageError(Exception):
    """Something the operator must hear about: a missing name, a full disk."""


def today() -> str:
    return datetime.date.today().isoformat()


def new_id() -> str:
    return secrets.token_hex(16)


# What the reporter's pages may show of a conversation, and what moves its last activity (and
# so its deletion day): a note is the team's alone, and the reporter must not learn it exists.
REPORTER_SEES = (Origin.REPORTER, Origin.TEAM)


# SQLite caps the parameters of one query (32,766 by default): lists of ids go in batches.
BATCH = 500


def batches(ids: list[str]) -> Iterator[tuple[list[str], str]]:
    """Each batch of `ids`, with the `?, ?, ...` that an `IN (...)` of it needs."""
    for start in range(0, len(ids), BATCH):
        batch = ids[start:start + BATCH]
        yield batch, ", ".join("?" * len(batch))


@dataclass(frozen=True)
class Conversation:
    id: str
    reporter_key: PublicKey
    recipients: tuple[Responder, ...]
    created: str
    last_activity: str


@dataclass(frozen=True)
class Item:
    seq: int
    id: str
    conversation_id: str
    origin: Origin
    header: bytes
    payload_size: int
    created: str
    proof: str | None = None  # a signed team reply's proof, JSON (keys.bundle.Proof)
    receipt: bytes | None = None  # a reporter's item's, sealed to them (dropbox.receipts)
    invitation_id: str | None = None  # an item of the person reported, or of the team to them

    @property
    def envelope_size(self) -> int:
        return len(self.header) + self.payload_size


@dataclass(frozen=True)
class StagedItem:
    """An encrypted payload waiting in tmp/ with its sealed header."""
    id: str
    header: bytes
    temp_path: Path
    payload_size: int
    proof: str | None = None
    receipt: bytes | None = None  # sealed to the reporter (dropbox.receipts)


class EnvelopeStream:
    """Reads a header held in memory, then a payload file, as one stream."""

    def __init__(self, header: bytes, payload: BinaryIO):
        self._header, self._payload = memoryview(header), payload

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            head, self._header = bytes(self._header), self._header[len(self._header):]
            return head + self._payload.read()
        head, self._header = bytes(self._header[:size]), self._header[size:]
        return head + self._payload.read(size - len(head)) if len(head) < size else head


def _recipients_json(recipients: tuple[Responder, ...]) -> str:
    return json.dumps([{"name": r.name, "public_key": base64.b64encode(bytes(r.public_key)).decode()}
                       for r in recipients])


def _recipients(text: str) -> tuple[Responder, ...]:
    return tuple(Responder(r["name"], PublicKey(base64.b64decode(r["public_key"])))
                 for r in json.loads(text))


def row_id(value: object) -> str:
    """An id read from the database: checked as it is read, since ids become paths."""
    return check_id(value, "the instance database")


def _conversation(row: sqlite3.Row) -> Conversation:
    return Conversation(row_id(row["id"]), PublicKey(row["reporter_key"]), _recipients(row["recipients"]),
                        row["created"], row["last_activity"])


def _item(row: sqlite3.Row) -> Item:
    return Item(row["seq"], row_id(row["id"]), row_id(row["conversation_id"]), Origin(row["origin"]),
                row["header"], row["payload_size"], row["created"], row["proof"], row["receipt"],
                None if row["invitation_id"] is None else row_id(row["invitation_id"]))
