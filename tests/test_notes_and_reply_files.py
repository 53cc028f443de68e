"""Team notes and files sent with replies, through the real commands and the real server.

A note is written offline with `keys note`, sealed to the conversation's readers only, imported
with `dropbox import-replies` like a reply, carried in every reader's next bundle and written
by `keys open` with its author; the reporter's pages do not change by one byte. A reply can
carry files: the reporter downloads them, and `keys open` writes them with their reply.
"""
from __future__ import annotations

import re
import secrets
from pathlib import Path

from conftest import dropbox, opened_conversations
from support.reporter import log_in, new_report

CSRF = re.compile(rb'name="csrf_token" type="hidden" value="[^"]*"|value="[^"]*" name="csrf_token"')


def conversation_page(client) -> bytes:
    """The reporter's conversation page, its CSRF tokens (new each time) left out."""
    page = client.get("/conversation")
    assert page.status == 200
    return CSRF.sub(b"", page.response.content)


def opened(airgap, bundle: Path, name: str, out: Path) -> tuple[str, Path]:
    """Open `name`'s bundle; the one conversation it holds, and its folder."""
    airgap.open(bundle, name, out)
    [(conversation, folder)] = opened_conversations(out).items()
    return conversation, folder


def test_a_note_reaches_the_readers_and_nothing_of_it_reaches_the_reporter(server, airgap, tmp_path):
    codename, _ = new_report(server, "It happened at the meetup.", exclude={"bahaa"})
    client, _ = log_in(server, codename)
    dropbox("export", "--data", server.data, "--out", tmp_path / "one")
    conversation, _ = opened(airgap, tmp_path / "one", "alexandra", tmp_path / "alexandra")
    before = conversation_page(client)  # after the export, which tells the reporter it was received

    words = f"Mario, can you take this one? {secrets.token_hex(4)}"
    said = airgap.note(tmp_path / "one", conversation, "alexandra", words, tmp_path / "note.odbx")
    assert "wrote note" in said.out
    assert "stored 1 note" in dropbox("import-replies", tmp_path / "note.odbx", "--data", server.data).out

    # The reporter's page is the same, byte for byte: no item, count, size or date moved.
    assert conversation_page(client) == before

    dropbox("export", "--data", server.data, "--out", tmp_path / "two")
    _, folder = opened(airgap, tmp_path / "two", "mario", tmp_path / "mario")
    [note] = folder.glob("*-note-*.txt")
    assert note.read_text("utf-8") == words
    index = (folder / "index.txt").read_text("utf-8")
    assert f"{note.name} (from alexandra) [signature by alexandra verified]" in index
    said = airgap.open(tmp_path / "two", "bahaa", tmp_path / "bahaa")
    assert "opened 0 item(s)" in said.out and not any((tmp_path / "bahaa").iterdir())
    assert conversation.encode() not in (tmp_path / "two" / "bahaa.odbx").read_bytes()

    # Mario answers it, naming it by the 8 characters of its file name (or its whole id).
    first_note = _item_id_of(tmp_path / "note.odbx")
    assert note.name.endswith(f"-note-{first_note[:8]}.txt")
    airgap.note(tmp_path / "two", conversation, "mario", "Yes, I will.", tmp_path / "answer.odbx",
                answers=first_note[:8])
    dropbox("import-replies", tmp_path / "answer.odbx", "--data", server.data)
    dropbox("export", "--data", server.data, "--out", tmp_path / "three")
    _, folder = opened(airgap, tmp_path / "three", "alexandra", tmp_path / "alexandra-3")
    assert f"(from mario) (answers {first_note[:8]})" in (folder / "index.txt").read_text("utf-8")
    assert conversation_page(client) == before


def _item_id_of(reply_file: Path) -> str:
    from dropbox.config import Settings
    from dropbox.exports import read_reply
    return read_reply(reply_file, Settings()).item.id


def test_a_reply_with_files_reaches_the_reporter_and_opens_offline(server, airgap, tmp_path):
    codename, _ = new_report(server, "Here is what happened.")
    dropbox("export", "--data", server.data, "--out", tmp_path / "one")
    conversation, _ = opened(airgap, tmp_path / "one", "mario", tmp_path / "mario")
    policy, form = tmp_path / "policy.pdf", tmp_path / "form.txt"
    policy.write_bytes(b"%PDF-1.7 " + secrets.token_bytes(200_000))
    form.write_bytes(b"Please fill this in.")
    said = airgap.reply(tmp_path / "one", conversation, "mario", "Two files for you.",
                        tmp_path / "reply.odbx", files=(policy, form))
    assert "with 2 file(s)" in said.out
    assert "stored 1 reply with 2 file(s)" in dropbox("import-replies", tmp_path / "reply.odbx",
                                                      "--data", server.data).out

    client, page = log_in(server, codename)
    [reply] = page.by_class("reply")
    assert "Two files for you." in reply.text()
    assert "hidden details" in reply.text()  # the upload's metadata warning, for what it downloads
    links = {a.text(): a.attrs["href"] for a in reply.walk() if a.tag == "a"}
    assert set(links) == {"policy.pdf", "form.txt"}
    download = client.http.get(server.url.rstrip("/") + links["policy.pdf"])
    assert download.status_code == 200 and download.content == policy.read_bytes()
    assert "attachment" in download.headers["Content-Disposition"]
    assert client.http.get(server.url + "conversation/files/" + "0" * 32).status_code == 404

    dropbox("export", "--data", server.data, "--out", tmp_path / "two")
    _, folder = opened(airgap, tmp_path / "two", "alexandra", tmp_path / "alexandra")
    assert (folder / "attachments" / "policy.pdf").read_bytes() == policy.read_bytes()
    assert (folder / "attachments" / "form.txt").read_bytes() == form.read_bytes()
    reply_id = _item_id_of(tmp_path / "reply.odbx")
    index = (folder / "index.txt").read_text("utf-8")
    assert f"attachments/form.txt (from mario, with reply {reply_id[:8]})" in index
