"""Waitress's request-body spool, encrypted: no request body reaches disk in plaintext.

waitress reads a whole request body before the app runs. Bodies over
`inbuf_overflow` go to a `tempfile.TemporaryFile` -- plaintext on disk, even
if unlinked, and in $TMPDIR, a disk the instance's disk budget does not watch.
`SealedOverflowableBuffer` is waitress's own buffer with that overflow file
replaced by a `SealedSpool` in the instance's tmp/; dropbox/channel.py plugs
it in. The desk's request class hands Werkzeug a `SealedSpool` in tmp/ for each
file part of a form, for the same two reasons (dropbox/desk/app.py).

A `SealedSpool` is an append-only file of 64 KiB blocks, each sealed with
XChaCha20-Poly1305 under a key that exists only in this process's memory;
the nonce is the block's index, and a block is written exactly once (the
unfinished tail block stays in memory), so no nonce is ever reused. Reading
decrypts one block at a time, so memory stays flat whatever the body size.
"""
from __future__ import annotations

import io
import os
import tempfile
from typing import Any
from pathlib import Path

from nacl import bindings as sodium
from waitress.buffers import FileBasedBuffer, OverflowableBuffer

BLOCK = 64 * 1024
_ABYTES = sodium.crypto_aead_xchacha20poly1305_ietf_ABYTES
_SEALED = BLOCK + _ABYTES
_NONCE = sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES


class SealedSpool(io.RawIOBase):
    """A seekable, append-only temporary file that holds only ciphertext on disk."""

    def __init__(self, directory: Path):
        super().__init__()
        self._file = tempfile.TemporaryFile(dir=directory)  # unnamed where the OS allows
        self._key = os.urandom(sodium.crypto_aead_xchacha20poly1305_ietf_KEYBYTES)
        self._tail = bytearray()
        self._blocks = 0
        self._pos = 0
        self._cached: tuple[int, bytes] = (-1, b"")

    @property
    def size(self) -> int:
        return self._blocks * BLOCK + len(self._tail)

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def write(self, data) -> int:
        if self._pos != self.size:
            raise io.UnsupportedOperation("a sealed spool only appends")
        self._tail += data
        while len(self._tail) >= BLOCK:
            self._seal(bytes(self._tail[:BLOCK]))
            del self._tail[:BLOCK]
        self._pos = self.size
        return len(data)

    def read(self, size: int = -1) -> bytes:
        end = self.size if size is None or size < 0 else min(self.size, self._pos + size)
        out = bytearray()
        while self._pos < end:
            index, offset = divmod(self._pos, BLOCK)
            piece = self._block(index)[offset:offset + end - self._pos]
            out += piece
            self._pos += len(piece)
        return bytes(out)

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, min(base + offset, self.size))
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        if not self.closed:
            self._file.close()
            self._tail = bytearray()
            self._cached = (-1, b"")
        super().close()

    def _nonce(self, index: int) -> bytes:
        return index.to_bytes(_NONCE, "big")

    def _seal(self, block: bytes) -> None:
        self._file.seek(self._blocks * _SEALED)
        self._file.write(sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
            block, None, self._nonce(self._blocks), self._key))
        self._blocks += 1

    def _block(self, index: int) -> bytes:
        if index == self._blocks:
            return bytes(self._tail)
        if self._cached[0] != index:
            self._file.seek(index * _SEALED)
            sealed = self._file.read(_SEALED)
            self._cached = (index, sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
                sealed, None, self._nonce(index), self._key))
        return self._cached[1]


class SealedSpoolBuffer(FileBasedBuffer):
    """waitress's file buffer, on a SealedSpool in `directory` instead of a TemporaryFile."""

    def __init__(self, directory: Path, from_buffer=None):
        self.directory = directory
        FileBasedBuffer.__init__(self, self.newfile(), from_buffer)

    def newfile(self) -> SealedSpool:
        return SealedSpool(self.directory)


class SealedOverflowableBuffer(OverflowableBuffer):
    """Small bodies stay in memory, as in waitress; large ones overflow into a sealed spool
    in `directory` (the instance's tmp/)."""

    buf: Any  # waitress's buffer of the moment (waitress has no type information)

    def __init__(self, overflow: int, directory: Path):
        super().__init__(overflow)
        self.directory = directory

    def _set_large_buffer(self) -> None:
        old = self.buf
        self.buf = SealedSpoolBuffer(self.directory, old)
        if hasattr(old, "close"):
            old.close()
        self.overflowed = True
