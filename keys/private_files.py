"""Folders and files for their owner alone (0700 and 0600), whatever the umask.

What the air-gapped tools write is what a reporter sent, or a reply about to
leave: nobody else on the machine may read it. A file is created 0600 by
`os.open` itself, so no other user can open it between its creation and a
chmod; a folder is chmod-ed after `mkdir`, since `mkdir` obeys the umask and a
folder that was there keeps the mode it had.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO, TextIO


def make_folder(path: Path) -> None:
    """`path` and its missing parents, and `path` itself made 0700 (the parents are the caller's)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def create(path: Path) -> BinaryIO:
    """`path` opened for writing from its start, made 0600 if it is new."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")


def append(path: Path) -> TextIO:
    """`path` opened to add text at its end, made 0600 if it is new."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "a",
                     encoding="utf-8")
