"""Slow connections cannot lock reporters out.

2,000 connections that send a byte every few seconds and never finish (half of them a
request's headers, half a body under a huge Content-Length): a visitor still gets the
landing page, a reporter still logs in and sends a message, and when they close the server
answers at once. Then the rules behind it, each with small settings: a half-sent request
and a crawling body are closed, a fair slow upload is not, and beyond the connection limit
the newest visitor is served because the slowest connection makes room.
"""
from __future__ import annotations

import time

import requests

from support.attackers import SlowConnections, closed_by_server, connect, serve_with
from conftest import start_server
from support.reporter import log_in, new_report

SLOW = 2000
PATIENCE = 10  # seconds a visitor waits before giving up; a bound, not a measurement


def test_visitors_and_reporters_get_through_two_thousand_slow_connections(instance):
    server = start_server(instance)
    try:
        codename, _ = new_report(server, "before the attack")
        slow = SlowConnections(server, SLOW)
        try:
            landing = requests.get(server.url, timeout=PATIENCE)
            assert landing.status_code == 200 and "Start a new report" in landing.text
            client, page = log_in(server, codename)
            assert "Your conversation" in page.text
            sent = client.submit(page, "Send", fill={"message": "written during the attack"})
            assert sent.status == 200 and "sent=1" in sent.url
            assert len(slow.sockets) == SLOW  # none was closed: the limit was not reached
        finally:
            slow.close()
        assert requests.get(server.url, timeout=PATIENCE).status_code == 200
    finally:
        server.stop()


def test_half_sent_headers_and_crawling_bodies_are_closed_and_fair_uploads_are_not(instance):
    server = serve_with(instance, header_timeout_seconds=2, upload_rate_window_seconds=2)
    try:
        silent = connect(server)
        half_headers = connect(server)
        half_headers.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        crawling = connect(server)
        crawling.sendall(b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n")
        fair = connect(server)
        fair.sendall(b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/"
                     b"x-www-form-urlencoded\r\nContent-Length: 24576\r\n\r\n")
        for _ in range(12):  # 6 seconds: 2 bytes a second crawl, 4 KiB a second is fair
            for sock, data in ((half_headers, b"a"), (crawling, b"a"), (fair, b"a" * 2048)):
                try:
                    sock.send(data)
                except OSError:
                    pass
            time.sleep(0.5)
        for sock in (silent, half_headers, crawling):
            assert closed_by_server(sock, within=10)
        fair.sendall(b"a" * (24576 - 12 * 2048))
        fair.settimeout(10)
        assert fair.recv(100).startswith(b"HTTP/1.1 400")  # answered: no token, but it arrived
    finally:
        server.stop()


def test_beyond_the_connection_limit_the_slowest_make_room(instance):
    server = serve_with(instance, max_connections=200)
    try:
        slow = SlowConnections(server, 600, every=1.0)
        try:
            for _ in range(3):
                landing = requests.get(server.url, timeout=PATIENCE)
                assert landing.status_code == 200
            time.sleep(2)
            assert slow.closed_by_server >= 350  # the limit holds
        finally:
            slow.close()
    finally:
        server.stop()
