"""Cookies, sessions, the login budget, and secrets that must never be written anywhere."""
from __future__ import annotations

import re
import sqlite3
import time

import pytest

from formclient import FormClient
from support.reporter import log_in, new_report
from support.server import start_server
from uploads import ReportSession, marked_content, multipart, send


def test_cookie_holds_only_a_random_id_that_changes_at_login_and_goes_at_logout(server):
    client = FormClient(server.url)
    client.get("/")
    before = client.http.cookies.get("session")
    codename, _ = new_report(server, "hello")
    client, page = log_in(server, codename)
    cookies = [r.headers.get("Set-Cookie", "") for r in page.response.history + [page.response]]
    login_cookie = next(c for c in cookies if c.startswith("session="))
    assert "HttpOnly" in login_cookie and "SameSite=Strict" in login_cookie
    value = client.http.cookies.get("session")
    assert value and value != before and len(value) >= 40
    assert re.fullmatch(r"[A-Za-z0-9_-]+", value)  # an opaque id, not signed data

    stolen = value
    after = client.submit(page, "Log out")
    assert "Start a new report" in after.text
    cleared = after.response.history[0].headers["Set-Cookie"]
    assert cleared.startswith("session=;") and "1970" in cleared
    assert client.http.cookies.get("session") != stolen
    thief = FormClient(server.url)
    thief.http.cookies.set("session", stolen)
    assert "Log in with your codename" in thief.get("/conversation").text


def test_session_id_from_before_login_is_worthless_after_it(server):
    codename, _ = new_report(server, "hello")
    client = FormClient(server.url)
    page = client.get("/login")
    before = client.http.cookies.get("session")
    client.submit(page, "Log in", fill={"codename": codename})
    fixated = FormClient(server.url)
    fixated.http.cookies.set("session", before)
    assert "Log in with your codename" in fixated.get("/conversation").text


@pytest.mark.parametrize("configured_server", [{"session_idle_seconds": 2}], indirect=True)
def test_idle_session_expires(configured_server):
    codename, _ = new_report(configured_server, "hello")
    client, page = log_in(configured_server, codename)
    assert "Your conversation" in page.text
    time.sleep(3)
    assert "Log in with your codename" in client.get("/conversation").text


@pytest.mark.parametrize("configured_server", [{"session_idle_seconds": 2}], indirect=True)
def test_upload_that_outlasts_the_session_is_still_accepted(configured_server):
    session = ReportSession.start(configured_server.url)
    size = 4 << 20
    content_type, total, pieces = multipart(
        session.fields(recipients="mario", message="slow upload"),
        "big.bin", size, marked_content(b"slow", size))
    started = time.monotonic()
    # A slow tor circuit: the body takes longer to arrive than the session may idle.
    status = send(configured_server.url, "/report", session.cookie, content_type, total, pieces,
                  every=lambda sent: time.sleep(0.05))
    assert time.monotonic() - started > 3
    assert status == 302  # accepted: the reporter is sent on to the confirmation page
    assert [p for p in (configured_server.data / "store").rglob("*") if p.is_file()]


@pytest.mark.parametrize("configured_server", [{"login_failures_per_minute": 20}], indirect=True)
def test_failed_logins_share_a_budget_that_refills_within_seconds(configured_server):
    codename, _ = new_report(configured_server, "hello")
    # A conversation without its codename's tag, as one made before the upgrade that added
    # tags (a tagged codename is let through whatever the budget:
    # tests/adversarial/test_login_flood.py).
    configured_server.stop()
    with sqlite3.connect(configured_server.data / "dropbox.sqlite3") as db:
        db.execute("UPDATE conversations SET codename_tag = NULL")
    server = start_server(configured_server.data)
    try:
        guesser = FormClient(server.url)
        page = guesser.get("/login")
        # Well-formed guesses, each an argon2id run: only those spend the budget.
        from keys.codename import new_codename
        statuses = []
        while 429 not in statuses and len(statuses) < 40:
            statuses.append(guesser.submit(page, "Log in", fill={"codename": new_codename()}).status)
        # 20 at once, and a few more that refilled while the argon2id runs took their time.
        assert statuses[-1] == 429 and 20 <= statuses.count(403) <= 30, statuses
        refused = FormClient(server.url)
        blocked = refused.submit(refused.get("/login"), "Log in", fill={"codename": codename})
        assert blocked.status == 429 and "wait a minute" in blocked.text
        time.sleep(3.5)  # 20 a minute: one more try every 3 seconds
        _, page = log_in(server, codename)
        assert page.status == 200 and "Your conversation" in page.text
    finally:
        server.stop()


def test_no_codename_or_derived_key_in_cookies_logs_or_data(server, airgap, tmp_path):
    from dropbox.config import Config
    from keys.codename import derive
    codename, done = new_report(server, "a full session")
    client, page = log_in(server, codename)
    page = client.submit(page, "Send", fill={"message": "more"})
    client.submit(page, "Log out")
    config = Config.load(server.data)
    identity = derive(codename, config.peppers, config.codename_cost)
    secrets_to_hide = [codename, codename.replace(" ", "+"), codename.replace(" ", "%20"),
                       bytes(identity.secret_key).hex()]
    raw_secrets = [codename.encode(), bytes(identity.secret_key)]

    set_cookies = [h for r in [done.response, page.response, *page.response.history]
                   for h in r.raw.headers.getlist("Set-Cookie")]
    for value in secrets_to_hide:
        assert not any(value in c for c in set_cookies)
        assert value not in "".join(server.log)
    # The log says nothing about who came: no address, no browser, no time of day.
    requests_logged = [line for line in server.log if not line.startswith(("serving", "WARNING: tor"))]
    assert not [line for line in requests_logged if "127.0.0.1" in line or "python-requests" in line
                or re.search(r"\d\d:\d\d:\d\d", line)]
    for path in server.data.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for value in raw_secrets + [s.encode() for s in secrets_to_hide]:
                assert value not in data, f"a secret is in {path}"
