"""Files that appear whole or not at all: write a temporary file, fsync it, rename it over.

A crash at any moment leaves the old file or the new one, never a mix, and the rename is made
durable by an fsync of the folder. The temporary file has a random name and is created
exclusively without following links, so a link planted where it will be (a hostile data
directory, a shared folder) is never written through. In `keys/` so that every package may use
it: `keys/` imports nothing of ours.
"""
from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO
from collections.abc import Iterator


@contextmanager
def atomic_file(path: Path, mode: int = 0o600, durable: bool = True) -> Iterator[BinaryIO]:
    """A new file (read-write, `mode`) that replaces `path` when the block ends without error;
    on an error it is removed and `path` is as it was. `durable=False` leaves the two fsyncs to
    the caller, who makes many files and syncs them at once."""
    path = Path(path)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.partial")
    descriptor = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        with os.fdopen(descriptor, "w+b") as out:
            yield out
            out.flush()
            if durable:
                os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    if durable:
        fsync_folder(path.parent)


def write_atomically(path: Path, data: bytes, mode: int = 0o600, durable: bool = True) -> None:
    with atomic_file(path, mode, durable) as out:
        out.write(data)



def fsync_folder(folder: Path) -> None:
    """Make the names in `folder` (a rename, a new file) durable."""
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
