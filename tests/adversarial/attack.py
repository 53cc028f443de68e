"""What the adversarial tests share: an instance with settings of the test's choosing, a
raw socket to the real server, the server's memory, and a reporter who is half-way through
a report. Every attack here is bounded in count and time and aims at loopback only.
"""
from __future__ import annotations

import re
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from conftest import Server, start_server
from formclient import FormClient, open_report_form


def set_settings(data: Path, **values) -> None:
    """Change config.toml the way an operator would (appending settings it does not list)."""
    config = data / "config.toml"
    text = config.read_text()
    for name, value in values.items():
        line = f"{name} = {value}"
        text, found = re.subn(rf"^{name} = .*$", line, text, flags=re.M)
        if not found:
            text += line + "\n"
    config.write_text(text)


def serve_with(data: Path, **settings) -> Server:
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


def writing_reporter(server: Server) -> tuple[FormClient, str, object]:
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
