"""Reading a TOML file a person edits (config.toml, code-of-practice.toml): whatever it holds,
the answer is its values or one line saying what is wrong and where, never a traceback.

tomllib raises its own error for bad TOML, but a file that is not UTF-8 fails before it, and
arrays or tables nested thousands deep exhaust Python's recursion inside it.
"""
from __future__ import annotations

import tomllib
from pathlib import Path


class EditedFileError(ValueError):
    """The file cannot be read as TOML; the message names it and says why."""


def read_toml(path: Path) -> dict:
    """The file's values; EditedFileError (OSError when it cannot be opened)."""
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise EditedFileError(f"{path.name} is not UTF-8 text (line {line}): save it as "
                              "UTF-8") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise EditedFileError(f"{path.name} is not valid TOML: {exc}") from None
    except RecursionError:
        raise EditedFileError(f"{path.name} nests arrays or tables too deeply") from None
