"""A flood of junk codenames does not lock reporters out of their conversation.

Junk (anything that is not a codename of the list's words) costs the server no argon2id run, so
it must not spend the shared budget of failed logins either. While 10 junk logins a
second keep coming, the right codename gets in at its first try.
"""
from __future__ import annotations

import threading
import time

from formclient import FormClient
from test_whole_loop import new_report

JUNK_PER_SECOND = 10  # from two guessers, so a slow answer does not slow the flood


def test_right_codename_gets_in_during_a_junk_flood(server):
    codename, _ = new_report(server, "hello")
    stop = threading.Event()
    junk_statuses: list[int] = []

    def flood():
        guesser = FormClient(server.url)
        page = guesser.get("/login")
        i = 0
        while not stop.is_set():
            started = time.monotonic()
            junk_statuses.append(guesser.submit(page, "Log in", fill={"codename": f"junk {i}"}).status)
            i += 1
            stop.wait(max(0.0, 2 / JUNK_PER_SECOND - (time.monotonic() - started)))
    flooders = [threading.Thread(target=flood) for _ in range(2)]
    for flooder in flooders:
        flooder.start()
    try:
        time.sleep(6)  # the flood has had time to drain a budget of 30 a minute
        reporter = FormClient(server.url)
        page = reporter.get("/login")
        # A reporter tries once; a 429 now would send them away for minutes.
        answer = reporter.submit(page, "Log in", fill={"codename": codename})
    finally:
        stop.set()
        for flooder in flooders:
            flooder.join()
    assert len(junk_statuses) >= 60 and all(400 <= s < 500 for s in junk_statuses)
    assert answer.status == 200 and "Your conversation" in answer.text, answer.status
