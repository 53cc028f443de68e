"""At the connection limit, anonymous traffic never evicts a reporter who is sending.

A newcomer at `max_connections` closes the slowest body; a reporter's upload slower than the
attacker's bodies (yet far above the minimum rate) was that body, and was closed without an
answer, its words lost. Now a submission the app has admitted (a live session, a good token)
is never chosen: the attacker's connections make room for each other.
"""
from __future__ import annotations

import threading
import time

from attack import connect, serve_with
from uploads import ReportSession, marked_content, multipart

CAP = 20
ATTACKERS = 30  # more than the cap: each newcomer makes room
RATE = 3 * 1024  # bytes a second of each attacker's body: twice the reporter's
REPORTER_RATE = 1536
FILE = 12 * 1024  # eight seconds at the reporter's rate


class FastBodies:
    """`count` connections sending bodies to /login at `RATE`, reopened when closed."""

    def __init__(self, server, count: int):
        self.server, self.stop, self.closed = server, threading.Event(), 0
        self.sockets = [self._open() for _ in range(count)]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _open(self):
        sock = connect(self.server)
        sock.sendall(b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                     b"application/x-www-form-urlencoded\r\nContent-Length: 300000\r\n\r\n")
        return sock

    def _run(self):
        while not self.stop.wait(0.25):
            for i, sock in enumerate(self.sockets):
                try:
                    sock.send(b"a" * (RATE // 4))
                except OSError:
                    sock.close()
                    self.closed += 1
                    self.sockets[i] = self._open()

    def close(self):
        self.stop.set()
        self.thread.join()
        for sock in self.sockets:
            sock.close()


def _slow_report(server, reporter: ReportSession) -> bytes:
    content_type, total, pieces = multipart(reporter.fields(message="slowly"),
                                            "photo.jpg", FILE, marked_content(b"slow", FILE))
    body = b"".join(pieces())
    sock = connect(server, timeout=30)
    sock.sendall(f"POST /report HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
                 f"Content-Length: {total}\r\nCookie: {reporter.cookie}\r\n\r\n".encode())
    try:
        for start in range(0, len(body), REPORTER_RATE // 4):
            sock.sendall(body[start:start + REPORTER_RATE // 4])
            time.sleep(0.25)
        return sock.recv(100)
    except OSError as exc:
        return repr(exc).encode()
    finally:
        sock.close()


def test_a_reporter_sending_slowly_is_never_evicted_by_faster_anonymous_bodies(instance):
    # Short windows: a body's rate is measured afresh often, as it is every minute by default.
    server = serve_with(instance, max_connections=CAP, upload_rate_window_seconds=2)
    try:
        reporter = ReportSession.start(server.url)
        attackers = FastBodies(server, CAP - 4)
        try:
            answered = []
            sending = threading.Thread(target=lambda: answered.append(_slow_report(server, reporter)))
            sending.start()
            time.sleep(2)
            for _ in range(ATTACKERS - CAP + 4):  # past the cap while the reporter sends
                attackers.sockets.append(attackers._open())
                time.sleep(0.2)
            sending.join()
            assert attackers.closed > 0  # the cap held: someone made room
        finally:
            attackers.close()
        assert answered[0].startswith(b"HTTP/1.1 302"), answered
    finally:
        server.stop()
