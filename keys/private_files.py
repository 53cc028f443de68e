"""Folders and files for their owner alone (0700 and 0600), whatever the umask, never through a link.

What the air-gapped tools write is what a reporter sent, or a reply about to
leave: nobody else on the machine may read it, and none of it may land outside
the folder it was meant for. A folder given to write into may already hold
links (copied from elsewhere, left on a shared stick), so every folder and file
below it is opened with O_NOFOLLOW and checked to be a real folder, or a
regular file with no other name (a hard link would write through to its other
name); what is refused raises `LinkRefused` and nothing is written through it.
A file is created 0600 by `os.open` itself, so no other user can open it
between its creation and a chmod, and a folder or file that was there already
is made 0700 or 0600 too, since it keeps whatever mode it had otherwise.
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO, TextIO

from keys.errors import FormatError

# O_NONBLOCK: a FIFO planted under a file's name must be refused, not wait for a reader.
_NOFOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


class LinkRefused(FormatError):
    """A folder or file to write is a link (or not what it should be); nothing was written."""


def _refuse(path: Path, what: str) -> LinkRefused:
    return LinkRefused(f"{path} {what}: nothing is written through it; remove it, or use a new "
                       "folder")


def make_root(path: Path) -> None:
    """The folder a command was told to write into (it may be a link its user chose), made 0700."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def make_folder(path: Path) -> None:
    """`path` and its missing parents, and `path` itself found real (not a link) or made, and
    0700. The parents are the caller's: below OUT, each level is made through this in turn."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise _refuse(path, "is a link or a file, not a folder") from None
        raise
    try:
        _make_private(fd, path, 0o700)
    finally:
        os.close(fd)


def _make_private(fd: int, path: Path, mode: int) -> None:
    try:
        os.fchmod(fd, mode)
    except PermissionError:
        raise _refuse(path, "belongs to another user") from None


def _open_private(path: Path, flags: int) -> int:
    """`path` opened without following a link, checked to be a file of one name, made 0600."""
    try:
        fd = os.open(path, flags | os.O_CREAT | _NOFOLLOW, 0o600)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EISDIR, errno.ENXIO, errno.ENOTDIR):
            raise _refuse(path, "is a link or not a regular file") from None
        raise
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
        os.close(fd)
        raise _refuse(path, "is a link to a file elsewhere (it has another name)"
                      if stat.S_ISREG(info.st_mode) else "is a link or not a regular file")
    try:
        _make_private(fd, path, 0o600)
    except LinkRefused:
        os.close(fd)
        raise
    os.set_blocking(fd, True)
    return fd


def create(path: Path) -> BinaryIO:
    """`path` opened for writing from its start (emptied once it is known to be ours alone)."""
    fd = _open_private(path, os.O_WRONLY)
    # Only a file with something in it is emptied: ext4 writes out at close a file truncated to
    # nothing (so that an editor's rewrite is never left empty by a crash), which cost a third
    # of a second per gigabyte of attachment opened into a new file.
    if os.fstat(fd).st_size:
        os.ftruncate(fd, 0)
    return os.fdopen(fd, "wb")


def append(path: Path) -> TextIO:
    """`path` opened to add text at its end."""
    return os.fdopen(_open_private(path, os.O_WRONLY | os.O_APPEND), "a", encoding="utf-8")


def read(path: Path, limit: int) -> bytes | None:
    """The bytes of `path`, a regular file (never a link's target); None if it is not there."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError:
        raise _refuse(path, "is a link or not a regular file") from None
    with os.fdopen(fd, "rb") as stream:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _refuse(path, "is not a regular file")
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise FormatError(f"{path} is larger than any file of its kind")
    return data
