"""Anonymous traffic never evicts a reporter's session.

Tens of thousands of cookie-less requests each made a session, and once the table was full
the oldest sessions went, a reporter writing a report among them. With the cap lowered so
that a bounded flood fills it many times over, a reporter who is writing still sends the
report, and one who is logged in stays logged in.
"""
from __future__ import annotations

import http.client
import time
from urllib.parse import urlsplit

from support.attackers import serve_with, writing_reporter
from formclient import FormClient, open_report_form
from support.reporter import log_in, new_report

CAP = 300
FLOOD = 3000
IDLE_SECONDS = 8
CAP_PER_TEST = 8


def _flood(url: str) -> int:
    address = urlsplit(url)
    assert address.hostname is not None, url
    conn = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    made = 0
    for i in range(FLOOD):
        conn.request("GET", "/" if i % 2 else "/login")  # pages with a form: each wants a token
        response = conn.getresponse()
        response.read()
        made += response.getheader("Set-Cookie") is not None
    conn.close()
    return made


def test_a_flood_of_new_sessions_evicts_no_reporter(instance):
    server = serve_with(instance, max_sessions=CAP)
    try:
        codename, _ = new_report(server, "an earlier report")
        reader, page = log_in(server, codename)
        assert "Your conversation" in page.text
        writer, _, form_page = writing_reporter(server)
        assert _flood(server.url) > CAP  # the flood really made sessions beyond the cap
        done = writer.submit(form_page, "Send the report",
                             fill={"message": "written while the flood went on"})
        assert done.status == 200 and "has been sent" in done.text, done.status
        assert "Your conversation" in reader.get("/conversation").text
    finally:
        server.stop()


def test_when_every_place_is_taken_reporters_are_told_the_site_is_busy_and_keep_their_words(
        instance, tmp_path):
    """Someone's sessions are never evicted, so when all `max_sessions` are someone's, nobody
    new begins. A reporter is told the site is busy (not that too many tried to log in), and a
    report whose session ended meanwhile comes back once there is room again."""
    server = serve_with(instance, max_sessions=2, session_idle_seconds=IDLE_SECONDS)
    try:
        writer, _, form_page = writing_reporter(server)
        time.sleep(IDLE_SECONDS + 1)  # the writer's session ends while they write
        others = []
        for n in range(2):  # two reporters take every place there is
            client = FormClient(server.url)
            _, their_form = open_report_form(client)
            others.append((client, client.submit(their_form, "Send the report",
                                                 fill={"message": f"report {n}"})))

        newcomer = FormClient(server.url)
        busy = newcomer.submit(newcomer.get("/"), "Start a new report")
        assert busy.status == 429 and "This site is busy just now" in busy.text
        assert "log in" not in busy.text and busy.form("Try again")
        login = newcomer.submit(newcomer.get("/login"), "Log in", fill={"codename": "any words"})
        assert login.status == 429 and "This site is busy just now" in login.by_id("error-summary").text()

        words = "written while every place was taken"
        kept = writer.submit(form_page, "Send the report", fill={"message": words},
                             files=[("files", "photo.jpg", b"not kept")])
        assert kept.status == 429 and "Nothing you wrote is lost" in kept.text
        assert words not in "".join(server.log)

        client, sent = others[0]
        client.submit(sent, "Log out")  # a place comes free
        codename_page = writer.submit(kept, "Try again")
        assert codename_page.status == 200 and codename_page.by_id("codename") is not None
        assert "photo.jpg" in codename_page.by_id("error-summary").text()
        report = writer.submit(codename_page, "Continue", fill={"written_down": "y"})
        assert report.by_id("message").text().strip() == words  # a browser drops the first line break
        done = writer.submit(report, "Send the report")
        assert done.status == 200 and "has been sent" in done.text
    finally:
        server.stop()


def test_one_codename_logged_in_again_and_again_takes_only_a_few_places(instance):
    """A successful login spends no budget, so one codename of an attacker's own, logged in
    again and again, filled every place for someone; each codename now has a few sessions at
    most, its oldest ending when one more begins."""
    server = serve_with(instance, max_sessions=CAP_PER_TEST)
    try:
        mine, _ = new_report(server, "the attacker's own report")
        theirs, _ = new_report(server, "a reporter's report")
        held = [log_in(server, mine)[0] for _ in range(2 * CAP_PER_TEST)]
        newcomer = FormClient(server.url)
        started = newcomer.submit(newcomer.get("/"), "Start a new report")
        assert started.status == 200 and started.by_id("codename") is not None, started.status
        _, page = log_in(server, theirs)
        assert "Your conversation" in page.text
        assert "Your conversation" in held[-1].get("/conversation").text  # the newest still works
    finally:
        server.stop()
