"""More than a thousand malformed requests, each refused with a readable 4xx page.

Requests are written byte by byte over raw sockets to the real server, so
waitress's own parsing is tested as much as the app's. Every answer must be
a 4xx (never a 5xx or a traceback) carrying the strict headers and a
sentence a person can read, and the server must keep answering with bounded
memory. The corpus is generated from a fixed seed, so a failure repeats.
"""
from __future__ import annotations

import random
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from uploads import ReportSession

SEED = 20261124
BOUNDARY = "odbxboundary"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: str
    body: bytes


def raw_request(url: str, data: bytes, timeout: float = 30) -> Answer:
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before the body was read: the answer is still there to read
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
                if _complete(received):
                    break  # a kept-alive connection: the whole answer is in
        except ConnectionResetError:
            pass
    head, _, body = received.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    return Answer(int(status_line.split()[1]), head.decode("latin-1"), body)


def _complete(received: bytes) -> bool:
    head, found, body = received.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return bool(found) and len(body) >= int(line.split(b":")[1])
    return False


def request(method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"",
            content_length: int | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    lines.append(f"Content-Length: {len(body) if content_length is None else content_length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def part(name: str, value: bytes, filename: bytes | None = None) -> bytes:
    disposition = f'Content-Disposition: form-data; name="{name}"'.encode()
    if filename is not None:
        disposition += b'; filename="' + filename + b'"\r\nContent-Type: application/octet-stream'
    return b"--" + BOUNDARY.encode() + b"\r\n" + disposition + b"\r\n\r\n" + value + b"\r\n"


def report_body(csrf: str, message: bytes = b"hello", files=()) -> bytes:
    body = part("csrf_token", csrf.encode()) + part("recipients", b"alexandra") + part("message", message)
    for filename, content in files:
        body += part("files", content, filename)
    return body + b"--" + BOUNDARY.encode() + b"--\r\n"


def multipart_headers(session: ReportSession, boundary: str = BOUNDARY) -> dict[str, str]:
    return {"Content-Type": f"multipart/form-data; boundary={boundary}", "Cookie": session.cookie}


def _find_all(data: bytes, mark: bytes) -> list[int]:
    found, start = [], data.find(mark)
    while start >= 0:
        found.append(start)
        start = data.find(mark, start + 1)
    return found


def corpus(new_session) -> dict[str, list[bytes]]:
    """Named groups of malformed requests, from a fixed seed; each group from a fresh reporter."""
    rng = random.Random(SEED)
    session = new_session()
    good = report_body(session.csrf_token, files=[(b"a.txt", b"x" * 3000)])
    mp = multipart_headers(session)
    # Damage the opening and closing boundaries and the token. (A damaged boundary in the
    # middle only merges two parts, which is a valid body with an odd message.)
    marks = _find_all(good, b"--" + BOUNDARY.encode())
    spans = [(marks[0], len(BOUNDARY) + 2), (marks[-1], len(BOUNDARY) + 4),
             (good.index(session.csrf_token.encode()), len(session.csrf_token))]
    structure = [start + i for start, length in spans for i in range(length)]
    groups: dict[str, list[bytes]] = {}

    groups["truncated multipart"] = [
        request("POST", "/report", mp, good[:cut]) for cut in sorted(rng.sample(range(1, len(good) - 4), 200))]
    groups["damaged boundaries and tokens"] = []
    for _ in range(250):
        body = bytearray(good)
        for _ in range(rng.randint(1, 8)):
            # Bytes that are in no boundary and no token, so every change really damages.
            body[rng.choice(structure)] = rng.choice(b"\r\n\"\x00\xff;")
        groups["damaged boundaries and tokens"].append(request("POST", "/report", mp, bytes(body)))
    session = new_session()
    groups["wrong boundary"] = [
        request("POST", "/report", multipart_headers(session, b), good)
        for b in ["other", "", '"' * 3, "x" * 200, BOUNDARY[:-1], BOUNDARY + "x"] * 10]
    groups["enormous headers"] = [
        request("GET", "/", {"X-Padding": "a" * size}) for size in (300_000, 600_000, 1_000_000)
    ] + [request("GET", "/", {f"X-H{i}": "v" * 200 for i in range(n)}) for n in (1500, 3000)]
    session = new_session()
    groups["invalid utf-8 and nul bytes"] = [
        request("POST", "/report", mp, report_body(session.csrf_token, message=bad))
        for bad in [b"", b"\x00" * 10, b"\xff\xfe\xfd", b"\xc3\x28", b"\xed\xa0\x80", b"   "] * 10
    ] + [request("POST", "/login", {"Content-Type": "application/x-www-form-urlencoded",
                                     "Cookie": session.cookie},
                 b"csrf_token=" + session.csrf_token.encode() + b"&codename=" + bad)
         for bad in [b"%00%00", b"%FF%FE", b"\xff\xfe", b"%C3%28", b"abacus%00" * 7] * 10]
    groups["file names that are paths or junk, without a token"] = [
        request("POST", "/report", mp, report_body("stale", files=[(name, b"data")]))
        for name in [b"../../etc/passwd", b"C:\\\\x\\\\y.txt", b"\x01\x02\x1b[31m", b"a" * 1000,
                     b"\xff\xfe.txt", b"/abs/path", b"..", b"", b"\r\n"] * 10]
    groups["over the size limit, refused before the body"] = [
        request("POST", "/report", mp, b"", content_length=size)
        for size in (3 << 30, 10 << 30, 1 << 40, 2 ** 62)] * 5
    groups["thousands of tiny parts"] = [
        request("POST", "/report", mp, b"".join(part(f"f{i}", b"x") for i in range(n)) +
                b"--" + BOUNDARY.encode() + b"--\r\n") for n in (1500, 3000, 6000)]
    session = new_session()
    groups["too many files"] = [
        request("POST", "/report", mp, report_body(session.csrf_token, files=[(b"f.txt", b"x")] * 25))]
    groups["wrong methods"] = [
        request(method, path) for method in ("PUT", "DELETE", "PATCH", "PROPFIND")
        for path in ("/", "/report", "/login", "/start", "/conversation", "/logout")
    ] + [request("GET", path) for path in ("/start", "/logout")] * 5
    groups["missing or stale csrf tokens"] = [
        request("POST", path, {"Content-Type": "application/x-www-form-urlencoded", "Cookie": session.cookie},
                token) for path in ("/start", "/login", "/logout", "/report", "/conversation")
        for token in (b"", b"csrf_token=", b"csrf_token=stale", b"csrf_token=" + b"A" * 5000,
                      b"csrf_token=" + session.csrf_token[:-3].encode())] * 4
    session = new_session()
    groups["codenames too long or not words"] = [
        request("POST", "/login", {"Content-Type": "application/x-www-form-urlencoded",
                                   "Cookie": session.cookie},
                b"csrf_token=" + session.csrf_token.encode() + b"&codename=" + value)
        for value in [b"word+" * 5000, b"abacus+" * 8, b"abacus+" * 6, b"1234567",
                      b"drop+table+users", b"", b"+" * 100] * 8]
    groups["garbage request lines"] = [
        bytes(rng.randrange(256) for _ in range(rng.randint(5, 200))) + b"\r\n\r\n" for _ in range(60)
    ] + [b"GET\r\n\r\n", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
         b"GET /%zz HTTP/1.1\r\n\r\n"] * 5
    groups["bad content lengths"] = [
        b"POST /report HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + value + b"\r\n\r\nabc"
        for value in (b"-1", b"abc", b"1e9", b"0x10", b"12 34", b"99999999999999999999999")] * 5
    return groups


def served_memory_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.mark.slow
def test_a_thousand_malformed_requests_each_get_a_readable_4xx(server):
    groups = corpus(lambda: ReportSession.start(server.url))
    assert sum(len(g) for g in groups.values()) >= 1000
    before = served_memory_kib(server.process.pid)
    problems = []
    for name, requests in groups.items():
        for index, data in enumerate(requests):
            answer = raw_request(server.url, data)
            text = answer.body.decode("utf-8", "replace")
            if not 400 <= answer.status < 500:
                problems.append(f"{name}[{index}]: status {answer.status}")
            elif "content-security-policy: default-src 'none'" not in answer.headers.lower():
                problems.append(f"{name}[{index}]: no strict headers")
            elif "Traceback" in text or not ('class="error"' in text or "please" in text.lower()):
                problems.append(f"{name}[{index}]: no readable page: {text[:80]!r}")
    assert problems == [], f"{len(problems)} bad answers, e.g. {problems[:5]}"
    assert not [p for p in (server.data / "store").rglob("*") if p.is_file()]
    assert not list((server.data / "tmp").iterdir())
    # Still answering, and memory did not run away.
    assert raw_request(server.url, request("GET", "/")).status == 200
    grown = served_memory_kib(server.process.pid) - before
    assert grown < 64 * 1024, f"peak memory grew by {grown // 1024} MiB"


def test_body_over_the_limit_is_refused_before_it_is_sent(server):
    session = ReportSession.start(server.url)
    parts = urlsplit(server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(request("POST", "/report", multipart_headers(session), b"", content_length=3 << 30))
        answer = b""
        while chunk := sock.recv(65536):  # no body byte sent: the answer comes anyway
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413")
    assert b"larger than this drop accepts" in answer
