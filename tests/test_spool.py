"""The sealed spool that stands in for waitress's request-body temp file."""
from __future__ import annotations

import io
import os

import pytest
from nacl.exceptions import CryptoError

from dropbox.spool import BLOCK, SealedSpool, SealedOverflowableBuffer


def test_spool_reads_back_what_was_appended_in_any_piece_sizes(tmp_path):
    data = os.urandom(3 * BLOCK + 1234)
    spool = SealedSpool(tmp_path)
    for start in range(0, len(data), 7777):
        spool.write(data[start:start + 7777])
    spool.seek(0)
    assert spool.read(10) + spool.read(BLOCK) + spool.read() == data
    spool.seek(BLOCK - 5)
    assert spool.read(10) == data[BLOCK - 5:BLOCK + 5]
    assert spool.seek(0, io.SEEK_END) == len(data)


def test_spool_keeps_only_ciphertext_on_disk(tmp_path):
    marker = b"plain-marker-" * 100
    spool = SealedSpool(tmp_path)
    spool.write(marker * (4 * BLOCK // len(marker)))
    spool._file.seek(0)
    on_disk = spool._file.read()
    assert len(on_disk) >= 3 * BLOCK
    assert b"plain-marker-" not in on_disk


def test_spool_refuses_to_overwrite_what_it_sealed(tmp_path):
    spool = SealedSpool(tmp_path)
    spool.write(b"x" * (BLOCK + 10))
    spool.seek(0)
    with pytest.raises(io.UnsupportedOperation):
        spool.write(b"y")


def test_spool_detects_a_changed_block(tmp_path):
    spool = SealedSpool(tmp_path)
    spool.write(os.urandom(2 * BLOCK))
    spool._file.seek(100)
    flipped = spool._file.read(1)[0] ^ 0xFF  # writing a fixed byte left it unchanged 1 time in 256
    spool._file.seek(100)
    spool._file.write(bytes([flipped]))
    spool.seek(0)
    with pytest.raises(CryptoError):
        spool.read(10)


def test_overflowing_buffer_moves_to_the_spool_and_keeps_the_data(tmp_path):
    buffer = SealedOverflowableBuffer(overflow=1000, directory=tmp_path)
    data = os.urandom(5000)
    for start in range(0, len(data), 300):
        buffer.append(data[start:start + 300])
    assert isinstance(buffer.getfile(), SealedSpool)
    assert buffer.getfile().read() == data
