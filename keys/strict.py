"""Strict parsing of the small values every reader meets: JSON, Base64, sizes, dates.

Every file `keys/` reads comes from somewhere it does not trust (a server, a
USB stick, a colleague). These helpers accept exactly what docs/FORMAT.md
allows and raise `FormatError` for anything else, so no reader ever reaches a
traceback, a float where a size belongs, or a recursion limit. Each takes a
`what` that names the file in the error.
"""
from __future__ import annotations

import base64
import binascii
import datetime
import json
import re
from typing import Any, NoReturn

from keys.errors import FormatError

MAX_DEPTH = 16
MAX_SIZE = 1 << 53  # the largest integer every JSON implementation keeps exact
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_INT = re.compile(r"0|-?[1-9][0-9]{0,15}", re.ASCII)  # no "-0": no writer makes it


def _reject(_value: str) -> NoReturn:
    raise ValueError("not allowed")


def _int(text: str) -> int:
    if not _INT.fullmatch(text):
        raise ValueError("integer too long")
    return int(text)


def _object(pairs: list[tuple[str, object]]) -> dict[str, object]:
    record = dict(pairs)
    if len(record) != len(pairs):
        raise ValueError("duplicate key")
    return record


# A JSON string, escapes included: what lies between two brackets that is not nesting.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


def _depth(text: str) -> int:
    """The deepest nesting of arrays and objects, counted without recursion: strings are
    skipped by a regular expression, so only the brackets are walked in Python."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRING.sub("", text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def load_json(data: bytes, what: str, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """A JSON object from UTF-8 bytes: no floats, NaN, duplicate keys or deep nesting."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError(f"{what} is not UTF-8") from None
    if _depth(text) > max_depth:
        raise FormatError(f"{what} is nested too deeply")
    try:
        record = json.loads(text, parse_float=_reject, parse_constant=_reject,
                            parse_int=_int, object_pairs_hook=_object)
    except (ValueError, RecursionError):
        raise FormatError(f"{what} is unreadable") from None
    if not isinstance(record, dict):
        raise FormatError(f"{what} is unreadable")
    return record


def fields(value: object, what: str, required: set[str],
           optional: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
    """A JSON object holding every `required` key and no key outside `optional`."""
    if not isinstance(value, dict) or not required <= set(value) <= required | optional:
        raise FormatError(f"{what} is unreadable")
    return value


def array(value: object, what: str, limit: int | None = None) -> list[Any]:
    """A JSON array of at most `limit` values."""
    if not isinstance(value, list) or (limit is not None and len(value) > limit):
        raise FormatError(f"{what} is unreadable")
    return value


def text(value: object, what: str, max_length: int = 1 << 20) -> str:
    if not isinstance(value, str) or len(value) > max_length:
        raise FormatError(f"{what} is unreadable")
    return value


def size(value: object, what: str) -> int:
    """A size or count: a JSON integer, never a bool, a string or a float."""
    if type(value) is not int or not 0 <= value <= MAX_SIZE:
        raise FormatError(f"{what} holds an invalid size")
    return value


def b64(value: object, length: int, what: str, holding: str = "public key") -> bytes:
    """Exactly `length` bytes in canonical padded standard Base64 (`holding` says of what)."""
    if not isinstance(value, str) or not value.isascii():
        raise FormatError(f"{what} holds an invalid {holding}")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise FormatError(f"{what} holds an invalid {holding}") from None
    if len(raw) != length or base64.b64encode(raw).decode("ascii") != value:
        raise FormatError(f"{what} holds an invalid {holding}")
    return raw


def date(value: object, what: str) -> str:
    """A real calendar day written `YYYY-MM-DD` in ASCII digits."""
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise FormatError(f"{what} has an invalid date")
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        raise FormatError(f"{what} has an invalid date") from None
    return value
