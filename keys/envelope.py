"""Envelopes: one payload sealed to several X25519 public keys.

An envelope is a header followed by a payload (docs/FORMAT.md, "Envelope").
The header carries one anonymous stanza per recipient (a SealedBox of the
random file key), the secretstream header, and a MAC over all of it under a
key derived from the file key, so a removed, added or swapped stanza is
detected. The payload is libsodium secretstream XChaCha20-Poly1305 in 64 KiB
chunks closed by TAG_FINAL, so reordering, truncation and trailing bytes are
detected too.

Version 2 adds two things to the header, both under its MAC: the item's
place (`Binding`: conversation, origin, position), so an envelope moved to
another conversation or place is caught; and the item's true length, masked
with a key derived from the file key, so the payload can be padded to a
Padmé bucket and its size says only roughly how large the item is. Version 1
envelopes (v0.1.0) are still read: unbound, unpadded.

The payload can be written before the recipients are known (`PayloadSealer`):
the server streams an upload into ciphertext while the form is still arriving,
and seals the header once it knows whom the reporter chose.
"""
from __future__ import annotations

import hashlib
import hmac
import io
import os
import re
import struct
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol
from collections.abc import Iterator, Sequence

from nacl import bindings as sodium
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

from keys.errors import FormatError
from keys.ids import ID_PATTERN

MAGIC = b"ODBXENV"
VERSION = 2
VERSIONS = (1, 2)
MIN_PADDED = 1024
MAX_LENGTH = 1 << 48  # 256 TiB: more than any item, small enough that padding stays exact
MAX_CONTEXT = 128
_LENGTH = struct.Struct(">Q")


class Origin(StrEnum):
    """Who added an item: the one list of origins, for bindings, bundles and the server's rows.
    A new kind of writer (a new party to a conversation) is one more member here."""
    REPORTER = "reporter"
    TEAM = "team"
    RESPONDENT = "respondent"  # the person reported, answering an invitation (FORMAT.md)
    TO_RESPONDENT = "to-respondent"  # the team's signed message to the person reported
    NOTE = "note"  # a responder's note to the conversation's other readers, never the reporter's
    BACKUP = "backup"  # a backup's own envelope (dropbox/backup.py), never an item of a conversation


# The origins an item of a conversation may have (in a bundle, on the server).
ITEM_ORIGINS = tuple(origin for origin in Origin if origin is not Origin.BACKUP)
# Signed replies, written offline (FORMAT.md, "Reply file"), and the person reported's items,
# each of which names its invitation ("The person reported").
SIGNED_ORIGINS = (Origin.TEAM, Origin.TO_RESPONDENT)
INVITED_ORIGINS = (Origin.RESPONDENT, Origin.TO_RESPONDENT)
_CONTEXT = re.compile(rf"({ID_PATTERN.pattern})/({'|'.join(Origin)})/(0|[1-9][0-9]{{0,8}})", re.ASCII)
CHUNK_SIZE = 64 * 1024
FILE_KEY_SIZE = 32
STANZA_SIZE = 32 + 48  # SealedBox: ephemeral public key + MAC + file key
MAC_SIZE = 32
MAX_RECIPIENTS = 255

_SS = sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES
_ABYTES = sodium.crypto_secretstream_xchacha20poly1305_ABYTES
_TAG_MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
_TAG_FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL
SEALED_CHUNK_SIZE = CHUNK_SIZE + _ABYTES


class Readable(Protocol):
    """What an envelope is read from: a file, or a view of one envelope inside a bundle."""

    def read(self, size: int = -1, /) -> bytes: ...


class Writable(Protocol):
    """What a payload is sealed into: a file, or a stage that passes it on."""

    def write(self, data: bytes, /) -> int: ...


class NotARecipient(FormatError):
    """The key opens none of the envelope's stanzas."""


@dataclass(frozen=True)
class Binding:
    """Where an item belongs: its conversation, who added it, and its place.

    For the reporter's items `position` counts the reporter's items before it
    (the report is 0); for a team reply it is how many of the reporter's items
    its author had seen when writing it. A backup's envelope (dropbox/backup.py)
    is bound to a random id of its own, origin "backup", position 0."""
    conversation_id: str
    origin: Origin
    position: int

    def encode(self) -> bytes:
        text = f"{self.conversation_id}/{self.origin}/{self.position}"
        if not _CONTEXT.fullmatch(text):
            raise ValueError(f"not a usable binding: {text!r}")
        return text.encode("ascii")

    @classmethod
    def decode(cls, data: bytes) -> Binding:
        match = _CONTEXT.fullmatch(data.decode("ascii", errors="replace"))
        if match is None:
            raise FormatError("envelope header holds an unreadable binding")
        return cls(match[1], Origin(match[2]), int(match[3]))


def padded_size(length: int) -> int:
    """Padmé (Nikitin et al., 2019) of `length`, at least MIN_PADDED bytes.

    Rounds up to a number whose binary form keeps only the top ⌊log2 E⌋ + 1 bits
    after the leading one (E = ⌊log2 L⌋): at most 6.25 % more from 1 KiB on,
    3.1 % from 64 KiB, and each size reveals about log2(log2 L) bits."""
    length = max(length, MIN_PADDED)
    exponent = length.bit_length() - 1
    low_bits = exponent - exponent.bit_length()
    mask = (1 << low_bits) - 1
    return (length + mask) & ~mask


def _subkey(file_key: bytes, purpose: bytes) -> bytes:
    return hashlib.blake2b(purpose, key=file_key, digest_size=32,
                           person=b"odbx-envelope").digest()


def header_size(recipient_count: int, binding: Binding) -> int:
    return _header_size(recipient_count, len(binding.encode()))


def _header_size(recipient_count: int, binding_size: int) -> int:
    return len(MAGIC) + 2 + recipient_count * STANZA_SIZE + _SS + _LENGTH.size + 1 + binding_size + MAC_SIZE


def sealed_size(length: int, recipient_count: int, binding_size: int) -> int:
    """The size of a version 2 envelope of an item of `length` bytes (FORMAT.md, "Payload")."""
    padded = padded_size(length)
    return (_header_size(recipient_count, binding_size)
            + padded // CHUNK_SIZE * SEALED_CHUNK_SIZE + padded % CHUNK_SIZE + _ABYTES)


class PayloadSealer:
    """Streams plaintext into payload ciphertext under a fresh file key.

    Memory stays at one chunk whatever the payload's size. Call `finish()`
    once, then `header(recipients)` to get the bytes that go before it.
    """

    def __init__(self, out: Writable):
        self._out = out
        self._file_key = os.urandom(FILE_KEY_SIZE)
        self._state = sodium.crypto_secretstream_xchacha20poly1305_state()
        self._ss_header = sodium.crypto_secretstream_xchacha20poly1305_init_push(
            self._state, _subkey(self._file_key, b"payload"))
        self._pending = bytearray()
        self._finished = False
        self.plaintext_size = 0
        self.ciphertext_size = 0

    def write(self, data: bytes | memoryview) -> int:
        if self._finished:
            raise ValueError("write after finish")
        self.plaintext_size += len(data)
        self._feed(data)
        return len(data)

    def _feed(self, data: bytes | memoryview) -> None:
        # Whole chunks are cut straight from `data`; only a short rest waits in `_pending`.
        # One copy per byte before the cipher, since an upload's every byte passes here.
        view = memoryview(data)
        if self._pending:
            view = view[self._fill(view):]
        whole = len(view) - len(view) % CHUNK_SIZE
        for start in range(0, whole, CHUNK_SIZE):
            self._push(view[start:start + CHUNK_SIZE].tobytes(), _TAG_MESSAGE)
        self._pending += view[whole:]

    def _fill(self, view: memoryview) -> int:
        """Complete the pending chunk from `view` (pushed once full); returns the bytes taken."""
        taken = min(CHUNK_SIZE - len(self._pending), len(view))
        self._pending += view[:taken]
        if len(self._pending) == CHUNK_SIZE:
            self._push(bytes(self._pending), _TAG_MESSAGE)
            self._pending.clear()
        return taken

    def finish(self) -> None:
        """Pad with zeros to the Padmé size, then seal the last (always short) chunk with TAG_FINAL."""
        if not self._finished:
            padding = padded_size(self.plaintext_size) - self.plaintext_size
            zeros = bytes(min(padding, CHUNK_SIZE))
            while padding:
                self._feed(zeros[:padding])
                padding -= min(padding, CHUNK_SIZE)
            self._push(bytes(self._pending), _TAG_FINAL)
            self._pending.clear()
            self._finished = True

    def header(self, recipients: Sequence[PublicKey], binding: Binding) -> bytes:
        if not self._finished:
            raise ValueError("header before finish")
        if not 1 <= len(recipients) <= MAX_RECIPIENTS:
            raise ValueError(f"an envelope needs 1 to {MAX_RECIPIENTS} recipients")
        context = binding.encode()
        body = bytearray(MAGIC)
        body += bytes([VERSION, len(recipients)])
        for key in recipients:
            body += SealedBox(key).encrypt(self._file_key)
        body += self._ss_header
        body += _mask_length(self._file_key, self.plaintext_size)
        body += bytes([len(context)]) + context
        mac = hmac.new(_subkey(self._file_key, b"header"), bytes(body), "sha256").digest()
        return bytes(body) + mac

    def _push(self, chunk: bytes, tag: int) -> None:
        sealed = sodium.crypto_secretstream_xchacha20poly1305_push(self._state, chunk, None, tag)
        self._out.write(sealed)
        self.ciphertext_size += len(sealed)


def seal(plaintext: bytes, recipients: Sequence[PublicKey], binding: Binding) -> bytes:
    """A whole envelope in memory, for small items such as messages."""
    payload = io.BytesIO()
    sealer = PayloadSealer(payload)
    sealer.write(plaintext)
    sealer.finish()
    return sealer.header(recipients, binding) + payload.getvalue()


def _mask_length(file_key: bytes, length: int) -> bytes:
    mask = hashlib.blake2b(b"length", key=file_key, digest_size=8, person=b"odbx-envelope").digest()
    return bytes(a ^ b for a, b in zip(_LENGTH.pack(length), mask, strict=True))


@dataclass(frozen=True)
class Header:
    version: int
    stanzas: tuple[bytes, ...]
    ss_header: bytes
    mac: bytes
    signed_part: bytes
    masked_length: bytes = b""  # version 2 only
    binding: Binding | None = None  # None: made before binding (version 1)

    @property
    def size(self) -> int:
        return len(self.signed_part) + MAC_SIZE


def read_header(stream: Readable) -> Header:
    """Parse (without opening) an envelope header; raises FormatError."""
    start = _read_exact(stream, len(MAGIC) + 2, "envelope header")
    if start[: len(MAGIC)] != MAGIC:
        raise FormatError("not an onion-dropbox envelope")
    version, count = start[len(MAGIC)], start[len(MAGIC) + 1]
    if version not in VERSIONS:
        raise FormatError(f"envelope version {version} is not supported (this is version {VERSION})")
    if count == 0:
        raise FormatError("envelope has no recipients")
    rest = _read_exact(stream, count * STANZA_SIZE + _SS, "envelope header")
    stanzas = tuple(rest[i * STANZA_SIZE:(i + 1) * STANZA_SIZE] for i in range(count))
    ss_header = rest[count * STANZA_SIZE:]
    if version == 1:
        mac = _read_exact(stream, MAC_SIZE, "envelope header")
        return Header(version, stanzas, ss_header, mac, start + rest)
    extra = _read_exact(stream, _LENGTH.size + 1, "envelope header")
    context_size = extra[-1]
    if not 1 <= context_size <= MAX_CONTEXT:
        raise FormatError("envelope header holds an unreadable binding")
    context = _read_exact(stream, context_size, "envelope header")
    mac = _read_exact(stream, MAC_SIZE, "envelope header")
    return Header(version, stanzas, ss_header, mac, start + rest + extra + context,
                  extra[:_LENGTH.size], Binding.decode(context))


def unwrap_file_key(header: Header, secret_key: PrivateKey) -> bytes:
    """The file key, if `secret_key` is a recipient and the header is intact."""
    box = SealedBox(secret_key)
    for stanza in header.stanzas:
        try:
            file_key = box.decrypt(stanza)
        except CryptoError:
            continue
        expected = hmac.new(_subkey(file_key, b"header"), header.signed_part, "sha256").digest()
        if not hmac.compare_digest(expected, header.mac):
            raise FormatError("envelope header has been altered")
        return file_key
    raise NotARecipient("this key is not among the envelope's recipients")


def open_payload(stream: Readable, header: Header, file_key: bytes) -> Iterator[bytes]:
    """Yield verified plaintext chunks; raises FormatError on any damage.

    Each chunk is authentic when yielded, but the payload as a whole is only
    complete once the iterator ends without error: callers must not treat
    what they got so far as the full item.
    """
    chunks = _open_stream(stream, header, file_key)
    if header.version == 1:
        yield from chunks
        return
    # XOR with the mask of 0 is the mask itself: unmasking is masking again.
    (length,) = _LENGTH.unpack(bytes(a ^ b for a, b in zip(header.masked_length,
                                                            _mask_length(file_key, 0), strict=True)))
    if length > MAX_LENGTH:
        raise FormatError("envelope header holds an impossible length")
    expected, seen = padded_size(length), 0
    for chunk in chunks:
        start, seen = seen, seen + len(chunk)
        if seen > expected:
            raise FormatError("envelope payload is longer than its padded length")
        keep = max(0, min(len(chunk), length - start))
        if chunk[keep:] != bytes(len(chunk) - keep):
            raise FormatError("envelope padding is not zeros")
        if keep:
            yield chunk[:keep]
    if seen != expected:
        raise FormatError("envelope payload is shorter than its padded length")


def _open_stream(stream: Readable, header: Header, file_key: bytes) -> Iterator[bytes]:
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    sodium.crypto_secretstream_xchacha20poly1305_init_pull(
        state, header.ss_header, _subkey(file_key, b"payload"))
    while True:
        sealed = _read_up_to(stream, SEALED_CHUNK_SIZE)
        if len(sealed) < _ABYTES:
            raise FormatError("envelope payload is truncated")
        try:
            chunk, tag = sodium.crypto_secretstream_xchacha20poly1305_pull(state, sealed, None)
        except CryptoError:
            raise FormatError("envelope payload is damaged or out of order") from None
        if len(sealed) == SEALED_CHUNK_SIZE:
            if tag != _TAG_MESSAGE:
                raise FormatError("envelope payload has an unexpected final chunk")
            yield chunk
            continue
        if tag != _TAG_FINAL:
            raise FormatError("envelope payload is truncated")
        if stream.read(1):
            raise FormatError("envelope has bytes after its end")
        yield chunk
        return


def open_envelope(stream: Readable, secret_key: PrivateKey) -> Iterator[bytes]:
    header = read_header(stream)
    return open_payload(stream, header, unwrap_file_key(header, secret_key))


def open_bytes(envelope: bytes, secret_key: PrivateKey) -> bytes:
    return b"".join(open_envelope(io.BytesIO(envelope), secret_key))


def _read_up_to(stream: Readable, size: int) -> bytes:
    """`size` bytes, or fewer only at the end: a pipe or socket may return less per read."""
    data = stream.read(size)
    while len(data) < size:
        more = stream.read(size - len(data))
        if not more:
            break
        data += more
    return data


def _read_exact(stream: Readable, size: int, what: str) -> bytes:
    data = _read_up_to(stream, size)
    if len(data) != size:
        raise FormatError(f"{what} is truncated")
    return data

