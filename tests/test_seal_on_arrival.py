"""Submissions are parsed and sealed as they arrive, and refused before they are read.

How much of a body the server read is bounded by what the client could send
before the answer came: the client's send buffer is kept small, so what it
sent is what the server read plus at most the kernel's receive buffer (a few
MiB on loopback). A server that reads a refused body to its end lets the
client send all of it.
"""
from __future__ import annotations

import secrets
import select
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest

from conftest import dropbox
from formclient import FormClient, Page, open_report_form
from support.reporter import log_in, new_report
from uploads import PIECE, ReportSession, marked_content, multipart, send

GiB = 1 << 30
MiB = 1 << 20


def stream(server, path: str, cookie: str, content_type: str, total: int, pieces) -> tuple[str, int]:
    """POST a body, stopping as soon as the server answers; returns (answer, bytes sent)."""
    parts = urlsplit(server.url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=120)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
    sock.sendall((f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: {content_type}\r\n"
                  f"Content-Length: {total}\r\nCookie: {cookie}\r\n\r\n").encode())
    sent, answer = 0, b""
    try:
        for piece in pieces():
            view = memoryview(piece)
            while view:
                readable, writable, _ = select.select([sock], [sock], [], 60)
                if readable:
                    raise StopIteration
                assert writable, "the server neither reads nor answers"
                count = sock.send(view)
                sent += count
                view = view[count:]
    except (StopIteration, BrokenPipeError, ConnectionResetError):
        pass
    try:
        while chunk := sock.recv(65536):
            answer += chunk
    except ConnectionResetError:
        pass
    sock.close()
    return answer.decode("utf-8", "replace"), sent


def test_a_gibibyte_with_a_stale_token_is_refused_after_reading_a_few_mib(server):
    """Issue 14: a refused submission is not read, let alone stored."""
    old = ReportSession.start(server.url)  # a form whose session has since ended
    content_type, total, pieces = multipart(old.fields(recipients="mario", message="my words"),
                                            "evidence.mp4", GiB, marked_content(b"gib", GiB))
    started = time.monotonic()
    answer, sent = stream(server, "/report", "", content_type, total, pieces)
    print(f"1 GiB with a stale token: the client could send {sent / MiB:.2f} MiB")
    assert sent < 4 * MiB, f"the client could send {sent / MiB:.1f} MiB of a refused body"
    assert time.monotonic() - started < 30
    assert answer.startswith("HTTP/1.1 400") and "Connection: close" in answer
    assert "Your session had ended" in answer and "evidence.mp4" in answer
    assert not [p for p in (server.data / "store").rglob("*") if p.is_file()]
    assert not list((server.data / "tmp").iterdir())
    # The server is fine, and the connection it closed took nothing with it.
    assert FormClient(server.url).get("/").status == 200


def test_a_report_nobody_may_read_is_refused_before_its_files(server):
    """A live session, a good token, but no responder checked: the form comes back at once,
    naming the file to attach again, and the file is neither read nor stored."""
    session = ReportSession.start(server.url)
    fields = [(n, v) for n, v in session.fields(message="my words") if n != "recipients"]
    size = 256 * MiB
    content_type, total, pieces = multipart(fields, "photo.jpg", size, marked_content(b"no", size))
    answer, sent = stream(server, "/report", session.cookie, content_type, total, pieces)
    print(f"256 MiB for nobody: the client could send {sent / MiB:.2f} MiB")
    assert sent < 4 * MiB
    assert answer.startswith("HTTP/1.1 400")
    assert "at least one responder" in answer
    assert "was not kept" in answer and "photo.jpg" in answer and "my words" in answer
    assert not list((server.data / "tmp").iterdir())


def test_a_small_refused_report_is_answered_on_a_healthy_connection(server):
    """Under a MiB left: read to its end and dropped, so a browser is never cut off mid-send."""
    session = ReportSession.start(server.url)
    content_type, total, pieces = multipart(session.fields("stale", recipients="mario", message="words"),
                                            "a.txt", 200 * 1024, marked_content(b"small", 200 * 1024))
    status = send(server.url, "/report", "", content_type, total, pieces)
    assert status == 400
    assert not list((server.data / "tmp").iterdir())


def test_an_accepted_upload_is_sealed_once_and_stored(server, airgap, tmp_path):
    """The file goes through the sink as it arrives: stored, and opened offline intact."""
    session = ReportSession.start(server.url)
    size = 3 * MiB + 17
    content = marked_content(b"whole", size)
    content_type, total, pieces = multipart(session.fields(recipients="alexandra", message="see file"),
                                            "whole.bin", size, content)
    assert send(server.url, "/report", session.cookie, content_type, total, pieces) == 302
    bundle = tmp_path / "export.bundle"
    dropbox("export", "--data", server.data, "--out", bundle)
    airgap.open(bundle, "alexandra", tmp_path / "opened")
    [stored] = list((tmp_path / "opened").rglob("whole.bin"))
    assert stored.read_bytes() == b"".join(content(start, min(size, start + PIECE))
                                           for start in range(0, size, PIECE))


@pytest.mark.parametrize("configured_server", [{"session_idle_seconds": 2}], indirect=True)
def test_a_follow_up_sent_after_the_session_ended_comes_back_after_login(configured_server):
    """Issue 13: the words of a follow-up whose session ended are on the page after logging in."""
    server = configured_server
    codename, _ = new_report(server, "first")
    client, page = log_in(server, codename)
    words = f"Something else happened, {secrets.token_hex(4)}.\nSecond line."
    time.sleep(3)  # the session ends while the reporter writes
    login = client.submit(page, "Send", fill={"message": words},
                          files=[("files", "screenshot.png", b"png bytes")])
    assert login.status == 400 and "You had been logged out" in login.text
    assert "was not kept" in login.text and "screenshot.png" in login.text
    assert not list((server.data / "tmp").iterdir())
    back = client.submit(login, "Log in", fill={"codename": codename})
    assert back.status == 200 and "Your conversation" in back.text
    textarea = next(n for n in back.root.walk() if n.tag == "textarea" and n.attrs.get("name") == "message")
    assert textarea.text().strip().replace("\r\n", "\n") == words
    assert "was not kept" in back.text and "screenshot.png" in back.text
    sent = client.submit(back, "Send", files=[("files", "screenshot.png", b"png bytes")])
    assert sent.status == 200 and "Sent, with 1 file. Thank you." in sent.text


@pytest.mark.parametrize("configured_server", [{"max_bytes_in_flight_mib": 1}], indirect=True)
def test_bodies_in_flight_are_capped_and_refused_before_reading(configured_server):
    """Issue 10, the disk: past the cap on bytes in flight (what has arrived of each body, past
    what stays in memory), a body gets 507, unread from there on, its words back; the cap is
    given back when a body ends, even one whose sender hung up."""
    server = configured_server
    first, second = ReportSession.start(server.url), ReportSession.start(server.url)
    size = 700 * 1024

    def body(session, name):
        return multipart(session.fields(recipients="mario", message="m"), name, size,
                         marked_content(b"cap", size))
    content_type, total, pieces = body(first, "one.bin")
    holding = threading.Event()
    hung_up = threading.Thread(target=send, args=(server.url, "/report", first.cookie, content_type,
                                                  total, pieces),
                               kwargs={"every": lambda sent: sent >= 10 * PIECE and
                                       (holding.set(), time.sleep(3)), "hang_up_at": 10 * PIECE})
    hung_up.start()
    holding.wait(20)
    time.sleep(0.5)  # its last piece has arrived: 640 KiB held
    content_type, total, pieces = body(second, "two.bin")
    answer, _ = stream(server, "/report", second.cookie, content_type, total, pieces)
    assert answer.startswith("HTTP/1.1 507") and "could not be saved" in answer
    hung_up.join()
    time.sleep(0.5)
    assert send(server.url, "/report", second.cookie, content_type, total, pieces) == 302
    # Small forms never touch the disk and are never refused for it.
    assert FormClient(server.url).get("/").status == 200


# More than any disk here has free.
@pytest.mark.parametrize("configured_server", [{"disk_reserve_mib": 1 << 30}], indirect=True)
def test_a_free_space_reserve_refuses_uploads_not_pages(configured_server):
    server = configured_server
    new_report(server, "a short report fits in memory")
    session = ReportSession.start(server.url)
    size = 2 * MiB
    content_type, total, pieces = multipart(session.fields(recipients="mario", message="m"),
                                            "big.bin", size, marked_content(b"full", size))
    answer, _ = stream(server, "/report", session.cookie, content_type, total, pieces)
    assert answer.startswith("HTTP/1.1 507") and "try again later" in answer
    assert not list((server.data / "tmp").iterdir())


def test_a_huge_text_field_is_refused_while_it_is_parsed(server):
    """Issue 10's big fields, on the submission path: bounded as they arrive, not after."""
    session = ReportSession.start(server.url)
    boundary = "odbx" + secrets.token_hex(8)
    head = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{n}"\r\n\r\n{v}\r\n'
                   for n, v in session.fields(recipients="mario") if n != "message")
    head += f'--{boundary}\r\nContent-Disposition: form-data; name="message"\r\n\r\n'
    size = 64 * MiB

    def pieces():
        yield head.encode()
        for _ in range(size // PIECE):
            yield b"a" * PIECE
        yield f"\r\n--{boundary}--\r\n".encode()
    total = len(head) + size + len(f"\r\n--{boundary}--\r\n")
    answer, sent = stream(server, "/report", session.cookie, f"multipart/form-data; boundary={boundary}",
                          total, pieces)
    print(f"64 MiB text field: the client could send {sent / MiB:.2f} MiB")
    assert sent < 4 * MiB
    assert answer.startswith("HTTP/1.1 413") and "under 50000 characters" in answer


def test_a_stale_token_in_a_live_session_brings_the_same_form_back_filled_in(server):
    """The session lives (same codename), only the token went stale: the report form comes back
    with the words in it and a fresh token, and sending it again files the report."""
    client = FormClient(server.url)
    _, form_page = open_report_form(client)
    words = f"My words, {secrets.token_hex(4)}."
    fields = [(n, v) for n, v in form_page.form("Send the report").defaults() if n not in ("csrf_token", "message")]
    again = client.http.post(server.url + "report", data=[("csrf_token", "stale"), *fields, ("message", words)],
                             files=[("files", ("notes.txt", b"notes"))])
    assert again.status_code == 400 and "This form had expired" in again.text
    assert "notes.txt" in again.text and words in again.text

    done = client.submit(Page(again), "Send the report", files=[("files", "notes.txt", b"notes")])
    assert done.status == 200 and "has been sent" in done.text


def test_a_response_without_a_live_invitation_is_refused_before_its_files(server):
    """The person reported's page takes files through the same channel (`takes_files`,
    respondent.py): without a session holding an open invitation, nothing of a file is read."""
    size = 256 * MiB
    content_type, total, pieces = multipart([("csrf_token", "none"), ("message", "my side")],
                                            "statement.pdf", size, marked_content(b"rs", size))
    answer, sent = stream(server, "/respond/answer", "", content_type, total, pieces)
    print(f"256 MiB to the person reported's page without an invitation: {sent / MiB:.2f} MiB sent")
    assert sent < 4 * MiB
    assert answer.startswith("HTTP/1.1 400")
    assert not [p for p in (server.data / "store").rglob("*") if p.is_file()]
    assert not list((server.data / "tmp").iterdir())
