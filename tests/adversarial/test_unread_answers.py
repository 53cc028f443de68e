"""Clients that never read their answers cannot hold the site's workers.

waitress parses every request pipelined in one read and answers them one after another;
once a connection's unsent answers pass its high-water mark (16 MiB), the worker answering
it waits for the client to read. Eight connections that each pipeline thousands of requests
and never read took every worker, and every visitor waited for as long as they stayed open.
Now a connection is answered a few pipelined requests at a time, an answer nobody reads
must still leave at the minimum rate, and a visitor gets in at once.
"""
from __future__ import annotations

import time

import requests

from support.attackers import closed_by_server, never_reading, serve_with

ATTACKERS = 8  # twice waitress's worker threads
PIPELINED = 40_000  # of a 6 KB stylesheet each: 240 MB of answers per connection
PATIENCE = 5  # seconds a visitor waits
CLOSED_WITHIN = 8  # seconds: the window of the minimum rate (3 s) and some


def test_clients_that_never_read_their_answers_lose_their_connections_and_hold_no_worker(instance):
    server = serve_with(instance, upload_rate_window_seconds=3)
    attackers = []
    try:
        attackers = [never_reading(server.url, PIPELINED) for _ in range(ATTACKERS)]
        time.sleep(2)
        started = time.monotonic()
        assert requests.get(server.url, timeout=PATIENCE).status_code == 200
        print(f"the landing page took {time.monotonic() - started:.2f} s")
        # None of them read a byte, and each lost its connection in bounded time.
        assert all(closed_by_server(sock, within=CLOSED_WITHIN) for sock in attackers)
    finally:
        for sock in attackers:
            sock.close()
        server.stop()
