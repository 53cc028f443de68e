"""The disk budget is held only by bytes that arrived, and only where files may go.

Four anonymous connections announcing large bodies and sending nothing held all of
`max_bytes_in_flight_mib`, so every report with a file got waitress's plain-text 507; a
chunked body was spooled with nothing reserved at all (three filled a disk); and a body that
cannot carry files was read whole before it was refused. Now a body reserves what has
arrived, before it is written; one that cannot carry files (any but a multipart POST with a
usable boundary to a page that takes files) is refused past a form's text, before it is
read; and a submission the budget refuses comes back with its words.
"""
from __future__ import annotations

import time

from support.attackers import answered, chunked_until_answered, post_head, serve_with
from test_seal_on_arrival import stream
from uploads import ReportSession, marked_content, multipart, send

MiB = 1 << 20
HOLDERS = 4


def test_bodies_without_files_are_refused_unread_and_announced_lengths_hold_nothing(instance):
    server = serve_with(instance, max_bytes_in_flight_mib=8)
    holders = []
    try:
        urlencoded = "application/x-www-form-urlencoded"
        for path in ("/start", "/login", "/logout"):
            assert b" 413 " in answered(post_head(server, path, urlencoded, 400 * MiB), within=5), path
        long_boundary = "multipart/form-data; boundary=" + "b" * 201
        assert b" 413 " in answered(post_head(server, "/report", long_boundary, 400 * MiB), within=5)

        answer, sent = chunked_until_answered(post_head(server, "/login", urlencoded, None), 64 * MiB)
        assert b" 413 " in answer and sent < 16 * MiB, (answer, sent)

        # Bodies where files may go, announced larger than the whole budget, nearly silent.
        multipart_type = "multipart/form-data; boundary=x"
        holders = [post_head(server, "/report", multipart_type, 6 * MiB) for _ in range(HOLDERS)]
        for sock in holders:
            sock.sendall(b"--x\r\n")
        time.sleep(1)
        reporter = ReportSession.start(server.url)
        size = 3 * MiB
        content_type, total, pieces = multipart(reporter.fields(message="m"),
                                                "photo.jpg", size, marked_content(b"held", size))
        assert send(server.url, "/report", reporter.cookie, content_type, total, pieces) == 302
    finally:
        for sock in holders:
            sock.close()
        server.stop()


def test_a_report_the_budget_refuses_comes_back_with_its_words(instance):
    server = serve_with(instance, max_bytes_in_flight_mib=1)
    try:
        reporter = ReportSession.start(server.url)
        words = "what happened at the meetup, in my own words"
        size = 4 * MiB
        content_type, total, pieces = multipart(reporter.fields(recipients="mario", message=words),
                                                "photo.jpg", size, marked_content(b"full", size))
        answer, _ = stream(server, "/report", reporter.cookie, content_type, total, pieces)
        assert answer.startswith("HTTP/1.1 507"), answer[:200]
        assert words in answer and "short of disk space" in answer
        assert not list((server.data / "tmp").iterdir())
    finally:
        server.stop()
