"""An unfinished request head costs little to hold: it is refused past 16 KiB.

waitress copies and searches an unfinished head whole on every read, so its cost per byte
grows with the head: 60 connections holding heads of 250 KB and trickling single bytes took
the server to 92 % of a core. A browser's head is under 2 KiB; past 16 KiB the answer is a
431 at once, whatever follows.
"""
from __future__ import annotations

from support.attackers import connect

HEAD_LIMIT = 16 * 1024


def test_a_request_head_over_sixteen_kib_is_refused_at_once(server):
    sock = connect(server, timeout=5)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Long: " + b"a" * HEAD_LIMIT)
    answer = sock.recv(100)  # no end of the head was sent: only a refusal can come
    assert answer.split(b" ")[1] == b"431", answer
    sock.close()
    fits = connect(server, timeout=5)
    fits.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Long: " + b"a" * (HEAD_LIMIT // 2) + b"\r\n\r\n")
    assert fits.recv(100).startswith(b"HTTP/1.1 200")
    fits.close()
