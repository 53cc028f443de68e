"""Werkzeug's sans-IO multipart decoder, fed so that it parses a body exactly, however it is cut.

Both our form parsers (submission_stream.py as a body arrives, formlimits.py for any
other form) use Werkzeug's `MultipartDecoder`. Given a whole body it is exact; given
pieces, it keeps back the end of a piece that may begin a delimiter, but only as many
bytes as an opening delimiter (`CRLF--boundary`) has. A piece that ends one byte further
into a closing delimiter (`CRLF--boundary-`, cut between its two dashes), or inside
the whitespace a delimiter may carry, is taken for content: the part it ends gains a
stray CR, or the delimiter itself (pallets/werkzeug#3285, open). A network cuts a body
wherever it likes, so such a file would be stored longer than it was sent.

`MultipartDecoder` here is the same decoder, through its public interface only: its
`receive_data` keeps back, itself, the end of what it was given that may still become
a delimiter -- a line break followed by the start of `--boundary`, or the whole
`--boundary` followed by one dash, by whitespace, or by whitespace and a CR -- and
passes it on once what follows shows what it is. Werkzeug then never sees a piece that
ends where it would misjudge it. What is kept back is bounded: whitespace after a
delimiter (transport padding, which no browser sends) longer than `PADDING_BYTES` makes
the body malformed.
"""
from __future__ import annotations

import re

from werkzeug.sansio import multipart as werkzeug

PADDING_BYTES = 1024
_CR, _LF = 0x0D, 0x0A
# After a whole `--boundary`, what may still become a delimiter's end (Werkzeug's
# `boundary_re` matches `--` with anything after, or whitespace and a line break).
_UNFINISHED_END = re.compile(rb"-|[ \t]*\r?")


class MultipartDecoder(werkzeug.MultipartDecoder):
    """Werkzeug's decoder, never given a piece that ends inside a delimiter."""

    def __init__(self, boundary: bytes, *args, **kwargs):
        super().__init__(boundary, *args, **kwargs)
        self._marker = b"--" + boundary
        self.held = b""

    def receive_data(self, data: bytes | None) -> None:
        if data is None:
            if self.held:
                super().receive_data(self.held)
                self.held = b""
            super().receive_data(None)
            return
        if self.held:
            data = self.held + bytes(data)
        keep = unfinished_delimiter(data, self._marker)
        if len(data) - keep > len(self._marker) + 3 + PADDING_BYTES:
            raise ValueError("a delimiter's padding is too long")
        self.held = data[keep:]
        if keep:
            super().receive_data(data[:keep] if keep < len(data) else data)

    @property
    def holding(self) -> bool:
        """Whether anything received is not yet decoded (kept here or in Werkzeug's buffer)."""
        return bool(self.held or self.buffer)


def unfinished_delimiter(data: bytes, marker: bytes) -> int:
    """Where, at the end of `data`, a delimiter (line break, `marker`, its end) may have
    begun and not yet ended; len(data) if nowhere."""
    start = _after_marker(data, marker, len(data))
    if start is None:
        start = _after_line_break(data, marker)
    # Keeping back a line break must not cut off the end of a delimiter it ends.
    while (earlier := _after_marker(data, marker, start)) is not None:
        start = earlier
    return start


def _after_marker(data: bytes, marker: bytes, end: int) -> int | None:
    """Where the delimiter begins if data[:end] ends with the whole marker and then what may
    still become a delimiter's end (a dash, whitespace, a CR)."""
    if data.endswith(b"-", 0, end) and data.endswith(marker, 0, end - 1):
        start = end - 1 - len(marker)
    elif data.endswith(marker, 0, end):
        start = end - len(marker)
    elif end and data[end - 1] in b" \t\r":
        start = data.rfind(marker, 0, end)
        if start < 0 or not _UNFINISHED_END.fullmatch(data, start + len(marker), end):
            return None
    else:
        return None
    return _line_break_before(data, start)


def _after_line_break(data: bytes, marker: bytes) -> int:
    """Where data ends with a line break and at most the start of the marker; len(data) if not."""
    end = len(data)
    for at in range(max(0, end - len(marker) - 2), end):
        if data[at] not in (_CR, _LF):
            continue
        rest = at + (2 if data[at] == _CR and data[at + 1:at + 2] == b"\n" else 1)
        if marker.startswith(data[rest:]):
            return at
    return end


def _line_break_before(data: bytes, start: int) -> int:
    """The start of the line break just before `start`, if there is one."""
    if start and data[start - 1] == _LF:
        start -= 1
        if start and data[start - 1] == _CR:
            start -= 1
    elif start and data[start - 1] == _CR:
        start -= 1
    return start
