"""Bodies that flood a form: many huge text fields, sent by several clients at once."""
from __future__ import annotations

import threading

import requests


def many_fields(field_bytes: int, fields: int) -> tuple[bytes, str]:
    """A multipart body of `fields` text fields of `field_bytes` each, and its content type."""
    boundary = "bigfields"
    value = b"A" * field_bytes

    def one(i: int) -> bytes:
        return f'--{boundary}\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\n'.encode() + value + b"\r\n"
    body = b"".join(one(i) for i in range(fields)) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def flood(url: str, body: bytes, content_type: str, clients: int = 4) -> list[int]:
    """POST the body from `clients` threads at once; the statuses they got."""
    statuses: list[int] = []

    def post():
        response = requests.post(url, data=body, headers={"Content-Type": content_type}, timeout=300)
        statuses.append(response.status_code)
    threads = [threading.Thread(target=post) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses
