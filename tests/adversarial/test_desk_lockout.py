"""Desk lockout: one responder cannot lock out another, a made-up name fails exactly like
a real one, and concurrent guesses cannot slip past the count.

The desk's lock guards what an online guesser could win: the authenticator code of someone
whose password they have. Wrong passwords (diceware, ~90 bits) lock nothing, so whoever
reaches the desk cannot lock a colleague out; wrong codes after a right password are
counted atomically, five at most, however many arrive at once.
"""
from __future__ import annotations

import threading

import pytest

from conftest import dropbox, start_server
from deskclient import add_user, desk_login, desk_url, new_instance

WRONG = "wrong wrong wrong wrong wrong wrong wrong"


@pytest.fixture(scope="module")
def desk(tmp_path_factory, instance_template):
    data = new_instance(tmp_path_factory.mktemp("lockout"), instance_template)
    logins = {name: add_user(data, name) for name in ("alexandra", "bahaa", "mario")}
    server = start_server(data)
    yield data, desk_url(server), logins
    server.stop()


def _answer(page) -> tuple[int, str]:
    refused = page.by_id("refused")
    return page.status, refused.text().strip() if refused else ""


def test_wrong_passwords_from_a_colleague_do_not_lock_a_responder_out(desk):
    _, url, logins = desk
    for _ in range(10):
        _, page = desk_login(url, logins["mario"], password=WRONG)
        assert page.status == 403
    _, page = desk_login(url, logins["mario"])
    assert page.status == 200 and "My conversations" in page.text, _answer(page)


def test_an_unknown_name_fails_exactly_like_a_known_one(desk):
    _, url, logins = desk
    known = [_answer(desk_login(url, logins["bahaa"], password=WRONG)[1]) for _ in range(8)]
    made_up = logins["bahaa"].__class__("bahaa-not-here", WRONG, logins["bahaa"].secret)
    unknown = [_answer(desk_login(url, made_up)[1]) for _ in range(8)]
    assert known == unknown and len(set(known)) == 1


def test_concurrent_wrong_codes_are_counted_before_any_is_checked(desk):
    data, url, logins = desk
    login = logins["alexandra"]
    wrong_code = f"{(int(login.code()) + 500_000) % 1_000_000:06d}"
    answers: list[tuple[int, str]] = []

    def guess():
        for _ in range(5):
            answers.append(_answer(desk_login(url, login, code=wrong_code)[1]))
    threads = [threading.Thread(target=guess) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    checked = [a for a in answers if "locked" not in a[1]]
    assert len(answers) == 40 and all(status == 403 for status, _ in answers)
    assert len(checked) <= 5, f"{len(checked)} of 40 codes were checked before the lock"
    listed = dropbox("desk", "list-users", "--data", data).out
    assert any(line.startswith("alexandra") and "LOCKED" in line for line in listed.splitlines())
