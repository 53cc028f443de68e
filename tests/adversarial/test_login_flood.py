"""A flood of junk codenames does not lock reporters out of their conversation.

Junk (anything that is not a codename of the list's words) costs the server no argon2id run, so
it must not spend the shared budget of failed logins either. While 10 junk logins a
second keep coming, the right codename gets in at its first try.
"""
from __future__ import annotations

import threading
import time

from attack import serve_with
from formclient import FormClient
from keys.codename import new_codename
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


def test_a_codename_seen_since_start_up_gets_in_during_a_flood_of_well_formed_wrong_ones(instance):
    """Well-formed wrong codenames (eight words of the public list) each cost an argon2id run,
    so they spend the shared budget, and at a few a second kept the right codename out at most
    of its tries. A codename the server has seen since it started (made here, or logged in
    with) is recognised from a short keyed tag held in memory, and is let through whatever
    the budget."""
    server = serve_with(instance, login_failures_per_minute=6)
    stop = threading.Event()
    wrong: list[int] = []
    try:
        codename, _ = new_report(server, "hello")

        def guess():
            guesser = FormClient(server.url)
            page = guesser.get("/login")
            while not stop.is_set():
                wrong.append(guesser.submit(page, "Log in", fill={"codename": new_codename()}).status)
                stop.wait(0.25)
        guessers = [threading.Thread(target=guess) for _ in range(2)]
        for guesser in guessers:
            guesser.start()
        time.sleep(4)  # a budget of 6 a minute is spent
        answers = []
        for _ in range(3):
            reporter = FormClient(server.url)
            answers.append(reporter.submit(reporter.get("/login"), "Log in", fill={"codename": codename}))
            time.sleep(1)
    finally:
        stop.set()
        server.stop()
    assert 429 in wrong  # the budget really was empty
    assert [a.status for a in answers] == [200] * 3 and all("Your conversation" in a.text for a in answers)
