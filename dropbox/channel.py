"""How requests reach the app: waitress's channel, adjusted in three small ways.

The least invasive hooks waitress offers are the channel's class attributes
`parser_class`, `task_class` and `error_task_class`; nothing of waitress is
patched.
- The parser lets waitress parse headers as always, then gives the body
  receiver a buffer that overflows into an encrypted spool (spool.py), and
  notes when the request began, before its body arrived.
- The task passes that moment to the app, so a session that was alive when a
  long upload over tor began still counts when the upload ends.
- Errors waitress answers itself (a malformed request line, headers too
  large, a body over the limit, refused before it is read) get the same strict
  headers as every page and a plain sentence instead of a server's signature.
"""
from __future__ import annotations

import time

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.task import ErrorTask, WSGITask

from dropbox.headers import HEADERS
from dropbox.spool import SealedOverflowableBuffer

REQUEST_STARTED = "dropbox.request_started"

_PLAIN_ERRORS = {
    413: "What you sent is larger than this drop accepts. Please send fewer or smaller files.",
    431: "Your browser sent more than this drop accepts. Please try again.",
}


class SealedBodyParser(HTTPRequestParser):
    started = None

    def parse_header(self, header_plus):
        self.started = time.monotonic()
        super().parse_header(header_plus)
        receiver = self.body_rcv
        if receiver is not None:
            # Called before any body byte has arrived: the buffer is still empty.
            receiver.buf = SealedOverflowableBuffer(self.adj.inbuf_overflow)


class TimedTask(WSGITask):
    def get_environment(self):
        environ = super().get_environment()
        environ[REQUEST_STARTED] = getattr(self.request, "started", None) or time.monotonic()
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
