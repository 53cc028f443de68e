"""Memory from one request: huge text fields are refused while they are parsed, not after.

Anonymous POSTs (no session, so the CSRF check will refuse them) carry hundreds of text
fields of 150-480 KB each. Four at once must not grow the server's memory by more than
128 MiB, and its memory must come back; each gets a readable 4xx.
"""
from __future__ import annotations

import threading

import requests

from attack import rss_kib

REQUESTS = 4
MiB = 1024


def _body(field_bytes: int, fields: int) -> tuple[bytes, str]:
    boundary = "bigfields"
    value = b"A" * field_bytes
    def one(i: int) -> bytes:
        return f'--{boundary}\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\n'.encode() + value + b"\r\n"
    body = b"".join(one(i) for i in range(fields)) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _flood(url: str, body: bytes, content_type: str) -> list[int]:
    statuses: list[int] = []

    def post():
        response = requests.post(url, data=body, headers={"Content-Type": content_type}, timeout=300)
        statuses.append(response.status_code)
    threads = [threading.Thread(target=post) for _ in range(REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_four_requests_of_huge_text_fields_do_not_hold_them_in_memory(server):
    requests.get(server.url, timeout=30)
    before = rss_kib(server, "VmHWM")
    for path, field_bytes, fields in (("report", 480_000, 250), ("login", 150_000, 800)):
        body, content_type = _body(field_bytes, fields)
        statuses = _flood(server.url + path, body, content_type)
        assert all(400 <= s < 500 for s in statuses), statuses
    grown = rss_kib(server, "VmHWM") - before
    print(f"peak RSS grew by {grown / MiB:.1f} MiB")
    assert grown < 128 * MiB
    assert rss_kib(server) - before < 64 * MiB  # and what was taken came back
    assert requests.get(server.url, timeout=30).status_code == 200
