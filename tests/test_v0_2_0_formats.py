"""What v0.2.0 (001addb) made keeps working after `dropbox upgrade`, through the real commands.

tests/fixtures/v0.2.0/ holds its key files with the first openings `keys open` recorded
beside them, an instance data directory (a recused responder, a desk-access grant, a backup
signing key), two export bundles, three signed reply files (two imported), and a backup of
format 2 with its backup key (fixture.json says what each holds). Old bundles open with
today's keys/ and agree with their first openings; a new export of the upgraded instance
does too; the reply file never imported is taken, the imported ones are not taken twice;
the desk logins work; the backup restores into an instance its reporters log in to.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import dropbox, opened_conversations, start_server
from support.instance import name_community
from deskclient import Login, desk_url
from support.reporter import log_in
from survival import desk_conversations

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "v0.2.0"
FIXTURE = json.loads((FIXTURES / "fixture.json").read_text())
FIRST, SECOND = (r["conversation"] for r in FIXTURE["reports"])


@pytest.fixture
def old(tmp_path) -> Path:
    """A copy of the whole fixture (commands write beside key files too), the instance upgraded
    as the guide says."""
    copy = tmp_path / "v0.2.0"
    shutil.copytree(FIXTURES, copy)
    dropbox("upgrade", "--data", copy / "instance")
    name_community(copy / "instance")
    return copy


def keys_cmd(old: Path, *args, check: bool = True):
    return dropbox("keys", *args, "--passphrase-file", old / "airgap" / "passphrase.txt", check=check)


@pytest.mark.parametrize("bundle, items", [("export-1.bundle", 6), ("export-2.bundle", 2)])
def test_old_bundles_open_with_todays_keys_and_agree_with_their_first_openings(old, bundle, items):
    opened = keys_cmd(old, "open", old / bundle, "--key", old / "airgap" / "alexandra.key",
                      "--out", old / "out")
    assert f"alexandra: opened {items} item(s) in 2 conversation(s)" in opened.out, opened
    assert "first opened" not in opened.out + opened.err, opened  # no contradiction, nothing skipped
    if bundle == "export-2.bundle":  # the imported replies, checked against the pinned keys
        for reply in FIXTURE["replies"]:
            if reply["imported"]:
                assert f"signature by {reply['author']} verified" in opened.out
    texts = "\n".join(p.read_text("utf-8") for p in (old / "out").rglob("*.txt"))
    wanted = ([r["message"] for r in FIXTURE["reports"]] if bundle == "export-1.bundle" else
              [r["text"] for r in FIXTURE["replies"] if r["imported"]])
    assert all(text in texts for text in wanted)


def test_a_new_export_of_the_upgraded_instance_agrees_with_the_old_first_openings(old):
    dropbox("export", "--all", "--data", old / "instance", "--out", old / "export")
    for name in FIXTURE["team"]:
        opened = keys_cmd(old, "open", old / "export", "--key", old / "airgap" / f"{name}.key",
                          "--out", old / name)
        assert "first opened" not in opened.out + opened.err, opened
        folders = opened_conversations(old / name)
        assert (SECOND in folders) == (name != "bahaa")  # the recused responder still reads nothing of it
        assert FIRST in folders
    report = (folders[FIRST] / "report.txt").read_text("utf-8")
    assert FIXTURE["reports"][0]["message"] in report


def test_the_reply_never_imported_is_taken_the_imported_ones_are_not_and_the_desk_logins_work(old):
    instance = old / "instance"
    for reply in FIXTURE["replies"]:
        said = dropbox("import-replies", old / reply["file"], "--data", instance, check=False)
        if reply["imported"]:
            assert said.code == 1 and "imported already" in said.err, said
        else:
            assert said.code == 0 and "stored 1" in said.out, said
    server = start_server(instance)
    try:
        _, page = log_in(server, FIXTURE["reports"][0]["codename"])
        replies = [r.text() for r in page.by_class("reply")]
        for login in FIXTURE["desk_logins"]:
            seen = desk_conversations(desk_url(server), Login(
                login["name"], login["password"], login["totp_secret"]))
            assert len(seen) == len([r for r in FIXTURE["reports"] if login["name"] not in r["excluded"]])
    finally:
        server.stop()
    for reply in FIXTURE["replies"]:
        if reply["conversation"] == FIRST:
            [shown] = [t for t in replies if reply["text"] in t]
            assert reply["author"] in shown


def test_the_old_key_writes_replies_today_and_the_server_takes_them(old):
    message = old / "message.txt"
    message.write_text("Written with a v0.2.0 key file by today's keys/.", "utf-8")
    keys_cmd(old, "reply", old / "export-1.bundle", SECOND, "--key", old / "airgap" / "mario.key",
             "--message-file", message, "--out", old / "new.odbx")
    assert "stored 1" in dropbox("import-replies", old / "new.odbx", "--data", old / "instance").out


def test_the_old_backup_restores_with_its_key_and_signer_and_upgrades(old, tmp_path):
    backup = FIXTURE["backup"]
    restored = tmp_path / "restored"
    said = dropbox("restore", old / backup["file"], "--data", restored, "--key", old / backup["key"],
                   "--passphrase-file", old / "airgap" / "passphrase.txt",
                   "--trust-signer", backup["signer"])
    assert f"signed by backup signer {backup['signer']}" in said.out
    dropbox("upgrade", "--data", restored)
    name_community(restored)
    assert dropbox("onion", "address", "--data", restored).out.strip() == FIXTURE["site_address"]
    assert "alexandra" in dropbox("onion", "desk-access", "list", "--data", restored).out
    server = start_server(restored)
    try:
        for report in FIXTURE["reports"]:
            _, page = log_in(server, report["codename"])
            assert page.status == 200
            for reply in FIXTURE["replies"]:
                if reply["imported"] and reply["conversation"] == report["conversation"]:
                    assert reply["text"] in page.text
    finally:
        server.stop()
    # A second restore with the same key trusts the signer it recorded, with nothing more said.
    again = dropbox("restore", old / backup["file"], "--data", tmp_path / "again", "--key",
                    old / backup["key"], "--passphrase-file", old / "airgap" / "passphrase.txt")
    assert again.code == 0
