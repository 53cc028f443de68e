"""Ids: what a conversation or item id looks like, checked wherever one is read from a file.

Ids are made by the server (`secrets.token_hex(16)`) and become folder and file names on both
sides: the server's store (`store/<bucket>/<conversation>/<item>`) and a responder's opened
folder. So an id read from any file (a database row, a backup, a bundle, a reply file, a
journal) is checked here as it is read, and a path is made from ids only by `id_path`, which
shows that the result stays inside its folder. A hostile file then meets a one-line
`FormatError`, never a path such as `../../tmp/X`.

This module is in `keys/` because both sides read ids and `keys/` imports nothing of ours.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from keys.errors import FormatError

# 16 to 64 lower-case letters and digits: the server's hex ids, and room for other makers.
ID_PATTERN = re.compile(r"[a-z0-9]{16,64}", re.ASCII)
_PATH_PART = re.compile(rf"[a-z0-9]{{2}}|{ID_PATTERN.pattern}", re.ASCII)  # an id, or its bucket


class BadId(FormatError):
    """A file holds something where an id belongs that is not one."""


def check_id(value: object, source: str) -> str:
    """`value` if it is an id; otherwise BadId saying `source` (what was read) is bad. The value
    itself is not repeated: it came from the file and may hold anything, escapes included."""
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise BadId(f"{source} holds an invalid id")
    return value


def id_path(folder: Path, *parts: str) -> Path:
    """`folder/part/...`, each part an id or the two-character bucket of one, and the result
    shown to be below `folder` (lexically: symbolic links are the layout's to refuse)."""
    for part in parts:
        if not isinstance(part, str) or not _PATH_PART.fullmatch(part):
            raise BadId("a path was to be made from an invalid id")
    path = Path(folder).joinpath(*parts)
    base = os.path.normpath(folder)
    if os.path.commonpath([base, os.path.normpath(path)]) != base or path == Path(folder):
        raise BadId("a path made from an id leaves its folder")
    return path
