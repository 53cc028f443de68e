"""Sessions end when they should: logout is final even for a request still running, and a
desk login reset or removed by the operator ends that responder's live sessions at once."""
from __future__ import annotations

import pytest
import requests

from conftest import dropbox, start_server
from deskclient import add_user, desk_login, desk_url
from support.reporter import log_in, new_report
from uploads import marked_content, multipart, send

UPLOAD = 48 << 20  # long enough to be still in the app when the logout has finished


def test_logout_is_final_even_for_a_request_of_that_session_still_running(server):
    codename, _ = new_report(server, "hello")
    for trial in range(3):
        client, page = log_in(server, codename)
        cookie = "; ".join(f"{c.name}={c.value}" for c in client.http.cookies)
        token = page.form("Send").defaults()[0][1]
        content_type, total, pieces = multipart([("csrf_token", token), ("message", "")],
                                                "late.bin", UPLOAD, marked_content(b"late", UPLOAD))

        def log_out_when_sent(sent: int, total: int = total, client=client) -> None:
            if sent == total:  # the upload is whole: the app is working on it now
                client.submit(client.get("/conversation"), "Log out")
        status = send(server.url, "/conversation", cookie, content_type, total, pieces,
                      every=log_out_when_sent)
        assert status is not None and status < 500
        again = requests.get(server.url + "conversation", headers={"Cookie": cookie}, timeout=30)
        assert "Log in with your codename" in again.text, f"trial {trial}: the old cookie works: {again.status_code} {again.text[again.text.find('<main'):][:400]}"


@pytest.mark.parametrize("command", ["reset-user", "remove-user"])
def test_desk_reset_or_removal_ends_live_sessions_at_once(instance, command):
    login = add_user(instance, "alexandra")
    server = start_server(instance)
    try:
        new_report(server, "for the desk")
        client, page = desk_login(desk_url(server), login)
        assert page.status == 200 and "My conversations" in page.text
        dropbox("desk", command, "alexandra", "--data", instance)
        after = client.get("")
        assert "Log in to the response desk" in after.text
        bundle = client.http.get(desk_url(server) + "bundle?all=1", timeout=60, allow_redirects=False)
        assert bundle.status_code in (302, 303) and not bundle.content.startswith(b"ODBX")
    finally:
        server.stop()
