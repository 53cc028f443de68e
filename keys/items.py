"""Items: what one envelope's plaintext holds.

Every message, file and reply is one envelope whose plaintext starts with a
small JSON record saying what it is (kind, original file name, day), then the
body. Keeping the name inside the envelope means the server never learns it.

A "report" item's body is the reporter's first submission as structured data:
one UTF-8 JSON object holding the answers to the report form, in the order
the form asked them, and the message (see `Report`).
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from collections.abc import Iterator

from keys import ids, strict
from keys.errors import FormatError

KINDS = ("message", "file", "reply", "report", "note")
_LENGTH = struct.Struct(">I")
MAX_META = 64 * 1024
MAX_REPORT = 1024 * 1024
MAX_TEXT = 4 << 20  # the body of a message or a reply


@dataclass(frozen=True)
class ItemMeta:
    kind: str
    date: str
    name: str = ""
    reporter_key: str = ""  # a report's: the reporter's public key (Base64), pinned inside it
    answers: str = ""  # a note's: the id of the note it answers

    @classmethod
    def decode(cls, data: bytes) -> ItemMeta:
        """The metadata record: exactly the fields FORMAT.md names, each a string."""
        record = strict.load_json(data, "item metadata", max_depth=1)
        if not set(record) <= {"kind", "date", "name", "reporter_key", "answers"} or "kind" not in record:
            raise FormatError("item metadata is unreadable")
        kind = strict.text(record["kind"], "item metadata", 16)
        if kind not in KINDS:
            raise FormatError(f"unknown item kind {kind!r}")
        reporter_key = record.get("reporter_key", "")
        if "reporter_key" in record and kind != "report":
            raise FormatError(f"item metadata of a {kind} holds a reporter key (only a report may)")
        if reporter_key:
            strict.b64(reporter_key, 32, "item metadata")
        if "answers" in record and kind != "note":
            raise FormatError(f"item metadata of a {kind} answers a note (only a note may)")
        answers = "" if "answers" not in record else ids.check_id(record["answers"], "item metadata")
        # The date becomes part of a file name offline: only a plain day may pass.
        return cls(kind, strict.date(record.get("date"), "item metadata"),
                   strict.text(record.get("name", ""), "item metadata", 4096), reporter_key, answers)

    def encode(self) -> bytes:
        """The prefix written before the body."""
        record = {"kind": self.kind, "date": self.date}
        if self.name:
            record["name"] = self.name
        if self.reporter_key:
            record["reporter_key"] = self.reporter_key
        if self.answers:
            record["answers"] = self.answers
        data = json.dumps(record, ensure_ascii=False, sort_keys=True).encode("utf-8")
        return _LENGTH.pack(len(data)) + data


def split_item(chunks: Iterator[bytes]) -> tuple[ItemMeta, Iterator[bytes]]:
    """Read the metadata from an item's plaintext chunks; the rest is the body."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        if len(buffer) >= _LENGTH.size:
            (size,) = _LENGTH.unpack_from(buffer)
            if size > MAX_META:
                raise FormatError("item metadata is too large")
            if len(buffer) >= _LENGTH.size + size:
                break
    else:
        if len(buffer) < _LENGTH.size or len(buffer) < _LENGTH.size + _LENGTH.unpack_from(buffer)[0]:
            raise FormatError("item is too short to hold its metadata")
    (size,) = _LENGTH.unpack_from(buffer)
    meta = ItemMeta.decode(buffer[_LENGTH.size:_LENGTH.size + size])
    rest = buffer[_LENGTH.size + size:]

    def body() -> Iterator[bytes]:
        if rest:
            yield rest
        yield from chunks

    return meta, body()


@dataclass(frozen=True)
class Answer:
    """One question of the report form as the reporter saw it, and their answer."""
    id: str
    question: str
    answer: str | tuple[str, ...]


@dataclass(frozen=True)
class Report:
    """The body of a "report" item: what the report form asked, and the message."""
    content_warning: bool
    content_warning_note: str
    answers: tuple[Answer, ...]
    message: str

    def encode(self) -> bytes:
        record = {
            "version": 1,
            "content_warning": self.content_warning,
            "content_warning_note": self.content_warning_note,
            "answers": [{"id": a.id, "question": a.question,
                         "answer": list(a.answer) if isinstance(a.answer, tuple) else a.answer}
                        for a in self.answers],
            "message": self.message,
        }
        return json.dumps(record, ensure_ascii=False, indent=1).encode("utf-8")

    @classmethod
    def decode(cls, data: bytes) -> Report:
        if len(data) > MAX_REPORT:
            raise FormatError("report is too large")
        record = strict.load_json(data, "report", max_depth=4)
        if record.get("version") != 1 or type(record.get("version")) is not int:
            raise FormatError(f"unknown report version {record.get('version')!r}")
        if set(record) != {"version", "content_warning", "content_warning_note", "answers",
                           "message"} or not isinstance(record["content_warning"], bool) \
                or not isinstance(record["answers"], list):
            raise FormatError("report is unreadable")
        answers = []
        for entry in record["answers"]:
            if not isinstance(entry, dict) or set(entry) != {"id", "question", "answer"}:
                raise FormatError("report is unreadable")
            answers.append(Answer(strict.text(entry["id"], "report"),
                                  strict.text(entry["question"], "report"), _answer(entry["answer"])))
        return cls(record["content_warning"],
                   strict.text(record["content_warning_note"], "report"), tuple(answers),
                   strict.text(record["message"], "report"))


def _answer(value: object) -> str | tuple[str, ...]:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise FormatError("report is unreadable (an answer is a string or a list of strings)")
