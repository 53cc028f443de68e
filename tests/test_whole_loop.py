"""The whole loop, as a new user would try it, through the real server on loopback.

A reporter sends a report with files in the browser-like form client; the
operator exports a bundle; a responder opens it on the (simulated) air-gapped
machine, writes a reply there; the operator imports it; the reporter logs in
with the codename and reads it.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from nacl.public import PrivateKey

from formclient import FormClient, Page, open_report_form
from conftest import TEAM, dropbox, opened_conversations
from support.reporter import log_in, new_report


def opened_texts(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_report_is_read_offline_and_reporter_reads_the_reply(server, airgap, tmp_path):
    marker = secrets.token_hex(8)
    evidence = os.urandom(300_000) + marker.encode()
    codename, _ = new_report(server, f"It happened at the meetup. {marker}",
                             files=[("files", "screenshot.png", evidence),
                                    ("files", "../../notes.txt", b"notes " + marker.encode())])
    assert len(codename.split()) == 8

    bundle = tmp_path / "export.bundle"
    assert "1 conversation" in dropbox("export", "--data", server.data, "--out", bundle).out

    opened = tmp_path / "alexandra"
    said = airgap.open(bundle, "alexandra", opened)
    assert "excluded from 0" in said.out
    [conversation] = list(opened_conversations(opened))
    files = opened_texts(opened_conversations(opened)[conversation])
    assert files["attachments/screenshot.png"] == evidence
    assert files["attachments/notes.txt"] == b"notes " + marker.encode()
    report = files["report.txt"].decode()
    assert report.endswith(f"It happened at the meetup. {marker}\n")
    assert "screenshot.png" in files["index.txt"].decode()

    reply_text = f"Thank you for telling us. We will act on it. {secrets.token_hex(4)}"
    reply = tmp_path / "reply.odbx"
    airgap.reply(bundle, conversation, "alexandra", reply_text, reply)
    assert "stored 1" in dropbox("import-replies", reply, "--data", server.data).out

    _, page = log_in(server, codename)
    assert page.status == 200
    replies = page.by_class("reply")
    assert len(replies) == 1
    assert reply_text in replies[0].text()
    assert "alexandra" in replies[0].text()


def test_codename_login_forgives_case_and_spaces_and_refuses_unknown_codenames(server):
    codename, _ = new_report(server, "hello")
    _, page = log_in(server, "  " + codename.upper().replace(" ", "   ") + " ")
    assert page.status == 200 and "Your conversation" in page.text
    unknown = " ".join(["abacus"] * 7)
    _, page = log_in(server, unknown)
    assert page.status == 403 and "No report is known" in page.text
    _, page = log_in(server, "not a codename")  # no list words: said so, from the list alone
    assert page.status == 400 and "Word 1, “not”" in page.text and "No report is known" not in page.text


@pytest.mark.slow
def test_recused_responder_is_excluded_through_the_whole_loop(server, airgap, tmp_path):
    marker = secrets.token_hex(8)
    codename, done = new_report(server, f"About bahaa {marker}", exclude={"bahaa"},
                                files=[("files", "proof.txt", marker.encode())])
    assert "bahaa" not in done.text

    bundle = tmp_path / "export.bundle"
    dropbox("export", "--data", server.data, "--out", bundle)

    excluded = tmp_path / "bahaa"
    said = airgap.open(bundle, "bahaa", excluded)
    assert "opened 0 item(s)" in said.out and "excluded from 1" in said.out
    assert not excluded.exists() or not any(excluded.iterdir())

    opened = tmp_path / "mario"
    airgap.open(bundle, "mario", opened)
    [conversation] = list(opened_conversations(opened))
    assert (opened_conversations(opened)[conversation] / "attachments" / "proof.txt").read_text() == marker

    refused = airgap.reply(bundle, conversation, "bahaa", "I was not asked", tmp_path / "b.odbx",
                           check=False)
    assert refused.code != 0 and "not in this bundle" in refused.err  # bahaa's holds nothing of it
    # With mario's bundle in hand, bahaa still may not reply: the key check is the envelope's.
    refused = airgap.reply(bundle / "mario.odbx", conversation, "bahaa", "I was not asked",
                           tmp_path / "b.odbx", check=False)
    assert refused.code != 0 and "not a recipient" in refused.err

    airgap.reply(bundle, conversation, "mario", "We read it.", tmp_path / "m.odbx")
    dropbox("import-replies", tmp_path / "m.odbx", "--data", server.data)
    # The team's reply is shared with the other readers, and still not with bahaa.
    later = tmp_path / "later.bundle"
    dropbox("export", "--data", server.data, "--out", later)
    assert "excluded from 1" in airgap.open(later, "bahaa", tmp_path / "bahaa2").out
    # The reply, with the report it answers (every bundle holds its conversations' reports).
    assert "opened 2 item(s)" in airgap.open(later, "alexandra", tmp_path / "alex2").out

    _, page = log_in(server, codename)
    assert [r.text() for r in page.by_class("reply") if "We read it." in r.text()]


def test_reporter_follow_up_reaches_the_next_export(server, airgap, tmp_path):
    codename, _ = new_report(server, "first")
    dropbox("export", "--data", server.data, "--out", tmp_path / "one.bundle")
    nothing = dropbox("export", "--data", server.data, "--out", tmp_path / "none.bundle")
    assert "nothing new" in nothing.out and not (tmp_path / "none.bundle").exists()

    client, page = log_in(server, codename)
    page = client.submit(page, "Send", fill={"message": "second, with more detail"},
                         files=[("files", "later.txt", b"added later")])
    assert page.status == 200 and "Sent" in page.text

    dropbox("export", "--data", server.data, "--out", tmp_path / "two.bundle")
    opened = tmp_path / "opened"
    said = airgap.open(tmp_path / "two.bundle", "alexandra", opened)
    # What is new (the message and its file), and the report again, so it can be answered.
    assert "opened 3 item(s) in 1 conversation" in said.out
    texts = opened_texts(opened)
    assert b"second, with more detail" in texts.values()
    assert b"added later" in texts.values()


def test_report_needs_a_message_and_at_least_one_reader(server):
    client = FormClient(server.url)
    _, page = open_report_form(client)
    empty = client.submit(page, "Send the report", fill={"message": "   "})
    assert empty.status == 400 and "write a few words" in empty.text
    nobody = client.submit(page, "Send the report", fill={"message": "x"},
                           uncheck={"recipients": set(TEAM)})
    assert nobody.status == 400 and "at least one responder" in nobody.text
    assert not list((server.data / "store").iterdir())
    assert not list((server.data / "tmp").iterdir())


def test_post_without_csrf_token_is_refused_and_nothing_is_kept(server):
    client = FormClient(server.url)
    open_report_form(client)
    response = client.http.post(server.url + "report", data={"message": "hi", "recipients": TEAM},
                                files=[("files", ("a.txt", b"secret words"))])
    assert response.status_code == 400 and "expired" in response.text
    assert not list((server.data / "store").iterdir())
    assert not list((server.data / "tmp").iterdir())


def test_every_response_carries_strict_headers(server):
    client = FormClient(server.url)
    pages = [client.get("/"), client.get("/login"), client.get("/static/site.css"),
             client.get("/no-such-page"), Page(client.http.post(server.url + "login"))]
    for page in pages:
        headers = page.response.headers
        assert "default-src 'none'" in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["Cache-Control"] == "no-store"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "Server" not in headers
        assert "Traceback" not in page.response.text
    for cookie in client.http.cookies:
        assert cookie.has_nonstandard_attr("HttpOnly")


def test_data_directory_holds_no_plaintext_after_a_submission(server, tmp_path):
    marker = secrets.token_hex(12)
    # The instance's own public text (the code of practice) holds English words, which a
    # codename's words can be: a word counts as leaked only where it was not before.
    before = {path: path.read_bytes() for path in server.data.rglob("*") if path.is_file()}
    codename, _ = new_report(server, f"message {marker}",
                             files=[("files", f"name-{marker}.txt", f"content {marker}".encode() * 1000)])
    log_in(server, codename)
    words = [w.encode() for w in codename.split() if len(w) > 6]
    scanned = 0
    for path in server.data.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            scanned += 1
            for needle in (marker.encode(), codename.encode()):
                assert needle not in data, f"{needle!r} found in {path}"
            for word in words:
                assert word not in data or word in before.get(path, b""), f"{word!r} found in {path}"
    assert scanned >= 4  # config, secrets, database, at least two payloads
    log = "".join(server.log)
    assert marker not in log and codename not in log


def test_reporter_key_in_the_bundle_is_the_one_the_codename_derives(server, airgap, tmp_path):
    """A reply sealed offline opens with the key the server derives again from the codename."""
    from keys.bundle import BundleReader
    from keys.codename import derive
    from dropbox.config import Config
    codename, _ = new_report(server, "hello")
    bundle = tmp_path / "b.bundle"
    dropbox("export", "--data", server.data, "--out", bundle)
    with open(bundle / "alexandra.odbx", "rb") as stream:
        [entry] = [entry for entry, _ in BundleReader(stream).records()]
    config = Config.load(server.data)
    identity = derive(codename, config.peppers, config.codename_cost)
    assert bytes(entry.reporter_key) == identity.public_key
    assert bytes(PrivateKey(bytes(identity.secret_key)).public_key) == identity.public_key
