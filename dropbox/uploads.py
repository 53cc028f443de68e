"""The upload sink: every byte a reporter sends is encrypted before it is stored.

A submission (report, follow-up) is parsed while it arrives, in waitress's
channel (submission_stream.py), which writes each file part into an
`UploadSink` there; the request then takes the parsed form as it is. For any
other multipart body, Werkzeug's form parser asks the request for a file-like object for each file
part (`_get_file_stream`); ours is an `UploadSink` that encrypts each chunk as
it arrives into tmp/, under a fresh file key held only in memory. Recipients
are chosen in the same form, so the envelope header is sealed afterwards, when
the route claims the sink: `claim(recipients, Binding(conversation, "reporter",
position))` pads the payload to its Padmé size and binds the item to its place
(docs/FORMAT.md, "Envelope"). Sinks nobody claimed (a rejected or failed request)
are deleted when the request ends (stored ones have been moved away by then), so nothing is left behind.

Messages typed in the form go through the same sink, so there is one path
from plaintext to ciphertext.
"""
from __future__ import annotations

import os
from pathlib import Path
from collections.abc import Sequence

from flask import Request, current_app, request
from nacl.public import PublicKey
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequest

from keys.envelope import Binding, PayloadSealer
from keys.items import ItemMeta
from dropbox.problems import refusal
from dropbox.receipts import Receipt
from dropbox.storage import StagedItem, new_id, today
from dropbox import submission_stream as arriving


# While an upload arrives its ciphertext is handed to the disk every this many bytes, so the
# fsync that makes a submission durable (storage/payloads.py) finds little left to write.
WRITEBACK_BYTES = 8 * 1024 * 1024


def _start_writeback(fd: int, start: int, length: int) -> None:
    """Have the kernel start writing [start, start + length) to the disk, without waiting.
    Linux does so for POSIX_FADV_DONTNEED (then drops the range from its cache, where an
    upload has no use); elsewhere it is only advice, and the fsync does all the writing."""
    if hasattr(os, "posix_fadvise"):
        try:
            os.posix_fadvise(fd, start, length, os.POSIX_FADV_DONTNEED)
        except OSError:
            pass  # advice only: the fsync before storing is what makes the data durable


class UploadSink:
    """A write-only file that stores only ciphertext."""

    def __init__(self, tmp_dir: Path, meta: ItemMeta, max_bytes: int):
        self.id = new_id()
        self.path = tmp_dir / f"{self.id}.part"
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._file = os.fdopen(fd, "wb")
        self._sealer = PayloadSealer(self._file)
        self._sealer.write(meta.encode())
        self._prefix = self._sealer.plaintext_size
        self.meta = meta
        self._max = max_bytes
        self._written_back = 0

    @property
    def size(self) -> int:
        """Plaintext bytes of the body received so far."""
        return self._sealer.plaintext_size - self._prefix

    def write(self, data: bytes | memoryview) -> int:
        if self.size + len(data) > self._max:
            raise refusal(arriving.FILE_TOO_LARGE, self._max // (1024 * 1024))
        written = self._sealer.write(data)
        if self._sealer.ciphertext_size - self._written_back >= WRITEBACK_BYTES:
            self._file.flush()
            _start_writeback(self._file.fileno(), self._written_back,
                             self._sealer.ciphertext_size - self._written_back)
            self._written_back = self._sealer.ciphertext_size
        return written

    def seek(self, *args: int) -> int:
        # Werkzeug rewinds each file part once it is complete; there is nothing to rewind to.
        return 0

    def claim(self, recipients: Sequence[PublicKey], binding: Binding, reporter_key: PublicKey) -> StagedItem:
        """Finish the payload (padded) and seal its header to `recipients`, bound to its place:
        the conversation and the reporter's position (docs/FORMAT.md, "Envelope"); and its
        receipt to the reporter who sent it (dropbox/receipts.py)."""
        self._sealer.finish()
        self._file.close()
        receipt = Receipt(self.meta.kind, self.meta.name, self.size).seal_to(reporter_key)
        return StagedItem(self.id, self._sealer.header(recipients, binding), self.path,
                          self._sealer.ciphertext_size, receipt=receipt)

    def discard(self) -> None:
        if not self._file.closed:
            try:
                self._file.close()
            except OSError:
                pass  # a full disk refuses the buffered rest; the file goes anyway
        self.path.unlink(missing_ok=True)


def upload_request() -> EncryptingRequest:
    """The request being served, as the reporter app's request class (app.py sets it)."""
    if not isinstance(request, EncryptingRequest):  # the proxy answers for the request it holds
        raise TypeError("the reporter app's requests are EncryptingRequests")
    return request


class EncryptingRequest(Request):
    """A request whose uploaded files never exist in plaintext outside memory."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sinks: list[arriving.Sink] = []

    def new_sink(self, meta: ItemMeta) -> UploadSink:
        config = current_app.extensions["dropbox"].config
        sink = UploadSink(config.tmp_dir, meta, config.settings.max_file_mib * 1024 * 1024)
        self.sinks.append(sink)
        return sink

    def _get_file_stream(self, total_content_length, content_type, filename=None,
                         content_length=None):
        return self.new_sink(ItemMeta(kind="file", date=today(), name=filename or ""))

    @property
    def arrival(self) -> arriving.Arrival | None:
        """The submission as the channel parsed it while it arrived, if it was one."""
        return self.environ.get(arriving.ARRIVAL)

    @property
    def unkept_files(self) -> list[str]:
        """Names of files the reporter chose that were not kept: the submission was refused."""
        arrival = self.arrival
        return list(arrival.unkept) if arrival else []

    def _load_form_data(self) -> None:
        arrival = self.arrival
        if arrival is None:
            super()._load_form_data()
        elif "form" not in self.__dict__:
            # Kept even when the arrival stopped, so the page that says why can give the words back.
            self.__dict__.update(form=ImmutableMultiDict(arrival.fields),
                                 files=ImmutableMultiDict(arrival.files))
            if arrival.problem:
                raise self._arrival_problem(arrival)
            self.sinks.extend(arrival.sinks)
        if None in self.form or None in self.files:
            # A part without a name: no browser sends one, and Flask-WTF's token lookup
            # would fail on it with an AttributeError (a 500) instead of a clear 400.
            raise BadRequest()

    def _arrival_problem(self, arrival: arriving.Arrival) -> Exception:
        settings = current_app.extensions["dropbox"].config.settings
        if arrival.problem == arriving.DISK_FAILED:
            return arrival.failure or OSError("the disk failed while the submission arrived")
        problem = arrival.problem or arriving.MALFORMED
        figures = {arriving.TOO_MANY_FILES: settings.max_files_per_submission,
                   arriving.FILE_TOO_LARGE: settings.max_file_mib,
                   arriving.FIELD_TOO_LARGE: settings.max_message_chars}
        return refusal(problem, figures.get(problem))

    def seal_message(self, text: str) -> UploadSink:
        sink = self.new_sink(ItemMeta(kind="message", date=today()))
        sink.write(text.encode("utf-8"))
        return sink

    def discard_leftovers(self) -> None:
        """At the end of every request: a stored sink has moved away, anything else goes."""
        for sink in self.sinks:
            sink.discard()
