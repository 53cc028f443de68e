"""Bundles, version 2: a stream of small records, each followed by the envelopes it announces.

A bundle carries encrypted items between the server and the air-gapped
machine (docs/FORMAT.md, "Bundle"). An export is made for one responder and
holds only the conversations they are a recipient of, so nothing about a
conversation that leaves them out (its readers, item count or sizes) is in
any file they handle. A reply file carries one signed reply with the files sent
with it, or one signed note.

There is no manifest up front: a record describes one conversation (or a
slice of a long one), so a bundle has no size limit a team can reach, and a
reader keeps one record in memory at a time. A checksum of everything closes
the file; the envelopes authenticate themselves, the reply signature
authenticates a reply, and each envelope's binding ties it to its place.

Version 1 bundles (v0.1.0) are read by `keys.bundle_v1`.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import struct
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from collections.abc import Iterator, Sequence

from nacl.exceptions import BadSignatureError
from nacl.public import PublicKey
from nacl.signing import SigningKey, VerifyKey

from keys import ids, strict
from keys.envelope import INVITED_ORIGINS, ITEM_ORIGINS, MAX_CONTEXT, SIGNED_ORIGINS, Origin, sealed_size
from keys.errors import FormatError
from keys.items import MAX_META, MAX_TEXT
from keys.responder import Responder, check_name

MAGIC = b"ODBXBDL"
VERSION = 2
KINDS = ("export", "reply")
CHECKSUM_SIZE = 32
MAX_RECORD = 1 << 20
MAX_ITEMS_PER_RECORD = 1000
MAX_RECIPIENTS = 255
MAX_INVITATIONS = 255  # of one conversation, listed in each of its records
DESIGNATION_PATTERN = re.compile(r"[a-z]{1,32}(-[a-z]{1,32}){1,3}(-[1-9][0-9]{0,8})?", re.ASCII)
_LENGTH = struct.Struct(">I")
# Each signed thing has its own context, so no signature can pass for another kind's.
SIGNATURE_CONTEXTS = {"reply": b"odbx-reply-v2\n", "note": b"odbx-note-v2\n",
                      "reply-file": b"odbx-reply-file-v2\n"}
MAX_ATTACHMENTS = 100  # files sent with one reply


def check_id(value: object) -> str:
    return ids.check_id(value, "bundle record")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def envelope_digest(envelope: bytes) -> bytes:
    return hashlib.blake2b(envelope, digest_size=32, person=b"odbx-reply").digest()


def readers_digest(keys: Sequence[PublicKey]) -> bytes:
    """Whom a reply's envelope is sealed to, as its author states it: the box keys in stanza
    order (the reporter's first). A SealedBox names no recipient, so only the author can say."""
    return hashlib.blake2b(b"".join(bytes(k) for k in keys), digest_size=32,
                           person=b"odbx-readers").digest()


def signed_message(conversation_id: str, item_id: str, author: str, position: int,
                   readers: bytes, digest: bytes, signed: str = "reply",
                   attached_to: str | None = None) -> bytes:
    """What an author signs: what it is (`signed`: a reply, a note or a reply's file), its
    place, its name, the reply a file goes with, its readers and the envelope's hash."""
    lines = f"{conversation_id}\n{item_id}\n{author}\n{position}\n"
    if signed == "reply-file":
        lines += f"{attached_to}\n"
    return SIGNATURE_CONTEXTS[signed] + lines.encode("ascii") + readers + digest


@dataclass(frozen=True)
class Proof:
    """A reply's author, the keys it is sealed to (`readers_digest`) and the author's Ed25519
    signature (see `signed_message`)."""
    author: str
    signature: bytes
    readers: bytes

    def to_json(self) -> dict[str, Any]:
        return {"author": self.author, "readers": _b64(self.readers),
                "signature": _b64(self.signature)}

    @classmethod
    def from_json(cls, record: object) -> Proof:
        record = strict.fields(record, "bundle record", {"author", "readers", "signature"})
        return cls(check_name(strict.text(record["author"], "bundle record", 64)),
                   strict.b64(record["signature"], 64, "bundle record", "signature"),
                   strict.b64(record["readers"], 32, "bundle record", "readers digest"))

    @classmethod
    def sign(cls, key: SigningKey, author: str, conversation_id: str, item_id: str,
             position: int, envelope: bytes, readers: Sequence[PublicKey], signed: str = "reply",
             attached_to: str | None = None) -> Proof:
        digest = readers_digest(readers)
        message = signed_message(conversation_id, item_id, author, position, digest,
                                 envelope_digest(envelope), signed, attached_to)
        return cls(author, key.sign(message).signature, digest)

    def verify(self, key: VerifyKey, conversation_id: str, item_id: str, position: int,
               digest: bytes, signed: str = "reply", attached_to: str | None = None) -> bool:
        try:
            key.verify(signed_message(conversation_id, item_id, self.author, position,
                                      self.readers, digest, signed, attached_to),
                       self.signature)
        except BadSignatureError:
            return False
        return True


@dataclass(frozen=True)
class ItemEntry:
    id: str
    size: int
    origin: Origin = Origin.REPORTER
    position: int | None = None  # None: an item made before binding (v0.1.0)
    proof: Proof | None = None  # its author's signature; None for reporter items and old replies
    attached_to: str | None = None  # a file sent with a reply: the reply's id
    invitation: str | None = None  # the invitation of an item of the person reported (INVITED_ORIGINS)

    @property
    def signed(self) -> str:
        """What its proof signs it as (FORMAT.md: a reply, a reply's file or a note; a message
        to the person reported is signed as a reply, its binding says to whom)."""
        if self.origin == Origin.NOTE:
            return "note"
        return "reply" if self.attached_to is None else "reply-file"

    def to_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {"id": self.id, "size": self.size, "origin": self.origin}
        if self.position is not None:
            record["position"] = self.position
        if self.proof is not None:
            record["proof"] = self.proof.to_json()
        if self.attached_to is not None:
            record["attached_to"] = self.attached_to
        if self.invitation is not None:
            record["invitation"] = self.invitation
        return record

    @classmethod
    def from_json(cls, record: object) -> ItemEntry:
        record = strict.fields(record, "bundle record", {"id", "size", "origin"},
                               {"position", "proof", "attached_to", "invitation"})
        if record["origin"] not in ITEM_ORIGINS:
            raise FormatError("bundle record holds an unknown item origin")
        origin = Origin(record["origin"])
        if origin in (Origin.REPORTER, Origin.RESPONDENT) and record.get("proof") is not None:
            raise FormatError("bundle record holds a proof on a reporter item (only a reply has one)")
        if origin == Origin.NOTE and (record.get("proof") is None or record.get("position") is None):
            raise FormatError("bundle record holds a note without its place or its signature")
        attached_to = record.get("attached_to")
        if attached_to is not None and (origin != Origin.TEAM or record.get("proof") is None):
            raise FormatError("bundle record ties an item to a reply, and only a signed file "
                              "of the team may be")
        invitation = record.get("invitation")
        if (invitation is None) == (origin in INVITED_ORIGINS):
            raise FormatError("bundle record: an item names an invitation if and only if it is of "
                              "the person reported (origin respondent or to-respondent)")
        position = record.get("position")
        return cls(check_id(record["id"]), strict.size(record["size"], "bundle record"), origin,
                   None if position is None else strict.size(position, "bundle record"),
                   None if record.get("proof") is None else Proof.from_json(record["proof"]),
                   None if attached_to is None else check_id(attached_to),
                   None if invitation is None else check_id(invitation))


def responder_json(responder: Responder) -> dict[str, Any]:
    record = {"name": responder.name, "public_key": _b64(bytes(responder.public_key))}
    if responder.signing_key is not None:
        record["signing_key"] = _b64(bytes(responder.signing_key))
    return record


def responder_from_json(record: object) -> Responder:
    record = strict.fields(record, "bundle record", {"name", "public_key"}, {"signing_key"})
    signing = record.get("signing_key")
    return Responder(check_name(strict.text(record["name"], "bundle record", 64)),
                     PublicKey(strict.b64(record["public_key"], 32, "bundle record")),
                     None if signing is None else VerifyKey(strict.b64(signing, 32, "bundle record")))


@dataclass(frozen=True)
class InvitationEntry:
    """An invitation to the person reported: its id and the public key its codename derives to."""
    id: str
    public_key: PublicKey

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "public_key": _b64(bytes(self.public_key))}

    @classmethod
    def from_json(cls, record: object) -> InvitationEntry:
        record = strict.fields(record, "bundle record", {"id", "public_key"})
        return cls(check_id(record["id"]), PublicKey(strict.b64(record["public_key"], 32, "bundle record")))


@dataclass(frozen=True)
class ConversationEntry:
    """One conversation, or the next slice of its items (a long one spans several records)."""
    id: str
    items: tuple[ItemEntry, ...]
    recipients: tuple[Responder, ...] = ()
    reporter_key: PublicKey | None = None
    designation: str = ""
    handlers: tuple[str, ...] = ()  # readers handling the case, as the desk has them (names)
    invitations: tuple[InvitationEntry, ...] = ()

    def invitation(self, invitation_id: str | None) -> InvitationEntry | None:
        return next((i for i in self.invitations if i.id == invitation_id), None)

    def to_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {"type": "conversation", "id": self.id,
                                  "recipients": [responder_json(r) for r in self.recipients],
                                  "items": [i.to_json() for i in self.items]}
        if self.reporter_key is not None:
            record["reporter_key"] = _b64(bytes(self.reporter_key))
        if self.designation:
            record["designation"] = self.designation
        if self.invitations:
            record["invitations"] = [i.to_json() for i in self.invitations]
        if self.handlers:
            record["handlers"] = list(self.handlers)
        return record

    @classmethod
    def from_json(cls, record: object) -> ConversationEntry:
        record = strict.fields(record, "bundle record", {"type", "id", "recipients", "items"},
                               {"reporter_key", "designation", "handlers", "invitations"})
        designation = record.get("designation", "")
        if "designation" in record and (not isinstance(designation, str)
                                        or not DESIGNATION_PATTERN.fullmatch(designation)):
            raise FormatError("bundle record holds an invalid designation")
        recipients = tuple(responder_from_json(r) for r in strict.array(record["recipients"],
                                                                        "bundle record", MAX_RECIPIENTS))
        if len({r.name for r in recipients}) != len(recipients):
            raise FormatError("bundle record names a recipient twice")
        handlers = tuple(strict.text(h, "bundle record") for h in
                         strict.array(record.get("handlers", []), "bundle record", MAX_RECIPIENTS))
        if "handlers" in record and not handlers:
            raise FormatError("bundle record holds an empty list of handlers (it leaves the field out)")
        if len(set(handlers)) != len(handlers) or not set(handlers) <= {r.name for r in recipients}:
            raise FormatError("bundle record names a handler twice, or one who is not a recipient")
        reporter = record.get("reporter_key")
        invitations = tuple(InvitationEntry.from_json(i) for i in strict.array(
            record.get("invitations", []), "bundle record", MAX_INVITATIONS))
        if len({i.id for i in invitations}) != len(invitations):
            raise FormatError("bundle record names an invitation twice")
        items = tuple(ItemEntry.from_json(i)
                      for i in strict.array(record["items"], "bundle record", MAX_ITEMS_PER_RECORD))
        if any(i.invitation is not None and i.invitation not in {v.id for v in invitations}
               for i in items):
            raise FormatError("bundle record: an item names an invitation the record does not list")
        return cls(check_id(record["id"]), items, recipients,
                   None if reporter is None else PublicKey(strict.b64(reporter, 32, "bundle record")),
                   designation, handlers, invitations)


@dataclass(frozen=True)
class Head:
    """The first record: what kind of bundle, when, and (an export) for whom."""
    kind: str
    created: str
    recipient: Responder | None = None

    def to_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {"type": "bundle", "kind": self.kind, "created": self.created}
        if self.recipient is not None:
            record["for"] = responder_json(self.recipient)
        return record

    @classmethod
    def from_json(cls, record: object) -> Head:
        record = strict.fields(record, "bundle record", {"type", "kind", "created"}, {"for"})
        if record["type"] != "bundle":
            raise FormatError("bundle does not start with its head record")
        if record["kind"] not in KINDS:
            raise FormatError(f"unknown bundle kind {str(record['kind'])[:20]!r}")
        return cls(record["kind"], strict.date(record["created"], "bundle record"),
                   None if record.get("for") is None else responder_from_json(record["for"]))


@dataclass(frozen=True)
class End:
    """The last record: how many conversation records came, and (an export) how many
    conversations of this export leave its responder out, or None where not told."""
    records: int
    excluded: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"type": "end", "records": self.records, "excluded": self.excluded}

    @classmethod
    def from_json(cls, record: object) -> End:
        record = strict.fields(record, "bundle record", {"type", "records", "excluded"})
        excluded = record["excluded"]
        return cls(strict.size(record["records"], "bundle record"),
                   None if excluded is None else strict.size(excluded, "bundle record"))


class BundleWriter:
    """Writes a bundle: the head, then each record followed by exactly its envelopes."""

    def __init__(self, out: BinaryIO, head: Head):
        self._out = out
        self._hash = hashlib.blake2b(digest_size=CHECKSUM_SIZE, person=b"odbx-bundle")
        self._owed = 0
        self._records = 0
        self._emit(MAGIC + bytes([VERSION]))
        self._record(head.to_json())

    def conversation(self, entry: ConversationEntry) -> None:
        """Announce a record; its envelopes must follow through `write`, in order."""
        if self._owed:
            raise ValueError("fewer envelope bytes than the record announces")
        if len(entry.items) > MAX_ITEMS_PER_RECORD:
            raise ValueError("split a long conversation into records of at most "
                             f"{MAX_ITEMS_PER_RECORD} items")
        self._record(entry.to_json())
        self._owed = sum(i.size for i in entry.items)
        self._records += 1

    def write(self, data: bytes) -> None:
        if len(data) > self._owed:
            raise ValueError("more envelope bytes than the record announces")
        self._owed -= len(data)
        self._emit(data)

    def close(self, excluded: int | None = None) -> None:
        if self._owed:
            raise ValueError("fewer envelope bytes than the record announces")
        self._record(End(self._records, excluded).to_json())
        self._out.write(self._hash.digest())

    def _record(self, record: object) -> None:
        data = json.dumps(record, sort_keys=True, separators=(",", ":")).encode("utf-8")
        if len(data) > MAX_RECORD:
            raise ValueError("bundle record is too large")
        self._emit(_LENGTH.pack(len(data)) + data)

    def _emit(self, data: bytes) -> None:
        self._hash.update(data)
        self._out.write(data)


class EnvelopeView:
    """A read-only view of the next `size` bytes of a bundle (either version): one envelope."""

    def __init__(self, reader: ChecksummedStream, size: int):
        self._reader, self._left = reader, size

    def read(self, size: int = -1) -> bytes:
        if size < 0 or size > self._left:
            size = self._left
        data = self._reader._read(size)
        self._left -= len(data)
        return data

    def drain(self) -> None:
        if self._left:
            self._reader._skip(self._left)
            self._left = 0


class ChecksummedStream:
    """One pass over a bundle (either version), hashing what is read for the final checksum.

    `whole_checksum=False` is for a reader that opens every envelope it uses: each
    authenticates itself, so hashing the whole file (which costs more than decrypting
    it) adds nothing, and envelopes it need not open are skipped. Sizes and the end of
    the file are still checked.
    """

    def __init__(self, stream: BinaryIO, whole_checksum: bool):
        self._stream = stream
        self.whole_checksum = whole_checksum
        self._hash = hashlib.blake2b(digest_size=CHECKSUM_SIZE, person=b"odbx-bundle")

    def _verify_end(self) -> None:
        expected = self._hash.digest()
        digest = self._stream.read(CHECKSUM_SIZE)
        if len(digest) != CHECKSUM_SIZE:
            raise FormatError("bundle is truncated")
        if self.whole_checksum and digest != expected:
            raise FormatError("bundle is damaged (its checksum does not match)")
        if self._stream.read(1):
            raise FormatError("bundle has bytes after its end")

    def _read(self, size: int) -> bytes:
        data = self._stream.read(size)
        if self.whole_checksum:
            self._hash.update(data)
        return data

    def _skip(self, size: int) -> None:
        if not self.whole_checksum and self._stream.seekable():
            here = self._stream.tell()
            if self._stream.seek(0, io.SEEK_END) - here < size:
                raise FormatError("bundle is truncated")
            self._stream.seek(here + size)
            return
        while size and (chunk := self._read(min(size, 1 << 20))):
            size -= len(chunk)
        if size:
            raise FormatError("bundle is truncated")

    def _read_exact(self, size: int) -> bytes:
        data = self._read(size)
        if len(data) != size:
            raise FormatError("bundle is truncated")
        return data


class BundleReader(ChecksummedStream):
    """Reads a version 2 bundle in one pass, one record in memory at a time."""

    def __init__(self, stream: BinaryIO, whole_checksum: bool = True):
        super().__init__(stream, whole_checksum)
        start = self._read_exact(len(MAGIC) + 1)
        if start[:len(MAGIC)] != MAGIC:
            raise FormatError("not an onion-dropbox bundle")
        if start[len(MAGIC)] != VERSION:
            raise FormatError(f"bundle version {start[len(MAGIC)]} is not supported")
        self.head = Head.from_json(self._next_record())
        self._end: End | None = None

    @property
    def end(self) -> End:
        """The end record, read once `records()` has gone through them all."""
        if self._end is None:
            raise ValueError("the bundle's end is read after all its records")
        return self._end

    def records(self) -> Iterator[tuple[ConversationEntry, Iterator[tuple[ItemEntry, EnvelopeView]]]]:
        """Each conversation record with an iterator over its envelopes; unread bytes are skipped."""
        count, previous = 0, None
        seen: set[str] = set()
        item_ids: set[str] = set()
        while True:
            record = self._next_record()
            if record.get("type") == "end":
                self._end = End.from_json(record)
                break
            if record.get("type") != "conversation":
                raise FormatError("bundle holds an unknown record")
            entry = ConversationEntry.from_json(record)
            item_ids = _check_sequence(entry, previous, seen, item_ids)
            previous = entry
            count += 1
            envelopes = self._envelopes(entry)
            yield entry, envelopes
            for _ in envelopes:  # whatever the caller left unread
                pass
        if self.end.records != count:
            raise FormatError("bundle is damaged (its record count does not match)")
        self._verify_end()

    def _envelopes(self, entry: ConversationEntry) -> Iterator[tuple[ItemEntry, EnvelopeView]]:
        for item in entry.items:
            view = EnvelopeView(self, item.size)
            yield item, view
            view.drain()

    def _next_record(self) -> dict[str, Any]:
        (size,) = _LENGTH.unpack(self._read_exact(_LENGTH.size))
        if size > MAX_RECORD:
            raise FormatError("bundle record is too large")
        return strict.load_json(self._read_exact(size), "bundle record", max_depth=6)


def _check_sequence(entry: ConversationEntry, previous: ConversationEntry | None, seen: set[str],
                    item_ids: set[str]) -> set[str]:
    """A record must hold items, and be its conversation's first or continue the record before it
    unchanged, so that what a bundle makes a reader do grows with its items, not its records
    (docs/FORMAT.md, "Bundle"). Returns the item ids its conversation has had so far."""
    if not entry.items:
        raise FormatError("bundle holds a record with no items")
    if previous is not None and previous.id == entry.id:
        if (entry.recipients, entry.reporter_key, entry.designation, entry.handlers, entry.invitations) \
                != (previous.recipients, previous.reporter_key, previous.designation, previous.handlers,
                    previous.invitations):
            raise FormatError(f"a record that continues conversation {entry.id} changes its "
                              "recipients, reporter key, designation or handlers, or its invitations")
    elif entry.id in seen:
        raise FormatError(f"the records of conversation {entry.id} are not one after another")
    else:
        seen.add(entry.id)
        item_ids = set()
    for item in entry.items:
        if item.id in item_ids:
            raise FormatError(f"bundle lists item {item.id} twice")
        item_ids.add(item.id)
    return item_ids


def bundle_version(stream: BinaryIO) -> int:
    """The version byte of a bundle (1 or 2), the stream rewound; FormatError if not a bundle."""
    start = stream.read(len(MAGIC) + 1)
    stream.seek(0)
    if len(start) != len(MAGIC) + 1 or start[:len(MAGIC)] != MAGIC:
        raise FormatError("not an onion-dropbox bundle")
    return start[len(MAGIC)]


@dataclass
class ReplyFile:
    """A reply file's reply (with the files sent with it) or note: where it goes, its signed
    proof and the envelope."""
    head: Head
    conversation_id: str
    item: ItemEntry
    envelope: bytes = field(repr=False)
    attachments: list[tuple[ItemEntry, bytes]] = field(default_factory=list, repr=False)


# A reply's envelope: a text of at most 4 MiB and its metadata, sealed to at most 255 keys.
MAX_REPLY = sealed_size(4 + MAX_META + MAX_TEXT, MAX_RECIPIENTS, MAX_CONTEXT)
MAX_REPLY_FILE = MAX_REPLY + (64 << 10)  # one reply, and records far larger than a reply's


def _size_left(stream: BinaryIO) -> int | None:
    """How many bytes `stream` holds from here, or None if it cannot tell."""
    if not stream.seekable():
        return None
    here = stream.tell()
    size = stream.seek(0, io.SEEK_END) - here
    stream.seek(here)
    return size


def _check_reply_items(entry: ConversationEntry, max_attachment: int, max_attachments: int) -> None:
    """What a reply file's one record may list (FORMAT.md, "Reply file"), checked before any
    envelope is read."""
    first, *files = entry.items
    if any(item.origin != Origin.TEAM or item.attached_to is None for item in files):
        raise FormatError("a reply file holds exactly one reply, and the files sent with it")
    if first.origin not in (*SIGNED_ORIGINS, Origin.NOTE) or first.attached_to is not None:
        raise FormatError("a reply file's item is not from the team"
                          if first.origin in (Origin.REPORTER, Origin.RESPONDENT)
                          else "a reply file's files come after their reply, and this has none")
    if files and first.origin == Origin.TO_RESPONDENT:
        raise FormatError("a message to the person reported carries no files")
    if first.position is None:
        raise FormatError("a reply file's item has no position")
    if first.proof is None:
        raise FormatError("reply is not signed")
    if first.size > MAX_REPLY:
        raise FormatError("reply is too large (its text is at most 4 MiB)")
    if files and first.origin == Origin.NOTE:
        raise FormatError("a reply file holds one note alone")
    if len(files) > MAX_ATTACHMENTS:
        raise FormatError(f"a reply carries at most {MAX_ATTACHMENTS} files")
    for item in files:
        if item.attached_to != first.id:
            raise FormatError("a file in this reply file is tied to another reply")
        if item.size > max_attachment:
            raise FormatError(f"a file sent with the reply is larger than this server takes "
                              f"({max_attachment:,} bytes sealed)")
    if sum(item.size for item in files) > max_attachments:
        raise FormatError(f"the files sent with the reply are larger together than this server "
                          f"takes ({max_attachments:,} bytes sealed)")


def read_reply_file(stream: BinaryIO, max_attachment: int = 0, max_attachments: int = 0) -> ReplyFile:
    """A version 2 reply file, whole and checked against every rule of FORMAT.md's "Reply
    file", in memory: a file larger than a reply and the attachments the caller takes
    (`max_attachment` bytes sealed each, `max_attachments` together) is refused before it is
    read, and a record listing what a reply file cannot hold before any envelope is read."""
    size = _size_left(stream)
    largest = MAX_REPLY_FILE + max_attachments
    if size is not None and size > largest:
        raise FormatError(f"this file is larger than any reply file this server takes "
                          f"({largest:,} bytes at most)")
    reader = BundleReader(stream)
    if reader.head.kind != "reply":
        raise FormatError(f"this is an {reader.head.kind} bundle, not a reply file")
    if reader.head.recipient is not None:
        raise FormatError("a reply file's head names no responder (it has a `for`)")
    found = None
    for entry, envelopes in reader.records():
        if found is not None:
            raise FormatError("a reply file holds one conversation record, and this has more")
        if entry.recipients or entry.reporter_key is not None or entry.designation or entry.handlers:
            raise FormatError("a reply file's record names no recipients, reporter key or "
                              "designation, nor handlers: the server has them")
        _check_reply_items(entry, max_attachment, max_attachments)
        first = entry.items[0]
        if [i.id for i in entry.invitations] != ([first.invitation] if first.invitation else []):
            raise FormatError("a reply file's record lists only the invitation its reply is to")
        read = [(item, view.read()) for item, view in envelopes]
        found = ReplyFile(reader.head, entry.id, read[0][0], read[0][1], read[1:])
    if found is None:
        raise FormatError("a reply file holds exactly one reply")
    if reader.end.excluded is not None:
        raise FormatError("a reply file's end record says nothing of excluded conversations")
    return found
