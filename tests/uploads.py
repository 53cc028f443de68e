"""Streaming a multipart upload to the real server the way a browser does, in pieces.

The body is sent with a Content-Length in 64 KiB pieces, so a test can look
at the disk and at the server's open files while an upload is in flight, or
hang up half way. Like a browser, it reads an answer the server gives before
the body is sent in full (a submission refused before it is read).
"""
from __future__ import annotations

import http.client
import os
import secrets
from dataclasses import dataclass
from collections.abc import Callable
from urllib.parse import urlsplit

from formclient import FormClient, open_report_form

PIECE = 64 * 1024


@dataclass
class ReportSession:
    """A reporter who has a codename and the report form open."""
    client: FormClient
    csrf_token: str
    codename: str
    defaults: list[tuple[str, str]]  # what a browser sends for the untouched form, token included

    @classmethod
    def start(cls, server_url: str) -> ReportSession:
        client = FormClient(server_url)
        codename, form_page = open_report_form(client)
        defaults = form_page.form("Send the report").defaults()
        token = next(v for n, v in defaults if n == "csrf_token")
        return cls(client, token, codename, defaults)

    def fields(self, csrf_token: str | None = None, **values: str) -> list[tuple[str, str]]:
        """The form as a browser sends it, with these fields filled in instead."""
        fields = [(n, v) for n, v in self.defaults if n not in values and n != "csrf_token"]
        return [("csrf_token", csrf_token or self.csrf_token), *fields, *values.items()]

    @property
    def cookie(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.client.http.cookies)


def marked_content(marker: bytes, size: int) -> Callable[[int, int], bytes]:
    """Bytes [start, end) of a file in which every 1 KiB holds the marker: any leaked piece shows it."""
    unit = marker + os.urandom(1024 - len(marker))
    block = unit * (PIECE // len(unit) + 1)

    def piece(start: int, end: int) -> bytes:
        offset = start % len(unit)
        return (block[offset:] + block)[: end - start]
    return piece


def multipart(fields: list[tuple[str, str]], file_name: str, file_size: int,
              content: Callable[[int, int], bytes], file_field: str = "files") -> tuple[str, int, Callable]:
    boundary = "----odbx" + secrets.token_hex(12)
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields)
    head += (f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{file_name}"\r\n'
             f"Content-Type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    total = len(head) + file_size + len(tail)

    def pieces():
        yield head
        for start in range(0, file_size, PIECE):
            yield content(start, min(file_size, start + PIECE))
        yield tail
    return f"multipart/form-data; boundary={boundary}", total, pieces


def send(url: str, path: str, cookie: str, content_type: str, total: int, pieces,
         every: Callable[[int], None] | None = None, hang_up_at: int | None = None) -> int | None:
    """POST the body; calls `every(sent)` after each piece; returns the status, None if we hung up."""
    parts = urlsplit(url)
    assert parts.hostname is not None, url
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
    conn.putrequest("POST", path)
    conn.putheader("Content-Type", content_type)
    conn.putheader("Content-Length", str(total))
    conn.putheader("Cookie", cookie)
    conn.endheaders()
    sent = 0
    try:
        try:
            for piece in pieces():
                conn.send(piece)
                sent += len(piece)
                if every:
                    every(sent)
                if hang_up_at is not None and sent >= hang_up_at:
                    conn.close()
                    return None
        except (BrokenPipeError, ConnectionResetError):
            # The server answered before reading the rest (a refused submission) and closed:
            # read that answer, as a browser does.
            pass
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()
