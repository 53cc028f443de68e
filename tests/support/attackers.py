"""Attackers for the adversarial tests and `make bench-attacks`: an instance with settings of
the attack's choosing, raw sockets to the real server, its memory, and clients that misbehave
(slow, fast, never reading, announcing more than they send) beside a reporter half-way through
a report. Every attack here is bounded in count and time and aims at loopback only.
"""
from __future__ import annotations

import select
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from formclient import FormClient, Page, open_report_form
from support.instance import set_settings
from support.server import Server, start_server
from uploads import ReportSession, marked_content, multipart

__all__ = ["FastBodies", "SlowConnections", "answered", "chunked_until_answered", "closed_by_server",
           "connect", "never_reading", "post_head", "rss_kib", "serve_with", "set_settings",
           "slow_report", "writing_reporter"]


def serve_with(data: Path, **settings) -> Server:
    """The server on `data`, its config.toml changed first as an operator would."""
    set_settings(data, **settings)
    return start_server(data)


def connect(server: Server, timeout: float = 10) -> socket.socket:
    address = urlsplit(server.url)
    return socket.create_connection((address.hostname, address.port), timeout=timeout)


def rss_kib(server: Server, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field}")


def writing_reporter(server: Server) -> tuple[FormClient, str, Page]:
    """A reporter with a codename who has the report form open: (client, codename, form page)."""
    client = FormClient(server.url)
    codename, form_page = open_report_form(client)
    return client, codename, form_page


class SlowConnections:
    """`count` connections that each send a byte now and then and never finish: half of
    them a request's headers, half a body under a huge Content-Length. Bounded: a thread
    trickles until close()."""

    def __init__(self, server: Server, count: int, every: float = 5.0):
        self.sockets: list[socket.socket] = []
        for i in range(count):
            sock = connect(server)
            if i % 2:
                # To a page that takes files: any other body this large is refused unread.
                sock.sendall(b"POST /report HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                             b"multipart/form-data; boundary=x\r\nContent-Length: 1000000000\r\n\r\n--x\r\n")
            else:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            sock.setblocking(False)
            self.sockets.append(sock)
        self.closed_by_server = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._trickle, args=(every,), daemon=True)
        self._thread.start()

    def _trickle(self, every: float) -> None:
        while not self._stop.wait(every):
            for sock in list(self.sockets):
                try:
                    sock.send(b"a")
                except OSError:
                    self.sockets.remove(sock)
                    self.closed_by_server += 1
                    sock.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for sock in self.sockets:
            sock.close()


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """Whether the server closes `sock` within `within` seconds (we keep reading)."""
    sock.settimeout(0.5)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if sock.recv(65536) == b"":
                return True
        except TimeoutError:
            continue
        except OSError:
            return True
    return False


def post_head(server, path: str, content_type: str, length: int | None, cookie: str = "") -> socket.socket:
    """A POST's headers, announcing `length` bytes (None: chunked); the body is the caller's."""
    sock = connect(server)
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
                 f"{framing}\r\nCookie: {cookie}\r\n\r\n".encode())
    return sock


def answered(sock: socket.socket, within: float) -> bytes:
    """The status line the server sent within `within` seconds, without our sending more."""
    readable, _, _ = select.select([sock], [], [], within)
    return sock.recv(200).split(b"\r\n")[0] if readable else b""


def chunked_until_answered(sock: socket.socket, total: int) -> tuple[bytes, int]:
    """Send up to `total` bytes in chunks until the server answers; (status line, bytes sent)."""
    chunk = b"%x\r\n" % (256 * 1024) + b"a" * (256 * 1024) + b"\r\n"
    sent = 0
    try:
        while sent < total:
            readable, writable, _ = select.select([sock], [sock], [], 30)
            if readable:
                break
            sent += sock.send(chunk)
    except OSError:
        pass
    return answered(sock, 30), sent


class FastBodies:
    """`count` connections sending bodies to /login at `rate` bytes a second each, reopened
    when closed."""

    def __init__(self, server: Server, count: int, rate: int):
        self.server, self.rate, self.stop, self.closed = server, rate, threading.Event(), 0
        self.sockets = [self.open() for _ in range(count)]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def open(self) -> socket.socket:
        sock = connect(self.server)
        sock.sendall(b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                     b"application/x-www-form-urlencoded\r\nContent-Length: 300000\r\n\r\n")
        return sock

    def _run(self):
        while not self.stop.wait(0.25):
            for i, sock in enumerate(self.sockets):
                try:
                    sock.send(b"a" * (self.rate // 4))
                except OSError:
                    sock.close()
                    self.closed += 1
                    self.sockets[i] = self.open()

    def close(self):
        self.stop.set()
        self.thread.join()
        for sock in self.sockets:
            sock.close()


def slow_report(server: Server, reporter: ReportSession, size: int, rate: int) -> bytes:
    """A report with a file of `size` bytes sent at `rate` bytes a second; what the server
    first answered (or the error that ended the sending)."""
    content_type, total, pieces = multipart(reporter.fields(message="slowly"),
                                            "photo.jpg", size, marked_content(b"slow", size))
    body = b"".join(pieces())
    sock = connect(server, timeout=30)
    sock.sendall(f"POST /report HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
                 f"Content-Length: {total}\r\nCookie: {reporter.cookie}\r\n\r\n".encode())
    try:
        for start in range(0, len(body), rate // 4):
            sock.sendall(body[start:start + rate // 4])
            time.sleep(0.25)
        return sock.recv(100)
    except OSError as exc:
        return repr(exc).encode()
    finally:
        sock.close()


def never_reading(url: str, pipelined: int) -> socket.socket:
    """A connection pipelining `pipelined` requests for the stylesheet, never reading an answer."""
    address = urlsplit(url)
    sock = socket.create_connection((address.hostname, address.port))
    request = b"GET /static/site.css HTTP/1.1\r\n\r\n"  # small: many to one read

    def pipeline():  # until the server stops reading, or closes
        try:
            sock.sendall(request * pipelined)
        except OSError:
            pass
    threading.Thread(target=pipeline, daemon=True).start()
    return sock
