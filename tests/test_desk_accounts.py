"""Desk accounts, through the real CLI and the real server: creating, logging in, locking out."""
from __future__ import annotations

import pytest

from conftest import TEAM, dropbox, start_server
from deskclient import new_instance, add_user, desk_login, desk_url, parse_credentials


@pytest.fixture(scope="module")
def desk(tmp_path_factory, instance_template):
    data = new_instance(tmp_path_factory.mktemp("desk-accounts"), instance_template)
    logins = {name: add_user(data, name) for name in TEAM}
    server = start_server(data)
    yield data, desk_url(server), logins
    server.stop()


def test_add_user_prints_a_diceware_password_and_a_totp_uri_and_qr_code(tmp_path, airgap):
    data = tmp_path / "instance"
    dropbox("init", "--data", data, "--community", "Test community")
    dropbox("team", "add", "mario", airgap.pub("mario"), "--data", data)
    said = dropbox("desk", "add-user", "mario", "--data", data).out
    login = parse_credentials("mario", said)
    assert len(login.password.split()) >= 7
    assert "otpauth://totp/" in said and "mario" in said
    assert "█" in said  # the QR code, drawn in the terminal
    again = dropbox("desk", "add-user", "mario", "--data", data, check=False)
    assert again.code != 0 and "reset-user" in again.err
    stranger = dropbox("desk", "add-user", "nobody", "--data", data, check=False)
    assert stranger.code != 0 and "not on the team" in stranger.err
    assert login.password not in (data / "dropbox.sqlite3").read_bytes().decode("latin-1")
    assert login.secret not in (data / "dropbox.sqlite3").read_bytes().decode("latin-1")
    dropbox("desk", "remove-user", "mario", "--data", data)
    assert "no desk logins yet" in dropbox("desk", "list-users", "--data", data).out


def test_login_with_good_password_and_code_shows_my_conversations(desk):
    _, url, logins = desk
    _, page = desk_login(url, logins["alexandra"], code=logins["alexandra"].code(-1))
    assert page.status == 200
    assert "My conversations" in page.text and "alexandra" in page.text


def test_bad_password_or_wrong_code_is_refused(desk):
    _, url, logins = desk
    login = logins["alexandra"]
    _, page = desk_login(url, login, password="not the password at all")
    assert page.status == 403 and "wrong" in page.by_id("refused").text()
    window = {login.code(step) for step in (-1, 0, 1)}
    wrong = next(c for c in ("123456", "654321", "111111", "222222") if c not in window)
    _, page = desk_login(url, login, code=wrong)
    assert page.status == 403 and "My conversations" not in page.text
    _, page = desk_login(url, logins["mario"], password=login.password, code=login.code())
    assert page.status == 403  # one responder's password does not open another's account


def test_a_code_already_used_is_refused(desk):
    _, url, logins = desk
    login = logins["bahaa"]
    code = login.code(0)
    _, first = desk_login(url, login, code=code)
    assert first.status == 200
    _, replayed = desk_login(url, login, code=code)
    assert replayed.status == 403 and "used already" in replayed.by_id("refused").text()
    _, nextone = desk_login(url, login, code=login.code(1))
    assert nextone.status == 200


def test_repeated_wrong_codes_lock_the_account_visibly_until_reset(desk):
    data, url, logins = desk
    login = logins["mario"]
    wrong_code = f"{(int(login.code()) + 500_000) % 1_000_000:06d}"
    for _ in range(5):  # wrong passwords lock nothing (tests/adversarial/test_desk_lockout.py)
        _, page = desk_login(url, login, code=wrong_code)
        assert page.status == 403
    _, page = desk_login(url, login)  # now even the right password and code
    assert page.status == 403 and "locked" in page.by_id("refused").text()
    listed = dropbox("desk", "list-users", "--data", data).out
    assert any(line.startswith("mario") and "LOCKED" in line for line in listed.splitlines())
    fresh = parse_credentials("mario", dropbox("desk", "reset-user", "mario", "--data", data).out)
    assert fresh.password != login.password and fresh.secret != login.secret
    _, page = desk_login(url, login)
    assert page.status == 403  # the old credentials are gone
    _, page = desk_login(url, fresh)
    assert page.status == 200


def test_login_form_without_csrf_token_is_refused(desk):
    _, url, logins = desk
    import requests
    login = logins["alexandra"]
    response = requests.post(url + "login", data={"username": login.name, "password": login.password,
                                                   "otp": login.code()}, timeout=60)
    assert response.status_code == 400
    assert "expired" in response.text
