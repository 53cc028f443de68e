"""At the connection limit, anonymous traffic never evicts a reporter who is sending.

A newcomer at `max_connections` closes the slowest body; a reporter's upload slower than the
attacker's bodies (yet far above the minimum rate) was that body, and was closed without an
answer, its words lost. Now a submission the app has admitted (a live session, a good token)
is never chosen: the attacker's connections make room for each other.
"""
from __future__ import annotations

import threading
import time

from support.attackers import FastBodies, serve_with, slow_report
from uploads import ReportSession

CAP = 20
ATTACKERS = 30  # more than the cap: each newcomer makes room
RATE = 3 * 1024  # bytes a second of each attacker's body: twice the reporter's
REPORTER_RATE = 1536
FILE = 12 * 1024  # eight seconds at the reporter's rate


def test_a_reporter_sending_slowly_is_never_evicted_by_faster_anonymous_bodies(instance):
    # Short windows: a body's rate is measured afresh often, as it is every minute by default.
    server = serve_with(instance, max_connections=CAP, upload_rate_window_seconds=2)
    try:
        reporter = ReportSession.start(server.url)
        attackers = FastBodies(server, CAP - 4, RATE)
        try:
            answered = []
            sending = threading.Thread(target=lambda: answered.append(slow_report(server, reporter, FILE, REPORTER_RATE)))
            sending.start()
            time.sleep(2)
            for _ in range(ATTACKERS - CAP + 4):  # past the cap while the reporter sends
                attackers.sockets.append(attackers.open())
                time.sleep(0.2)
            sending.join()
            assert attackers.closed > 0  # the cap held: someone made room
        finally:
            attackers.close()
        assert answered[0].startswith(b"HTTP/1.1 302"), answered
    finally:
        server.stop()
