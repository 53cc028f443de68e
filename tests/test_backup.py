"""Backups restore the same instance: taken while reports stream in, restored elsewhere.

The backup is sealed to a backup key made offline (`keys new`); the server has only its
public half. After a restore into a fresh directory, served on a fresh port, the onion
address is the same, every report acknowledged before the backup began opens offline,
every codename logs in and sees its replies, and the desk login works.

A backup is restored only if this instance made it, and never silently an older one: anyone
may hold `backup.pub`, so each instance signs its backups with a key of its own; restoring
with a backup key trusts the signer it was told to trust the first time (recorded beside the
key, `backup.seen`), says when the backup was made, and refuses one older than the newest it
restored unless told (`--allow-older`): an old backup renamed as the newest would bring back a
responder removed since.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
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
def made_backup_key(airgap, tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("offline")
    dropbox("keys", "new", "backup", "--out", folder, "--passphrase-file", airgap.passphrase_file)
    return folder / "backup.pub", folder / "backup.key"


@pytest.fixture
def backup_key(made_backup_key, tmp_path) -> tuple[Path, Path]:
    """The backup key pair, in a folder of this test's (restoring records what it saw beside it)."""
    folder = tmp_path / "offline"
    folder.mkdir()
    for path in made_backup_key:
        shutil.copy(path, folder / path.name)
    return folder / "backup.pub", folder / "backup.key"


def signer(said: str) -> str:
    """The backup signer's fingerprint, as `dropbox backup` printed it."""
    found = re.search(r"backup signer ([A-Z2-7]{4}(?: [A-Z2-7]{4}){3})", said)
    assert found is not None, said[:200]
    return found[1]


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
            "--passphrase-file", airgap.passphrase_file, "--trust-signer", signer(said))
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
    said = dropbox("backup", "--data", instance, "--out", good, "--to", public).out
    data = good.read_bytes()
    cases = {"truncated": data[: len(data) // 2], "cut at the end": data[:-1],
             "one byte changed": data[:-100] + bytes([data[-100] ^ 1]) + data[-99:],
             "not a backup": b"hello" * 100}
    for case, content in cases.items():
        damaged = tmp_path / f"{case}.odbk"
        damaged.write_bytes(content)
        target = tmp_path / f"restored {case}"
        refused = dropbox("restore", damaged, "--data", target, "--key", secret,
                          "--passphrase-file", airgap.passphrase_file,
                          "--trust-signer", signer(said), check=False)
        assert refused.code == 1 and "nothing was restored" in refused.err, (case, refused)
        assert "Traceback" not in refused.err
        assert not target.exists(), case
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    wrong = dropbox("restore", good, "--data", tmp_path / "x", "--key", airgap.key("mario"),
                    "--passphrase-file", airgap.passphrase_file, "--trust-signer", signer(said),
                    check=False)
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
    said = dropbox("backup", "--data", instance, "--out", tmp_path / "b.odbk", "--to", public).out
    said = dropbox("restore", tmp_path / "b.odbk", "--data", tmp_path / "restored", "--key", secret,
                   "--passphrase-file", airgap.passphrase_file, "--trust-signer", signer(said)).out
    restored_said = said
    said, opened = open_offline(tmp_path / "restored", airgap.key("alexandra"),
                                airgap.passphrase_file, tmp_path / "after")
    assert list(opened) != [] and doomed not in opened and "failed" not in said.lower()
    assert "left out 1 conversation(s)" in restored_said


# Whose backups, and how old.

def restore(backup: Path, target: Path, key: Path, airgap, *args: str):
    return dropbox("restore", backup, "--data", target, "--key", key,
                   "--passphrase-file", airgap.passphrase_file, *args, check=False)


def refused(said, *words: str) -> None:
    assert said.code == 1 and "Traceback" not in said.err, said
    assert "nothing was restored" in said.err, said.err
    for word in words:
        assert word in said.err, said.err


def test_the_first_restore_asks_which_signer_to_trust_and_remembers_it(
        instance, airgap, backup_key, tmp_path):
    public, secret = backup_key
    made = dropbox("backup", "--data", instance, "--out", tmp_path / "b.odbk", "--to", public).out
    fingerprint = signer(made)

    asked = restore(tmp_path / "b.odbk", tmp_path / "r", secret, airgap)
    refused(asked, fingerprint, "--trust-signer", f"made {time.strftime('%Y-%m-%d', time.gmtime())}")
    refused(restore(tmp_path / "b.odbk", tmp_path / "r", secret, airgap,
                    "--trust-signer", "AAAA BBBB CCCC DDDD"), "not by AAAA BBBB CCCC DDDD")
    assert not (tmp_path / "r").exists() and not secret.with_suffix(".seen").exists()

    said = restore(tmp_path / "b.odbk", tmp_path / "r", secret, airgap,
                   "--trust-signer", fingerprint.lower().replace(" ", ""))
    assert said.code == 0, said
    assert f"signed by backup signer {fingerprint}" in said.out and "made 20" in said.out
    # The hint never publishes the live address a second time: a drill serves with tor off.
    hint = said.out.strip().splitlines()[-1]
    assert f"dropbox serve --data {tmp_path / 'r'} --tor off" in hint, hint
    assert (tmp_path / "r" / "config.toml").is_file()
    assert json.loads(secret.with_suffix(".seen").read_text())["newest"] > 0
    # Now known: the next restore needs no word about the signer.
    again = restore(tmp_path / "b.odbk", tmp_path / "r2", secret, airgap)
    assert again.code == 0, again


def test_a_backup_made_by_another_instance_with_the_same_public_key_is_refused(
        instance, airgap, backup_key, tmp_path):
    public, secret = backup_key
    ours = dropbox("backup", "--data", instance, "--out", tmp_path / "ours.odbk", "--to", public).out
    assert restore(tmp_path / "ours.odbk", tmp_path / "r", secret, airgap,
                   "--trust-signer", signer(ours)).code == 0
    # Someone holding backup.pub makes an instance of their own and backs it up.
    dropbox("init", "--data", tmp_path / "theirs")
    dropbox("backup", "--data", tmp_path / "theirs", "--out", tmp_path / "theirs.odbk", "--to", public)
    refused(restore(tmp_path / "theirs.odbk", tmp_path / "r2", secret, airgap),
            "not made by your instance", signer(ours))
    assert not (tmp_path / "r2").exists()


def test_a_backup_whose_signer_is_swapped_does_not_verify(instance, airgap, backup_key, tmp_path):
    public, secret = backup_key
    ours = dropbox("backup", "--data", instance, "--out", tmp_path / "ours.odbk", "--to", public).out
    dropbox("init", "--data", tmp_path / "theirs")
    dropbox("backup", "--data", tmp_path / "theirs", "--out", tmp_path / "theirs.odbk", "--to", public)
    # Their backup, claiming our signer's name (the signature stays theirs).
    forged = bytearray((tmp_path / "theirs.odbk").read_bytes())
    forged[16:48] = (tmp_path / "ours.odbk").read_bytes()[16:48]
    (tmp_path / "forged.odbk").write_bytes(forged)
    refused(restore(tmp_path / "forged.odbk", tmp_path / "r", secret, airgap,
                    "--trust-signer", signer(ours)), "signature does not verify")
    assert not (tmp_path / "r").exists() and not secret.with_suffix(".seen").exists()


@pytest.mark.slow
def test_an_older_backup_is_refused_unless_allowed_and_would_bring_back_a_removed_responder(
        instance, airgap, backup_key, tmp_path):
    public, secret = backup_key
    said = dropbox("backup", "--data", instance, "--out", tmp_path / "old.odbk", "--to", public).out
    time.sleep(1.1)  # backups are dated to the second
    dropbox("team", "remove", "mario", "--data", instance)
    dropbox("backup", "--data", instance, "--out", tmp_path / "new.odbk", "--to", public)
    assert restore(tmp_path / "new.odbk", tmp_path / "r", secret, airgap,
                   "--trust-signer", signer(said)).code == 0
    assert "mario" not in dropbox("team", "list", "--data", tmp_path / "r").out

    (tmp_path / "old.odbk").rename(tmp_path / "newest-really.odbk")
    refused(restore(tmp_path / "newest-really.odbk", tmp_path / "r2", secret, airgap),
            "before the newest backup restored", "--allow-older", "made 20")
    assert not (tmp_path / "r2").exists()
    allowed = restore(tmp_path / "newest-really.odbk", tmp_path / "r2", secret, airgap, "--allow-older")
    assert allowed.code == 0, allowed
    assert "mario" in dropbox("team", "list", "--data", tmp_path / "r2").out
    # The newest seen stays the newest: the old one is still refused next time.
    refused(restore(tmp_path / "newest-really.odbk", tmp_path / "r3", secret, airgap), "--allow-older")


def test_a_version_1_backup_is_refused_with_the_reason(airgap, backup_key, tmp_path):
    _, secret = backup_key
    (tmp_path / "v1.odbk").write_bytes(b"ODBXBAK\x01" + bytes(1000))
    refused(restore(tmp_path / "v1.odbk", tmp_path / "r", secret, airgap), "version 1 backup")
