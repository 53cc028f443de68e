"""Backups restore the same instance: taken while reports stream in, restored elsewhere.

The backup is sealed to a backup key made offline (`keys new`); the server has only its
public half. After a restore into a fresh directory, served on a fresh port, the onion
address is the same, every report acknowledged before the backup began opens offline,
every codename logs in and sees its replies, and the desk login works.
"""
from __future__ import annotations

import os
import secrets
import threading
import time
from pathlib import Path

import pytest

from conftest import dropbox, opened_conversations, start_server
from deskclient import add_user, desk_url
from formclient import FormClient, open_report_form
from survival import desk_conversations, open_offline, reporter_page


# What `serve --tor off` prints of its own accord: starting, the tor warning, stopping.
QUIET_LINES = ("serving the ", "WARNING: tor is off")


def _report(url: str, message: str) -> str:
    client = FormClient(url)
    codename, form = open_report_form(client)
    done = client.submit(form, "Send the report", fill={"message": message},
                         files=[("files", "evidence.bin", os.urandom(512 * 1024))])
    assert done.status == 200 and "has been sent" in done.text, done.text
    return codename


def airgap_open(airgap, bundle: Path, out: Path) -> Path:
    airgap.open(bundle, "alexandra", out)
    return out


@pytest.fixture(scope="module")
def backup_key(airgap, tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("offline")
    dropbox("keys", "new", "backup", "--out", folder, "--passphrase-file", airgap.passphrase_file)
    return folder / "backup.pub", folder / "backup.key"


@pytest.mark.slow
def test_backup_during_uploads_restores_the_same_instance(instance, airgap, backup_key, tmp_path):
    public, secret = backup_key
    login = add_user(instance, "alexandra")
    address = dropbox("onion", "address", "--data", instance).out.strip()
    server = start_server(instance)
    acknowledged: list[tuple[float, str, str]] = []  # (when, codename, message)
    stop = threading.Event()

    def stream():
        while not stop.is_set():
            message = f"streamed report {secrets.token_hex(6)}"
            codename = _report(server.url, message)
            acknowledged.append((time.monotonic(), codename, message))

    try:
        # A conversation with a reply, to find again after the restore.
        first = _report(server.url, "the first report, answered")
        bundle = tmp_path / "first.bundle"
        dropbox("export", "--data", instance, "--out", bundle)
        [conversation] = opened_conversations(airgap_open(airgap, bundle, tmp_path / "o"))
        reply = "We read your report; here is what happens next."
        airgap.reply(bundle, conversation, "alexandra", reply, tmp_path / "reply.odbx")
        dropbox("import-replies", tmp_path / "reply.odbx", "--data", instance)

        uploader = threading.Thread(target=stream)
        uploader.start()
        while len(acknowledged) < 2:
            time.sleep(0.05)
        began = time.monotonic()
        said = dropbox("backup", "--data", instance, "--out", tmp_path / "instance.odbk",
                       "--to", public).out
        while len(acknowledged) < 4:  # the stream goes on after the backup, too
            time.sleep(0.05)
        stop.set()
        uploader.join(120)
    finally:
        stop.set()
        server.stop()
    assert "sealed to backup" in said
    # Under systemd every line goes to the journal with a time: the uploads, logins and the
    # backup itself must have printed nothing at all.
    printed = [line for line in server.log if not line.startswith(QUIET_LINES)]
    assert printed == [], printed
    before = [(c, m) for when, c, m in acknowledged if when < began]
    assert len(before) >= 2

    restored = tmp_path / "restored"
    dropbox("restore", tmp_path / "instance.odbk", "--data", restored, "--key", secret,
            "--passphrase-file", airgap.passphrase_file)
    assert restored.stat().st_mode & 0o077 == 0
    assert dropbox("onion", "address", "--data", restored).out.strip() == address
    server = start_server(restored)
    try:
        assert reply in reporter_page(server.url, first).text
        for codename, _ in before:
            assert "Log out" in reporter_page(server.url, codename).text
        assert len(desk_conversations(desk_url(server), login)) >= 1 + len(before)
    finally:
        server.stop()
    said, opened = open_offline(restored, airgap.key("alexandra"), airgap.passphrase_file,
                                tmp_path / "opened")
    assert "failed" not in said.lower(), said
    texts = "\n".join(c["text"] for c in opened.values())
    for _, message in before:
        assert message in texts
    assert "the first report, answered" in texts and reply in texts


def test_damaged_or_truncated_backup_restores_nothing(instance, airgap, backup_key, tmp_path):
    public, secret = backup_key
    good = tmp_path / "good.odbk"
    dropbox("backup", "--data", instance, "--out", good, "--to", public)
    data = good.read_bytes()
    cases = {"truncated": data[: len(data) // 2], "cut at the end": data[:-1],
             "one byte changed": data[:-100] + bytes([data[-100] ^ 1]) + data[-99:],
             "not a backup": b"hello" * 100}
    for case, content in cases.items():
        damaged = tmp_path / f"{case}.odbk"
        damaged.write_bytes(content)
        target = tmp_path / f"restored {case}"
        said = dropbox("restore", damaged, "--data", target, "--key", secret,
                       "--passphrase-file", airgap.passphrase_file, check=False)
        assert said.code == 1 and "nothing was restored" in said.err, (case, said)
        assert "Traceback" not in said.err
        assert not target.exists(), case
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    wrong = dropbox("restore", good, "--data", tmp_path / "x", "--key", airgap.key("mario"),
                    "--passphrase-file", airgap.passphrase_file, check=False)
    assert wrong.code == 1 and "not among" in wrong.err and not (tmp_path / "x").exists()


def test_a_conversation_deleted_during_the_backup_is_left_out_whole(
        instance, airgap, backup_key, tmp_path):
    """The database is copied first, then the store is walked: a conversation deleted in between
    has rows in the copy and no payloads. Here its payloads vanish before the backup, as they
    would mid-way; the restore finishes the deletion instead of keeping a broken conversation."""
    public, secret = backup_key
    server = start_server(instance)
    try:
        _report(server.url, "kept")
        _report(server.url, "deleted meanwhile")
    finally:
        server.stop()
    said, opened = open_offline(instance, airgap.key("alexandra"), airgap.passphrase_file,
                                tmp_path / "before")
    doomed = next(c for c, v in opened.items() if "deleted meanwhile" in v["text"])
    for payload in [p for p in (instance / "store").rglob("*") if doomed in p.parts and p.is_file()]:
        payload.unlink()  # whatever the store's layout
    dropbox("backup", "--data", instance, "--out", tmp_path / "b.odbk", "--to", public)
    said = dropbox("restore", tmp_path / "b.odbk", "--data", tmp_path / "restored", "--key", secret,
                   "--passphrase-file", airgap.passphrase_file).out
    restored_said = said
    said, opened = open_offline(tmp_path / "restored", airgap.key("alexandra"),
                                airgap.passphrase_file, tmp_path / "after")
    assert list(opened) != [] and doomed not in opened and "failed" not in said.lower()
    assert "left out 1 conversation(s)" in restored_said
