"""`keys open` writes a large attachment while it decrypts the next part of it: the file it
writes holds every byte in order, and a failing disk or a damaged chunk stops it with the
error, never with a file that looks whole."""
from __future__ import annotations

import errno
import io
import os

import pytest

from keys.errors import FormatError
from keys.opening import WRITE_BEHIND_BYTES, _write_behind


def chunks(count: int, size: int = 64 * 1024):
    """Chunks each of its own bytes, as decrypted chunks arrive."""
    return [os.urandom(size) for _ in range(count)]


@pytest.mark.parametrize("count", [0, 1, 15, 16, 17, 3 * (WRITE_BEHIND_BYTES // (64 * 1024)) + 5])
def test_every_byte_is_written_in_order_across_batches(count):
    parts = chunks(count)
    out = io.BytesIO()
    _write_behind(out, iter(parts))
    assert out.getvalue() == b"".join(parts)


class FullDisk(io.BytesIO):
    """A file whose disk fills after `room` bytes."""

    def __init__(self, room: int):
        super().__init__()
        self.room = room

    def write(self, data) -> int:
        if self.tell() + len(data) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(data)


def test_a_full_disk_is_said_not_swallowed():
    with pytest.raises(OSError) as failed:
        _write_behind(FullDisk(WRITE_BEHIND_BYTES + 1), iter(chunks(64)))
    assert failed.value.errno == errno.ENOSPC


def test_a_damaged_chunk_stops_the_writing_with_its_error():
    written = io.BytesIO()
    parts = chunks(40)

    def decrypted():
        yield from parts[:20]
        raise FormatError("envelope payload is damaged or out of order")

    with pytest.raises(FormatError, match="damaged"):
        _write_behind(written, decrypted())
    # What came before the damage may have reached the file (opening.py writes into a partial
    # file that is then removed), but never anything after it.
    assert b"".join(parts).startswith(written.getvalue())
    assert len(written.getvalue()) <= 20 * 64 * 1024
