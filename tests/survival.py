"""What a team checks after an upgrade or a restore: that nothing it had was lost.

Only through what people use: the reporter's login page, the desk's login, `dropbox export`
and `dropbox keys open`. Nothing here reads a file format, so the checks hold whatever the
formats become.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from support.commands import dropbox
from deskclient import Login, desk_login, designations
from formclient import FormClient, Page


def reporter_page(url: str, codename: str) -> Page:
    """The conversation page a reporter reaches with their codename."""
    client = FormClient(url)
    page = client.submit(client.get("/login"), "Log in", fill={"codename": codename})
    assert page.status == 200, page.text
    return page


def desk_conversations(url: str, login: Login) -> list[str]:
    _, page = desk_login(url, login)
    assert page.status == 200 and "Log out" in page.text, page.text
    return designations(page)


def open_offline(data: Path, key: Path, passphrase_file: Path, out: Path) -> tuple[str, dict]:
    """Export everything and open it with one responder's key: what `keys open` said, and per
    conversation the text of every .txt it wrote and the SHA-256 of every attachment."""
    bundle = out.with_suffix(".bundle")
    dropbox("export", "--all", "--data", data, "--out", bundle)
    said = dropbox("keys", "open", bundle, "--key", key, "--out", out,
                   "--passphrase-file", passphrase_file).out
    opened = {}
    index = out / "index.txt"  # one line per conversation: designation, id, folder
    for line in index.read_text("utf-8").splitlines() if index.exists() else []:
        _, conversation, relative = line.split("\t")
        folder = out / relative
        texts = "\n".join(p.read_text("utf-8") for p in sorted(folder.glob("*.txt")))
        files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                 for p in (folder / "attachments").glob("*")} if (folder / "attachments").is_dir() else {}
        opened[conversation] = {"text": texts, "files": files}
    return said, opened
