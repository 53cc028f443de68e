"""How requests reach the app: waitress's channel, adjusted in a few small ways.

The least invasive hooks waitress offers are the channel's class attributes
`parser_class`, `task_class` and `error_task_class`, and the body receiver's
buffer (`receiver.buf`), which the parser sets up when the headers are in;
besides, our channel subclass extends the channel's own `received` (what one
read brought: it sees the requests queued from it) and `handle_close`, each
calling waitress's first; nothing of waitress is patched. `DropboxChannel.serving(intake)` gives each
server its own channel class, so what it needs (the disk budget, the app's
judge) is passed in, not global.
- The parser lets waitress parse headers as always. A body that cannot carry
  files (anything but a multipart POST, with a boundary we can parse, to a
  page that takes files) larger than a form's text is refused with 413 before
  it is read, or as soon as it grows past that if it is chunked. A multipart
  POST to a submission page is then parsed while it arrives, its files sealed
  straight into the upload sink (submission_stream.py); when that parse stops
  early (a refused submission, a broken limit), the request ends there,
  unread, and the connection closes after the answer. Any other body goes to
  a buffer that overflows into an encrypted spool (spool.py). The parser also
  notes when the request began, before its body arrived.
- Past what stays in memory, a body reserves in the disk budget
  (disk_budget.py) what has arrived, before it is written, chunked or not:
  what a request announces reserves nothing, so headers alone cannot hold the
  budget. When the budget refuses, reading stops: a submission ends as if the
  disk were full, so the app answers with the reporter's words (they come
  before the files); any other body gets 507.
- The task passes that moment to the app, so a session that was alive when a
  long upload over tor began still counts when the upload ends, and passes
  the parsed submission.
- A connection that drops half way through a request gives back its disk
  reservation and its unfinished uploads at once (waitress leaves an
  unfinished request to the garbage collector).
- Pipelined requests are answered a few at a time (`PIPELINED` of one read;
  the connection closes after the last of them). waitress parses every request
  of a read and answers them in turn, and a worker whose connection holds more
  than 16 MiB of unsent answers waits for the client to read: a handful of
  connections pipelining thousands of requests and never reading held every
  worker. With a few answers per read a worker never waits on a client (pages
  are far smaller than that mark); an answer nobody reads is left to the
  deadlines (deadlines.py). No browser pipelines.
- Errors waitress answers itself (a malformed request line, headers too
  large, a body over the limit or over the disk budget, refused before it is
  read) get the same strict headers as every page and a plain sentence
  instead of a server's signature.
"""
from __future__ import annotations

import errno
import io
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.task import ErrorTask, WSGITask
from waitress.utilities import Error, RequestEntityTooLarge

from keys.items import ItemMeta
from dropbox.disk_budget import DiskBudget
from dropbox.headers import HEADERS
from dropbox.spool import SealedOverflowableBuffer
from dropbox.storage import today
from dropbox.submission_stream import ARRIVAL, DISK_FAILED, Arrival, Limits, boundary_of
from dropbox.uploads import UploadSink

REQUEST_STARTED = "dropbox.request_started"
# The disk budget is asked for at least this much at a time, ahead of what arrives.
RESERVE_STEP = 4 * 1024 * 1024
# Requests of one read that are answered; the connection closes after the last of them.
PIPELINED = 4

_PLAIN_ERRORS = {
    413: "What you sent is larger than this drop accepts. Please send fewer or smaller files.",
    431: "Your browser sent more than this drop accepts. Please try again.",
    507: "What you sent could not be saved just now: the server is short of disk space. "
         "Nothing was kept. Please try again later.",
}


class InsufficientStorage(Error):
    code = 507
    reason = "Insufficient Storage"


@dataclass(frozen=True)
class Intake:
    """What a server's channels need from outside: the disk budget, the pages that take files
    (`file_paths`) and how large any other body may be (`form_bytes`); and for an app that
    takes submissions, where their files go and a judge: `judge(environ, fields)` runs in the
    app and says whether it would accept the submission whose text fields these are."""
    disk: DiskBudget
    file_paths: frozenset[str]
    form_bytes: int
    tmp_dir: Path  # the instance's tmp/: the only place a body is spooled (spool.py)
    limits: Limits | None = None
    judge: Callable[[dict, list[tuple[str, str]]], bool] | None = None


class SealedBodyParser(HTTPRequestParser):
    intake: Intake  # set per server by DropboxChannel.serving
    started = None
    arrival = None
    reserved = 0
    body_limit = None  # for a body that cannot carry files

    def parse_header(self, header_plus):
        self.started = time.monotonic()
        super().parse_header(header_plus)
        receiver = self.body_rcv
        if receiver is None:
            return
        if not self._may_carry_files():
            self.body_limit = self.intake.form_bytes
            if not self.chunked and self.content_length > self.body_limit:
                self.error = RequestEntityTooLarge("no files here")
                self.body_rcv = None  # waitress completes the request without reading on
                return
        self.arrival = self._arrival()
        # Called before any body byte has arrived: the buffer is still empty.
        receiver.buf = self.arrival if self.arrival is not None else SealedOverflowableBuffer(
            self.adj.inbuf_overflow, self.intake.tmp_dir)

    def received(self, data):
        if self.body_rcv is not None and not self.completed and not self.error:
            arrived = self.body_bytes_received + len(data)
            if not self.chunked:  # the read may hold the next request too
                arrived = min(arrived, self.content_length)
            refusal = self._refusal(arrived)
            if refusal is not None:
                self._stop(refusal)
                return len(data)  # the rest of this body is not read
        consumed = super().received(data)
        arrival = self.arrival
        if arrival is not None and self.body_rcv is not None and not self.error:
            if self.completed:
                arrival.finish()
            elif arrival.stopped:
                # Nothing more of this body is worth reading: the request ends here.
                self.completed = True
                self.connection_close = True
                consumed = len(data)
        return consumed

    def _refusal(self, arrived: int) -> Error | None:
        """Why a body must stop before `arrived` bytes of it are taken, if it must."""
        if self.body_limit is not None and arrived > self.body_limit:
            return RequestEntityTooLarge("no files here")
        # Bodies up to inbuf_overflow stay in memory; past that, what has arrived is reserved.
        if arrived <= self.adj.inbuf_overflow or arrived <= self.reserved:
            return None
        needed = arrived - self.reserved
        for step in (max(RESERVE_STEP, needed), needed):
            if self.intake.disk.reserve(step):
                self.reserved += step
                return None
        return InsufficientStorage("disk budget")

    def _stop(self, refusal: Error) -> None:
        arrival = self.arrival
        if arrival is not None and isinstance(refusal, InsufficientStorage):
            # Answered by the app, which has the reporter's words: the disk is full for them.
            arrival.failure = OSError(errno.ENOSPC, "the disk budget for bodies is spent")
            arrival.problem = arrival.problem or DISK_FAILED
        else:
            self.error = refusal
        self.completed = True
        self.connection_close = True

    def close(self):
        super().close()
        if self.reserved:
            self.intake.disk.release(self.reserved)
            self.reserved = 0

    def _may_carry_files(self) -> bool:
        return self.command == "POST" and self.path in self.intake.file_paths and \
            boundary_of(self.headers.get("CONTENT_TYPE", "")) is not None

    def _arrival(self) -> Arrival | None:
        intake = self.intake
        if intake.judge is None or intake.limits is None or not self._may_carry_files():
            return None
        boundary = boundary_of(self.headers.get("CONTENT_TYPE", ""))
        if boundary is None:
            return None
        limits, judge_fields = intake.limits, intake.judge

        def new_sink(filename: str) -> UploadSink:
            return UploadSink(intake.tmp_dir, ItemMeta(kind="file", date=today(), name=filename),
                              limits.file_bytes)

        def judge(fields):
            return judge_fields(self._environ(), fields)
        return Arrival(boundary, limits, None if self.chunked else self.content_length, new_sink, judge)

    def _environ(self) -> dict:
        """The request as the app sees it, for its judge: headers only, no body."""
        environ = {"REQUEST_METHOD": self.command, "SCRIPT_NAME": "", "PATH_INFO": self.path,
                   "QUERY_STRING": self.query, "SERVER_NAME": "localhost", "SERVER_PORT": "80",
                   "SERVER_PROTOCOL": f"HTTP/{self.version}", "wsgi.version": (1, 0),
                   "wsgi.url_scheme": self.url_scheme, "wsgi.input": io.BytesIO(),
                   "wsgi.errors": sys.stderr, "wsgi.multithread": True,
                   "wsgi.multiprocess": False, "wsgi.run_once": False,
                   REQUEST_STARTED: self.started}
        for key, value in self.headers.items():
            environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
        return environ


class TimedTask(WSGITask):
    def get_environment(self):
        environ = super().get_environment()
        if getattr(self.request, "last_pipelined", False):
            self.set_close_on_finish()
        environ[REQUEST_STARTED] = getattr(self.request, "started", None) or time.monotonic()
        arrival = getattr(self.request, "arrival", None)
        if arrival is not None:
            environ[ARRIVAL] = arrival
            if arrival.stopped:
                self.set_close_on_finish()  # the rest of the body was never read
        return environ


class StrictErrorTask(ErrorTask):
    def execute(self):
        error = self.request.error
        text = _PLAIN_ERRORS.get(error.code, "This request could not be understood. "
                                             "Please go back and try again.")
        body = (text + "\n").encode("utf-8")
        self.status = f"{error.code} {error.reason}"
        self.response_headers.extend([("Content-Type", "text/plain; charset=utf-8"),
                                      *HEADERS.items()])
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class DropboxChannel(HTTPChannel):
    parser_class = SealedBodyParser
    task_class = TimedTask
    error_task_class = StrictErrorTask

    @classmethod
    def serving(cls, intake: Intake) -> type[DropboxChannel]:
        parser = type("SealedBodyParser", (SealedBodyParser,), {"intake": intake})
        return type("DropboxChannel", (cls,), {"parser_class": parser})

    def received(self, data):
        result = super().received(data)
        with self.requests_lock:
            if len(self.requests) > PIPELINED:
                dropped = self.requests[PIPELINED:]
                del self.requests[PIPELINED:]
                self.requests[-1].last_pipelined = True
                if self.request is not None:
                    dropped.append(self.request)
                    self.request = None
                for request in dropped:
                    request.close()
        return result

    def handle_close(self):
        unfinished, self.request = self.request, None
        if unfinished is not None:
            unfinished.close()
        super().handle_close()
