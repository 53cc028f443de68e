"""Deadlines per connection, so that slow or silent connections cannot hold the site.

All reporters arrive from one address (tor), so nothing here can be per address: it is
per connection. waitress only closes a connection after `channel_timeout` without a byte,
so 500 connections that each sent a byte every 20 seconds filled its connection limit and
every new visitor waited. Three rules, each far more patient than a slow tor circuit:
- **Headers by a deadline.** From the moment a connection waits for a request (it opened,
  or its last answer was sent) the request's headers must be complete within
  `header_timeout_seconds`. An idle kept-alive connection counts as waiting: browsers open
  a new one when they need it.
- **Bodies at a minimum rate.** While a body arrives, each window of
  `upload_rate_window_seconds` must bring `min_upload_bytes_per_second` on average
  (1 KiB/s over a minute by default; a slow tor circuit does tens of KiB/s).
- **Answers read at the same rate.** An answer waiting for the client must leave at
  `min_upload_bytes_per_second` over each window too. A client that does not read what it
  asked for would otherwise keep its connection for ever (waitress's own timeout skips a
  connection with an answer pending), and the worker writing to it, if the answer is large.
- **Room for the newcomer.** At `max_connections`, a new connection closes the one that
  has waited longest for its headers, or, if none is waiting, the body (or unread answer)
  moving most slowly since it began: a flood of connections evicts its own kind, and never
  locks a visitor out. A submission the app has admitted (a reporter's, with a live session
  and a good token: submission_stream.py) is never chosen, however slow, so anonymous
  traffic cannot evict a reporter who is sending.
A connection that breaks a rule is closed without an answer; nothing of it reached the app.

The hook is waitress's own: `server.channel_class`, here a subclass of our channel with
these rules in front. The checks run in `readable()`, which waitress's loop asks of every
connection at least once a second (`asyncore_loop_timeout`); bytes are counted in the
channel's own `received` and `send`, extended in the subclass; nothing is patched. With
thousands of connections, waitress must use poll() rather than select() (limited to 1024
descriptors), and the process may open as many files as its hard limit allows.
"""
from __future__ import annotations

from typing import Any

import resource
import time
from dataclasses import dataclass

from dropbox.config import Settings

# Files the server needs besides connections: the database, envelopes being written,
# spools, tor's control connection. Kept free under the open-file limit.
SPARE_FILES = 256

WAITING = "waiting for headers"
RECEIVING = "receiving a body"
SENDING = "sending an answer"  # what the client has not read yet
BUSY = "answering"  # the app works on a request


@dataclass(frozen=True)
class Deadlines:
    header_seconds: float
    window_seconds: float
    min_bytes_per_second: int
    max_connections: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Deadlines:
        return cls(settings.header_timeout_seconds, settings.upload_rate_window_seconds,
                   settings.min_upload_bytes_per_second,
                   min(settings.max_connections, open_file_limit() - SPARE_FILES))


def open_file_limit() -> int:
    """Raise this process's soft limit of open files to its hard limit; return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = max(soft, 65536)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def with_deadlines(channel_class: type, deadlines: Deadlines) -> type:
    """`channel_class` with the deadlines in front, for one server's `channel_class`."""
    return type(channel_class.__name__, (DeadlineChannel, channel_class), {"deadlines": deadlines})


class DeadlineChannel:
    """Mixed in front of a waitress HTTPChannel (see with_deadlines)."""
    deadlines: Deadlines
    # waitress's HTTPChannel's own, which has no type information.
    total_outbufs_len: int
    requests: list[Any]
    request: Any

    def __init__(self, server, sock, addr, adj, map=None):
        super().__init__(server, sock, addr, adj, map=map)
        self.phase, self.since = WAITING, time.monotonic()
        self.bytes_in = self.bytes_out = self.mark = 0
        self.began, self.began_mark = self.since, 0  # the current phase's start, for its rate
        if map is not None and len(map) > self.deadlines.max_connections:
            self._make_room(map)

    def received(self, data):
        self.bytes_in += len(data)
        return super().received(data)

    def send(self, data, do_close=True):
        sent = super().send(data, do_close)
        self.bytes_out += sent
        return sent

    def readable(self):
        if not self.will_close and self.overdue(time.monotonic()):
            self.will_close = True  # waitress's writable() now says yes; handle_write closes
            return False
        return super().readable()

    def _current_phase(self) -> str:
        if self.total_outbufs_len:
            return SENDING
        if self.requests:
            return BUSY
        request = self.request
        return RECEIVING if request is not None and request.headers_finished else WAITING

    def _progress(self) -> int:
        """Bytes moved so far in the direction the current phase is judged by."""
        return self.bytes_out if self.phase == SENDING else self.bytes_in

    def overdue(self, now: float) -> bool:
        phase = self._current_phase()
        if phase != self.phase:
            self.phase, self.since = phase, now
            self.mark = self._progress()
            self.began, self.began_mark = now, self.mark
            return False
        if phase == WAITING:
            return now - self.since > self.deadlines.header_seconds
        if phase in (RECEIVING, SENDING) and now - self.since >= self.deadlines.window_seconds:
            needed = self.deadlines.min_bytes_per_second * (now - self.since)
            if self._progress() - self.mark < needed:
                return True
            self.since, self.mark = now, self._progress()
        return False

    def _admitted(self) -> bool:
        """Whether this connection carries a submission the app has admitted."""
        arrival = getattr(self.request, "arrival", None)
        return arrival is not None and arrival.admitted is True and not arrival.stopped

    def _make_room(self, socket_map) -> None:
        """Close the connection that has waited longest for its headers; failing that, the
        body arriving most slowly. Connections the app is answering are never chosen."""
        now = time.monotonic()

        def cost(channel) -> tuple[int, float]:
            if channel.phase == WAITING:
                return 0, channel.since
            rate = (channel._progress() - channel.began_mark) / max(now - channel.began, 1.0)
            return 1, rate
        channels = [c for c in socket_map.values() if isinstance(c, DeadlineChannel)
                    and c is not self and not c.will_close]
        for channel in channels:
            channel.overdue(now)  # its phase as it is now, not as the loop last saw it
        candidates = [c for c in channels if c.phase != BUSY and not c._admitted()]
        if candidates:
            min(candidates, key=cost).will_close = True
