"""Submissions parsed as they arrive: one cipher pass and one disk write per byte.

waitress hands each body byte of a request to its receiver's buffer
(`append`) in its I/O thread, and calls the app only once the body is
complete. For a multipart POST to a submission page (a report, a
follow-up), channel.py gives the receiver an `Arrival` instead of the sealed
spool: it feeds the bytes to Werkzeug's sans-IO `MultipartDecoder` as they
come (through multipart.py, so that no read is misjudged where it cuts a
delimiter), keeps text fields in memory -- bounded per field and in total while
parsing, never after -- and streams each file part straight into the
encrypting upload sink (uploads.py); inside a file part, a read that cannot
hold a delimiter but in its last bytes goes to the sink directly, and only
that tail to the decoder. The app then reads the parsed form from
the environ (`ARRIVAL`) and no body at all. Without this, waitress spooled the
body (sealed) and Werkzeug parsed it back out of the spool into the sink:
three cipher passes and two disk writes per byte instead of one of each.

Refused before read: the forms send their text fields (the CSRF token first)
before any file part, so before the first file byte is stored `judge` asks the
app whether it would accept this submission at all (a live session, a good
token, a valid form). If not, file parts are skipped unstored -- only their
names are kept, so the page can say which to attach again -- and unless the
rest of the body is small (then it is read and dropped, so that the browser
gets its answer on a healthy connection) nothing more is read: the request
ends there and the connection is closed after the answer. (A script may send
fields after the files; the page then never accepts the submission without the
files refused here: reporter.py.) A broken limit (too
many files, a file or field too large, too many parts, a malformed body) ends
reading at once the same way.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from collections.abc import Callable
from typing import Protocol

from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, NeedData, State

from dropbox.multipart import PADDING_BYTES, MultipartDecoder

ARRIVAL = "dropbox.arrival"

# The decoder is fed this much at a time, so its buffer (bounded below) stays small.
SLICE = 64 * 1024
# A refused body with at most this much left is read to its end and dropped.
DRAIN_BYTES = 1024 * 1024
# A part's headers (name, file name, type) fit in this.
PART_HEADERS_BYTES = 16 * 1024
# The most the decoder keeps back of a delimiter (a boundary is at most 200 bytes here).
HELD_BYTES = 256 + PADDING_BYTES

# Why an arrival stopped on its own; the app turns each into the page a person reads.
TOO_MANY_FILES = "too many files"
FILE_TOO_LARGE = "file too large"
FIELD_TOO_LARGE = "field too large"
FIELDS_TOO_LARGE = "fields too large"
TOO_MANY_PARTS = "too many parts"
MALFORMED = "malformed"
DISK_FAILED = "disk failed"


@dataclass(frozen=True)
class Limits:
    """The same bounds as the app's own form parser (formlimits.py, from Settings)."""
    field_bytes: int
    fields_bytes: int
    files: int
    file_bytes: int
    parts: int

    @classmethod
    def from_settings(cls, settings) -> Limits:
        """The limits of `settings` (config.Settings), as both parsers apply them."""
        return cls(field_bytes=settings.max_text_field_bytes, fields_bytes=settings.max_form_text_bytes,
                   files=settings.max_files_per_submission, file_bytes=settings.max_file_mib * 1024 * 1024,
                   parts=settings.max_form_parts)


def boundary_of(content_type: str) -> bytes | None:
    """The multipart boundary of a Content-Type, or None if it is not multipart/form-data."""
    kind, options = parse_options_header(content_type)
    boundary = options.get("boundary", "")
    if kind != "multipart/form-data" or not boundary or len(boundary) > 200:
        return None
    try:
        return boundary.encode("latin-1")
    except UnicodeEncodeError:
        return None


class Sink(Protocol):
    """Where a file part goes as it arrives (uploads.UploadSink: sealed, never plaintext)."""

    def write(self, data: bytes | memoryview, /) -> int: ...

    def seek(self, *args: int) -> int: ...

    def discard(self) -> None: ...


class Arrival:
    """One multipart body, parsed while it arrives; stands in for waitress's body buffer."""

    def __init__(self, boundary: bytes, limits: Limits, expected: int | None,
                 new_sink: Callable[[str], Sink],
                 judge: Callable[[list[tuple[str, str]]], bool]):
        # A slice, a part's headers held back, and what the decoder keeps back of a delimiter.
        self._decoder = MultipartDecoder(boundary, max_parts=limits.parts,
                                         max_form_memory_size=PART_HEADERS_BYTES + SLICE + HELD_BYTES)
        self._limits = limits
        self._expected = expected
        self._new_sink = new_sink
        self._judge = judge
        self.fields: list[tuple[str, str]] = []
        self.files: list[tuple[str, FileStorage]] = []
        self.sinks: list[Sink] = []
        self.unkept: list[str] = []  # names of files refused unstored
        self.admitted: bool | None = None  # None until the first file part asks
        self.problem: str | None = None
        self.failure: OSError | None = None
        self.received = 0
        self.complete = False
        self._part: Field | File | None = None
        self._value: list[bytes] = []
        self._size = 0
        self._fields_size = 0
        self._file_count = 0
        self._sink: Sink | None = None
        self._marker = b"--" + boundary
        # A delimiter is a line break, the marker, then more: one that starts in a read ends in it
        # too, unless it starts in the read's last `_tail` bytes.
        self._tail = len(b"\r\n") + len(self._marker)

    # waitress's buffer interface: the receiver appends, the task asks for a body stream.
    def append(self, data: bytes) -> None:
        if self.stopped:
            return
        self.received += len(data)
        try:
            straight = self._straight_to_sink(data)
            if self.stopped:
                return
            if straight:
                data = data[straight:]
            for start in range(0, len(data), SLICE):
                self._decoder.receive_data(data if len(data) <= SLICE else data[start:start + SLICE])
                self._read_events()
                if self.stopped:
                    return
        except RequestEntityTooLarge:
            self._stop(TOO_MANY_PARTS)
        except ValueError:
            self._stop(MALFORMED)
        except OSError as exc:
            self.failure = exc
            self._stop(DISK_FAILED)

    def __len__(self) -> int:
        return self.received

    def getfile(self) -> io.BytesIO:
        return io.BytesIO()  # the app reads the parsed form, never the body

    def close(self) -> None:
        """The request is over: whatever the app did not claim goes (claimed sinks have moved)."""
        for sink in self.sinks:
            sink.discard()

    def finish(self) -> None:
        """The body ended: it must have ended where a form ends."""
        if self.stopped:
            return
        try:
            self._decoder.receive_data(None)
            self._read_events()
        except (ValueError, RequestEntityTooLarge):
            self._stop(MALFORMED)
        if not self.complete and not self.stopped:
            self._stop(MALFORMED)

    @property
    def stopped(self) -> bool:
        """True once nothing more of the body is worth reading."""
        if self.problem:
            return True
        if self.admitted is False:
            left = None if self._expected is None else self._expected - self.received
            return left is None or left > DRAIN_BYTES
        return False

    @property
    def refused(self) -> bool:
        return self.admitted is False

    def _stop(self, problem: str) -> None:
        self.problem = self.problem or problem

    def _straight_to_sink(self, data: bytes) -> int:
        """Write what `data` holds of the file being received straight into its sink.

        In the middle of a file part the decoder only looks for the delimiter, copying each
        byte before it several times on the way, which cost as much as the cipher. When it
        holds nothing back (its public `buffer` is empty, if need be once it has seen the
        read's first bytes) and the marker is nowhere in `data`, no delimiter starts before
        the read's last `_tail` bytes: all before those is the file's, and only the tail goes
        to the decoder, which then sees the same stream as it would have without this
        shortcut. Returns how much of `data` is taken care of."""
        decoder = self._decoder
        if self._sink is None or decoder.state is not State.DATA or len(data) <= 2 * self._tail \
                or self._marker in data:
            return 0
        start = 0
        if decoder.holding:
            # What it holds back may begin a delimiter: it sees the read's first bytes first.
            start = self._tail
            decoder.receive_data(data[:start])
            self._read_events()
            if self.stopped or decoder.state is not State.DATA or decoder.holding or self._sink is None:
                return start
        end = len(data) - self._tail
        self._file_data(self._sink, memoryview(data)[start:end])
        return end

    def _read_events(self) -> None:
        event = self._decoder.next_event()
        while not isinstance(event, (NeedData, Epilogue)):
            if isinstance(event, File):
                self._start_file(event)
            elif isinstance(event, Field):
                self._part, self._value, self._size, self._sink = event, [], 0, None
            elif isinstance(event, Data):
                self._take(event)
            if self.problem:
                return
            event = self._decoder.next_event()
        if isinstance(event, Epilogue):
            self.complete = True

    def _start_file(self, event: File) -> None:
        self._part, self._size, self._sink = event, 0, None
        if not event.filename:
            return  # an empty file input: browsers send it with no name and no content
        self._file_count += 1
        if self._file_count > self._limits.files:
            return self._stop(TOO_MANY_FILES)
        if self.admitted is None:
            try:
                self.admitted = bool(self._judge(self.fields))
            except Exception:  # noqa: BLE001 - the app will judge again, and answer properly
                self.admitted = True
        if not self.admitted:
            self.unkept.append(event.filename)
            return
        self._sink = self._new_sink(event.filename)
        self.sinks.append(self._sink)

    def _take(self, event: Data) -> None:
        part = self._part
        if part is None:
            return self._stop(MALFORMED)  # the decoder gives data only inside a part
        if isinstance(part, File):
            if not part.filename and event.data:
                return self._stop(MALFORMED)  # no browser sends content without a file name
            if self._sink is not None:
                self._file_data(self._sink, event.data)
                if self.stopped:
                    return
            if not event.more_data:
                stream = self._sink if self._sink is not None else io.BytesIO()
                # Werkzeug only seeks a part's stream and hands it to the app: a Sink is enough.
                self.files.append((part.name, FileStorage(stream,  # type: ignore[arg-type]
                                                          part.filename if self._sink else "",
                                                          part.name, headers=part.headers)))
                self._sink = None  # the file has ended: nothing more is written into it
            return
        self._size += len(event.data)
        self._fields_size += len(event.data)
        if self._size > self._limits.field_bytes:
            return self._stop(FIELD_TOO_LARGE)
        if self._fields_size > self._limits.fields_bytes:
            return self._stop(FIELDS_TOO_LARGE)
        self._value.append(event.data)
        if not event.more_data:
            # A bound in bytes only: a field just over its limit in characters is for the form
            # to point out, with the reporter's words kept.
            self.fields.append((part.name, b"".join(self._value).decode("utf-8", "replace")))

    def _file_data(self, sink: Sink, data: bytes | memoryview) -> None:
        self._size += len(data)
        if self._size > self._limits.file_bytes:
            return self._stop(FILE_TOO_LARGE)
        sink.write(data)
