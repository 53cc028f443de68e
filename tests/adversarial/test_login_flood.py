"""A flood of junk or of wrong codenames does not lock reporters out of their conversation.

Junk (anything that is not a codename of the list's words) costs the server no argon2id run, so
it must not spend the shared budget of failed logins either. While 10 junk logins a
second keep coming, the right codename gets in at its first try. Well-formed wrong codenames
do spend the budget; the right one still gets in, after a restart too, and after an upgrade
from v0.1.0 once its reporter has logged in once.
"""
from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import pytest

from support.attackers import set_settings
from conftest import dropbox, start_server
from formclient import FormClient
from keys.codename import new_codename
from survival import reporter_page
from support.reporter import new_report

FIXTURES = Path(__file__).parent.parent / "fixtures"

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


def _tries_during_a_flood(server, codename: str) -> tuple[list[int], list]:
    """Two guessers send well-formed wrong codenames (four a second in all); once a budget of
    6 a minute is spent, the reporter tries three times, a second apart. Returns the guessers'
    statuses and the reporter's answers."""
    stop = threading.Event()
    wrong: list[int] = []

    def guess():
        guesser = FormClient(server.url)
        page = guesser.get("/login")
        while not stop.is_set():
            wrong.append(guesser.submit(page, "Log in", fill={"codename": new_codename()}).status)
            stop.wait(0.25)
    guessers = [threading.Thread(target=guess) for _ in range(2)]
    for guesser in guessers:
        guesser.start()
    try:
        time.sleep(4)  # a budget of 6 a minute is spent
        answers = []
        for _ in range(3):
            reporter = FormClient(server.url)
            answers.append(reporter.submit(reporter.get("/login"), "Log in", fill={"codename": codename}))
            time.sleep(1)
    finally:
        stop.set()
        for guesser in guessers:
            guesser.join()
    return wrong, answers


def _got_in(answers) -> bool:
    return [a.status for a in answers] == [200] * 3 and all("Your conversation" in a.text for a in answers)


def test_a_codename_gets_in_during_a_flood_of_well_formed_wrong_ones(instance):
    """Well-formed wrong codenames (eight words of the public list) each cost an argon2id run,
    so they spend the shared budget, and at a few a second kept the right codename out at most
    of its tries. A codename with a conversation is recognised from a short keyed tag stored
    beside it, and is let through whatever the budget."""
    set_settings(instance, login_failures_per_minute=6)
    server = start_server(instance)
    try:
        codename, _ = new_report(server, "hello")
        wrong, answers = _tries_during_a_flood(server, codename)
    finally:
        server.stop()
    assert 429 in wrong  # the budget really was empty
    assert _got_in(answers)


def test_the_right_codename_gets_in_during_a_flood_after_a_restart(instance):
    """The tags are stored, under a key in secrets/: a restart forgets nothing a reporter
    needs to get past a flood."""
    set_settings(instance, login_failures_per_minute=6)
    server = start_server(instance)
    try:
        codename, _ = new_report(server, "hello")
    finally:
        server.stop()
    server = start_server(instance)
    try:
        wrong, answers = _tries_during_a_flood(server, codename)
    finally:
        server.stop()
    assert 429 in wrong
    assert _got_in(answers), [a.status for a in answers]


@pytest.mark.slow
def test_a_v0_1_0_conversation_gains_its_tag_at_its_first_login_after_the_upgrade(tmp_path):
    """v0.1.0 stored no tags: `dropbox upgrade` makes the key and the column, each conversation
    gains its tag at its reporter's next login, and from then on that codename gets past a
    flood, restarts included."""
    data = tmp_path / "instance"
    shutil.copytree(FIXTURES / "v0.1.0" / "instance", data)
    [first, *_] = json.loads((FIXTURES / "v0.1.0" / "fixture.json").read_text())["reports"]
    said = dropbox("upgrade", "--data", data).out
    assert "applied: tag_codenames_for_the_login_budget" in said, said
    key = data / "secrets" / "codename-tag-key"
    assert len(key.read_bytes()) == 32 and key.stat().st_mode & 0o077 == 0
    set_settings(data, login_failures_per_minute=6)

    server = start_server(data)
    try:
        assert reporter_page(server.url, first["codename"]).status == 200  # the budget is whole
    finally:
        server.stop()
    server = start_server(data)
    try:
        wrong, answers = _tries_during_a_flood(server, first["codename"])
    finally:
        server.stop()
    assert 429 in wrong
    assert _got_in(answers), [a.status for a in answers]
