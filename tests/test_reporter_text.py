"""Text on the reporter's side follows the rules `keys open` follows (keys/safe_text.py).

A reply comes from the air-gapped machine through the server; its text may hold terminal
escapes, carriage returns and bidi overrides that make a page show something other than
what is there. The reporter's page shows each as `\\uXXXX`, as `keys open` does. And what a
reporter types arrives with the CRLF line ends browsers send (HTML says so): it is sealed
with plain newlines, so the responder's report.txt holds no `\\u000d` at every line end.
"""
from __future__ import annotations

from conftest import dropbox, opened_conversations
from support.reporter import log_in, new_report

import pytest

HOSTILE = "Thank you.\x1b[2J\x1b[31m We read it.\rHidden\u202eevil\u2028end"


def _export(server, tmp_path, name: str):
    bundle = tmp_path / name
    dropbox("export", "--data", server.data, "--out", bundle)
    return bundle


@pytest.mark.slow
def test_a_reply_shows_its_controls_and_bidi_marks_escaped_on_the_reporters_page(server, airgap, tmp_path):
    codename, _ = new_report(server, "It happened at the meetup.")
    bundle = _export(server, tmp_path, "export")
    opened = tmp_path / "alexandra"
    airgap.open(bundle, "alexandra", opened)
    [conversation] = list(opened_conversations(opened))
    reply = tmp_path / "reply.odbx"
    airgap.reply(bundle, conversation, "alexandra", HOSTILE + "\r\nSecond line", reply)
    dropbox("import-replies", reply, "--data", server.data)

    _, page = log_in(server, codename)
    assert page.status == 200
    for raw in ("\x1b", "\u202e", "\u2028"):
        assert raw not in page.text, repr(raw)
    shown = page.by_class("reply")[0].text()
    assert "\r" not in shown  # (WTForms writes one CRLF into every textarea it renders)
    # (`keys reply` reads the message file with universal newlines: its CRs arrive as line ends)
    assert "\\u001b[2J\\u001b[31m We read it.\nHidden\\u202eevil\\u2028end\nSecond line" in shown, shown


def test_what_a_reporter_types_with_crlf_is_sealed_with_plain_newlines(server, airgap, tmp_path):
    codename, _ = new_report(server, "First line\r\nSecond line\r\n")
    client, page = log_in(server, codename)
    sent = client.submit(page, "Send", fill={"message": "A follow-up\r\non two lines"})
    assert sent.status == 200, sent.text

    opened = tmp_path / "mario"
    airgap.open(_export(server, tmp_path, "export"), "mario", opened)
    folder = next(iter(opened_conversations(opened).values()))
    texts = {p.name: p.read_bytes() for p in folder.rglob("*.txt")}
    everything = b"".join(texts.values())
    assert b"\\u000d" not in everything and b"\r" not in everything, texts
    assert b"First line\nSecond line" in texts["report.txt"]
    assert b"A follow-up\non two lines" in everything
