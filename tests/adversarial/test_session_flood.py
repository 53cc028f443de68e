"""Anonymous traffic never evicts a reporter's session.

Tens of thousands of cookie-less requests each made a session, and once the table was full
the oldest sessions went, a reporter writing a report among them. With the cap lowered so
that a bounded flood fills it many times over, a reporter who is writing still sends the
report, and one who is logged in stays logged in.
"""
from __future__ import annotations

import http.client
from urllib.parse import urlsplit

from attack import serve_with, writing_reporter
from test_whole_loop import log_in, new_report

CAP = 300
FLOOD = 3000


def _flood(url: str) -> int:
    address = urlsplit(url)
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
