"""What v0.1.0 (da78831) made keeps working with format version 2, through the real commands.

tests/fixtures/v0.1.0/ holds its key files, an instance data directory, two export
bundles and three reply files (fixture.json says what each holds). Old key files read
new bundles; old bundles open; old envelopes stored on a server are exported and open,
marked as made before binding; old reply files are refused, saying why; an old key
gains a signing key with `keys upgrade-key`, the server takes it with `team replace`,
and from then on its replies are accepted and shown with their verified author.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from conftest import dropbox, opened_conversations, start_server
from support.instance import name_community
from support.reporter import log_in

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "v0.1.0"
FIXTURE = json.loads((FIXTURES / "fixture.json").read_text())
FIRST, SECOND = (r["conversation"] for r in FIXTURE["reports"])


@pytest.fixture
def old(tmp_path) -> Path:
    """A copy of the v0.1.0 instance, upgraded as the guide says (only `dropbox upgrade`
    upgrades), and of the air-gapped folder, which no command upgrades (commands may change
    both)."""
    shutil.copytree(FIXTURES / "instance", tmp_path / "instance")
    shutil.copytree(FIXTURES / "airgap", tmp_path / "airgap")
    dropbox("upgrade", "--data", tmp_path / "instance")
    return tmp_path


def keys_cmd(old: Path, *args, check: bool = True):
    return dropbox("keys", *args, "--passphrase-file", old / "airgap" / "passphrase.txt", check=check)


def test_old_key_opens_a_new_export_of_old_envelopes_marked_as_made_before_binding(old):
    said = dropbox("export", "--all", "--data", old / "instance", "--out", old / "export")
    assert "2 conversations for alexandra" in said.out and "1 conversation for bahaa" in said.out
    opened = keys_cmd(old, "open", old / "export", "--key", old / "airgap" / "alexandra.key",
                      "--out", old / "out")
    assert "opened 7 item(s) in 2 conversation(s); excluded from 0" in opened.out
    folders = opened_conversations(old / "out")
    report = FIXTURE["reports"][0]
    assert report["message"] in (folders[FIRST] / "report.txt").read_text()
    for name, digest in report["files"].items():
        assert hashlib.sha256((folders[FIRST] / "attachments" / name).read_bytes()).hexdigest() == digest
    index = (folders[FIRST] / "index.txt").read_text()
    assert "made before binding" in index and "unsigned" in index
    # Each conversation printed with its id and the desk's two-word name, which the folder carries.
    for cid, folder in folders.items():
        line = next(said for said in opened.out.splitlines() if cid in said)
        designation = line.split()[0]
        assert len(designation.split("-")) == 2 and folder.name == f"{designation}_{cid}"
    bahaa = keys_cmd(old, "open", old / "export", "--key", old / "airgap" / "bahaa.key",
                     "--out", old / "bahaa")
    assert "in 1 conversation(s); excluded from 1" in bahaa.out
    assert SECOND not in (old / "export" / "bahaa.odbx").read_bytes().decode("latin-1")


@pytest.mark.parametrize("bundle, items", [("export-1.bundle", 5), ("export-2.bundle", 2)])
def test_old_bundles_open_with_the_new_keys_open(old, bundle, items):
    opened = keys_cmd(old, "open", FIXTURES / bundle, "--key", old / "airgap" / "alexandra.key",
                      "--out", old / "out")
    assert f"opened {items} item(s)" in opened.out
    texts = "".join(p.read_text(errors="replace") for p in (old / "out").rglob("*.txt"))
    assert "made before binding" in texts


def test_old_reply_files_are_refused_saying_why(old):
    for reply in FIXTURE["replies"]:
        said = dropbox("import-replies", FIXTURES / reply["file"], "--data", old / "instance",
                       check=False)
        assert said.code == 1 and "not signed" in said.err and "keys upgrade-key" in said.err


@pytest.mark.slow
def test_old_key_upgraded_and_replaced_on_the_team_writes_replies_that_are_accepted(old):
    airgap, instance = old / "airgap", old / "instance"
    with sqlite3.connect(instance / "dropbox.sqlite3") as db:
        before = db.execute("SELECT count(*) FROM items").fetchone()
    refused = keys_cmd(old, "reply", FIXTURES / "export-1.bundle", FIRST, "--key",
                       airgap / "alexandra.key", "--message-file", airgap / "passphrase.txt",
                       "--out", old / "r.odbx", check=False)
    assert refused.code == 1 and "keys upgrade-key" in refused.err
    upgraded = keys_cmd(old, "upgrade-key", "--key", airgap / "alexandra.key", "--out", old / "new")
    assert "team replace alexandra" in upgraded.out
    replaced = dropbox("team", "replace", "alexandra", old / "new" / "alexandra.pub", "--data", instance)
    assert "replaced alexandra's key" in replaced.out
    # The box key is the same: the upgraded key still reads what v0.1.0 sealed.
    dropbox("export", "--all", "--data", instance, "--out", old / "export")
    new_key = old / "new" / "alexandra.key"
    assert "opened 7 item(s)" in keys_cmd(old, "open", old / "export", "--key", new_key,
                                          "--out", old / "out").out
    dropbox("keys", "trust", *(airgap / f"{n}.pub" for n in FIXTURE["team"]), "--trusted",
            old / "new" / "trusted")
    message = old / "message.txt"
    message.write_text("Signed, from an upgraded v0.1.0 key.")
    keys_cmd(old, "reply", old / "export", FIRST, "--key", new_key, "--message-file", message,
             "--out", old / "r.odbx")
    assert "stored 1" in dropbox("import-replies", old / "r.odbx", "--data", instance).out
    with sqlite3.connect(instance / "dropbox.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM items").fetchone()[0] == before[0] + 1
        [(proof,)] = db.execute("SELECT proof FROM items WHERE proof IS NOT NULL").fetchall()
        assert json.loads(proof)["author"] == "alexandra"
        assert db.execute("PRAGMA user_version").fetchone()[0] >= 1
    name_community(instance)
    server = start_server(instance)
    try:
        _, page = log_in(server, FIXTURE["reports"][0]["codename"])
        replies = [r.text() for r in page.by_class("reply")]
    finally:
        server.stop()
    signed = [t for t in replies if "Signed, from an upgraded" in t]
    assert len(signed) == 1 and "alexandra" in signed[0]
    # The v0.1.0 reply (unsigned) is shown, but not as from a named author.
    old_reply = [t for t in replies if FIXTURE["replies"][0]["text"] in t]
    assert len(old_reply) == 1 and old_reply[0].startswith("Reply from the team")
