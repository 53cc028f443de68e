"""Desk enrolment: the operator issues a one-time code; the responder chooses their own
passphrase and authenticator on the desk, can change both, and a reset ends their logins.
The CLI is the real one; the desk is the real app in this process (support/inprocess.py)."""
from __future__ import annotations

import dataclasses
import sqlite3
import time

import pyotp
import pytest

from conftest import dropbox
from deskclient import Login, add_user, parse_enrolment_code
from formclient import FormClient, Page

PASSPHRASE = "correct horse battery staple"


def _desk(instance) -> FormClient:
    from dropbox.config import Config
    from dropbox.desk.app import create_desk_app
    from dropbox.storage import Store
    from support.inprocess import URL, in_process
    config = Config.load(instance)
    Store(config.database, config.store_dir, config.tmp_dir).prepare()
    return FormClient(URL, in_process(create_desk_app(config)))


@pytest.fixture
def desk(instance) -> FormClient:
    return _desk(instance)


def _issue(instance, name: str, command: str = "add-user") -> str:
    return parse_enrolment_code(dropbox("desk", command, name, "--data", instance).out)


def _secret(page: Page) -> str:
    shown = page.by_id("totp-secret")
    assert shown is not None, page.text[:300]
    return shown.text().replace(" ", "")


def _enrol(desk: FormClient, name: str, code: str, passphrase: str = PASSPHRASE) -> tuple[Page, Login]:
    """Through the pages: the code, then the passphrase and a code from the new secret."""
    start = desk.get(desk.get("/login").link("Enrol"))  # the login page leads there
    chosen = desk.submit(start, "Continue", fill={"code": code})
    assert chosen.status == 200, chosen.text[:300]
    secret = _secret(chosen)
    done = desk.submit(chosen, "Enrol", fill={"passphrase": passphrase, "again": passphrase,
                                              "otp": pyotp.TOTP(secret).at(time.time() - 30)})
    return done, Login(name, passphrase, secret)


def _log_in(desk: FormClient, login: Login, password: str | None = None, step: int = 0) -> Page:
    return desk.submit(desk.get("/login"), "Log in", fill={
        "username": login.name, "password": login.password if password is None else password,
        "otp": login.code(step)})


def _next_step(instance) -> None:
    """As if the authenticator had moved on: each code works once, and a test needs more
    logins than the three 30-second steps a code is accepted in."""
    with sqlite3.connect(instance / "dropbox.sqlite3") as db:
        db.execute("UPDATE desk_accounts SET last_otp_step = 0")


def _audit(instance) -> list[tuple[str, str]]:
    with sqlite3.connect(instance / "dropbox.sqlite3") as db:
        return [(actor, action) for actor, action in db.execute("SELECT actor, action FROM desk_audit")]


def test_add_user_prints_a_one_time_enrolment_code_and_no_credentials(instance):
    said = dropbox("desk", "add-user", "mario", "--data", instance).out
    code = parse_enrolment_code(said)
    assert len(code.split("-")) == 5 and "until" in said and "/enrol" in said
    assert "otpauth" not in said and "password" not in said.lower() and "█" not in said
    assert code.encode() not in (instance / "dropbox.sqlite3").read_bytes()  # a keyed hash only
    listed = dropbox("desk", "list-users", "--data", instance).out
    assert any(line.startswith("mario") and "waiting for enrolment" in line for line in listed.splitlines())
    again = dropbox("desk", "add-user", "mario", "--data", instance, check=False)
    assert again.code != 0 and "reset-user" in again.err


def test_a_responder_enrols_with_their_own_passphrase_and_authenticator(desk, instance):
    code = _issue(instance, "mario")
    waiting = Login("mario", "", pyotp.random_base32())
    assert _log_in(desk, waiting, password="anything at all").status == 403  # no login before enrolment
    # Typed as a person might: capitals, spaces for hyphens.
    chosen = desk.submit(desk.get("/enrol"), "Continue", fill={"code": code.upper().replace("-", " ")})
    assert "mario" in next(n for n in chosen.root.walk() if n.tag == "h1").text()
    assert any(n.tag == "svg" for n in chosen.root.walk())  # the QR code, inline
    secret = _secret(chosen)
    assert len(secret) == 32 and secret.encode() not in (instance / "dropbox.sqlite3").read_bytes()
    done = desk.submit(chosen, "Enrol", fill={"passphrase": PASSPHRASE, "again": PASSPHRASE,
                                              "otp": pyotp.TOTP(secret).at(time.time() - 30)})
    assert done.url.endswith("/login?enrolled=1") and done.by_id("notice") is not None
    listed = _log_in(desk, Login("mario", PASSPHRASE, secret))
    assert listed.status == 200 and "My conversations" in listed.text
    assert ("mario", "enrolled") in _audit(instance)


def test_an_enrolment_code_works_once(desk, instance):
    code = _issue(instance, "mario")
    _enrol(desk, "mario", code)
    refused = desk.submit(desk.get("/enrol"), "Continue", fill={"code": code})
    assert refused.status == 403 and "used already" in refused.by_id("refused").text()


def test_an_expired_enrolment_code_is_refused(desk, instance):
    code = _issue(instance, "mario")
    with sqlite3.connect(instance / "dropbox.sqlite3") as db:
        db.execute("UPDATE desk_accounts SET enrolment_expires = ? WHERE name = 'mario'",
                   (int(time.time()) - 1,))
    refused = desk.submit(desk.get("/enrol"), "Continue", fill={"code": code})
    assert refused.status == 403 and "expired" in refused.by_id("refused").text()
    listed = dropbox("desk", "list-users", "--data", instance).out
    assert "enrolment code expired" in listed


def test_enrolment_refuses_a_short_or_mistyped_passphrase_and_a_wrong_code_keeping_the_code(desk, instance):
    code = _issue(instance, "mario")
    chosen = desk.submit(desk.get("/enrol"), "Continue", fill={"code": code})
    secret = _secret(chosen)
    otp = pyotp.TOTP(secret).now()
    short = desk.submit(chosen, "Enrol", fill={"passphrase": "short", "again": "short", "otp": otp})
    assert short.status == 400 and "at least 12" in short.by_id("refused").text()
    typo = desk.submit(chosen, "Enrol", fill={"passphrase": PASSPHRASE, "again": PASSPHRASE + "s", "otp": otp})
    assert typo.status == 400 and "not the same" in typo.by_id("refused").text()
    wrong = f"{(int(otp) + 500_000) % 1_000_000:06d}"
    bad = desk.submit(chosen, "Enrol", fill={"passphrase": PASSPHRASE, "again": PASSPHRASE, "otp": wrong})
    assert bad.status == 400 and "does not match" in bad.by_id("refused").text()
    assert _secret(bad) == secret  # the same secret, to try again
    done = desk.submit(bad, "Enrol", fill={"passphrase": PASSPHRASE, "again": PASSPHRASE, "otp": otp})
    assert done.url.endswith("/login?enrolled=1")


def test_wrong_enrolment_codes_spend_the_failed_login_budget(instance):
    from dropbox.config import Config
    settings = dataclasses.replace(Config.load(instance).settings, login_failures_per_minute=2)
    (instance / "config.toml").write_text(settings.to_toml())
    desk = _desk(instance)
    code = _issue(instance, "mario")
    answers = [desk.submit(desk.get("/enrol"), "Continue", fill={"code": f"no-such-code-{n}-x"}).status
               for n in range(3)]
    assert answers == [403, 403, 429]
    assert desk.submit(desk.get("/enrol"), "Continue", fill={"code": code}).status == 429


def test_an_enrolment_form_without_csrf_token_is_refused(desk, instance):
    code = _issue(instance, "mario")
    answer = desk.http.post(desk.base_url + "enrol", data={"code": code}, timeout=60)
    assert answer.status_code == 400 and "expired" in answer.text


def test_a_reset_issues_a_new_code_and_ends_the_responders_sessions(desk, instance):
    login = add_user(instance, "alexandra")
    listed = _log_in(desk, login)
    assert listed.status == 200
    said = dropbox("desk", "reset-user", "alexandra", "--data", instance).out
    assert "sessions have ended" in said
    assert desk.get("/").url.endswith("/login")  # this session ended
    assert _log_in(desk, login, step=1).status == 403  # the old passphrase is gone
    done, fresh = _enrol(desk, "alexandra", parse_enrolment_code(said))
    assert done.url.endswith("/login?enrolled=1") and fresh.secret != login.secret
    assert _log_in(desk, fresh).status == 200
    assert ("alexandra", "was reset and issued an enrolment code") in _audit(instance)


def test_failed_logins_are_audited_by_account_never_by_what_was_typed(desk, instance):
    login = add_user(instance, "alexandra")
    assert _log_in(desk, login, password="a wrong passphrase typed").status == 403
    stranger = Login("alexandra-typed-her-passphrase-here", "also typed", login.secret)
    assert _log_in(desk, stranger).status == 403
    assert ("alexandra", "failed login") in _audit(instance) and ("", "failed login") in _audit(instance)
    stored = (instance / "dropbox.sqlite3").read_bytes()
    assert b"a wrong passphrase typed" not in stored and b"typed-her-passphrase" not in stored
    assert _log_in(desk, login).status == 200
    audit = desk.get("/audit")
    rows = [[cell.text() for cell in n.walk() if cell.tag == "td"][1:3] for n in audit.by_class("audit-entry")]
    assert ["alexandra", "failed login"] in rows and ["(a name that is no desk account)", "failed login"] in rows


def test_a_responder_changes_their_passphrase_after_proving_their_login(desk, instance):
    login = add_user(instance, "alexandra")
    other = _desk(instance)
    assert _log_in(other, login).status == 200  # a second session, elsewhere
    _next_step(instance)
    _log_in(desk, login)
    page = desk.get("/account")
    new = "a passphrase of my own choosing"
    _next_step(instance)
    refused = desk.submit(page, "Change my passphrase", fill={
        "passphrase-current": "not my passphrase", "passphrase-otp": login.code(),
        "passphrase-passphrase": new, "passphrase-again": new})
    assert refused.status == 403 and refused.by_id("passphrase-refused") is not None
    typo = desk.submit(page, "Change my passphrase", fill={
        "passphrase-current": login.password, "passphrase-otp": login.code(),
        "passphrase-passphrase": new, "passphrase-again": new + "!"})
    assert typo.status == 403 and "not the same" in typo.by_id("passphrase-refused").text()
    # Neither refusal spent the code: the same one changes the passphrase now.
    changed = desk.submit(page, "Change my passphrase", fill={
        "passphrase-current": login.password, "passphrase-otp": login.code(),
        "passphrase-passphrase": new, "passphrase-again": new})
    assert changed.status == 200 and changed.by_id("notice") is not None
    assert desk.get("/").status == 200  # this session goes on
    assert other.get("/").url.endswith("/login")  # the other one ended
    assert ("alexandra", "changed their passphrase") in _audit(instance)
    _next_step(instance)
    fresh = _desk(instance)
    assert _log_in(fresh, login).status == 403
    assert _log_in(fresh, Login("alexandra", new, login.secret)).status == 200


def test_a_responder_moves_to_a_new_authenticator_entry(desk, instance):
    login = add_user(instance, "alexandra")
    _log_in(desk, login)
    page = desk.get("/account")
    secret = _secret(page)
    assert secret != login.secret
    wrong = f"{(int(pyotp.TOTP(secret).now()) + 500_000) % 1_000_000:06d}"
    _next_step(instance)
    refused = desk.submit(page, "Use the new authenticator entry", fill={
        "authenticator-current": login.password, "authenticator-otp": login.code(),
        "authenticator-new_otp": wrong})
    assert refused.status == 403 and refused.by_id("authenticator-refused") is not None
    assert _secret(refused) == secret
    _next_step(instance)
    changed = desk.submit(refused, "Use the new authenticator entry", fill={
        "authenticator-current": login.password, "authenticator-otp": login.code(),
        "authenticator-new_otp": pyotp.TOTP(secret).now()})
    assert changed.status == 200 and changed.by_id("notice") is not None
    assert ("alexandra", "changed their authenticator") in _audit(instance)
    _next_step(instance)
    fresh = _desk(instance)
    assert _log_in(fresh, login).status == 403  # the old entry's codes no longer work
    assert _log_in(fresh, Login("alexandra", login.password, secret)).status == 200
