"""Upgrades keep every report: instances made by earlier releases, upgraded by `dropbox upgrade`.

Each release that changed a format or the schema left a fixture in tests/fixtures/ (made by
its own code); here a copy of each is upgraded and everything its team had must still work:
every conversation opens offline, every codename logs in and sees its replies, the desk
logins work, and the onion addresses are the same.
"""
from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, dropbox, start_server
from deskclient import Login, desk_url
from dropbox import migrations
from formclient import FormClient
from support.instance import name_community
from survival import desk_conversations, open_offline, reporter_page

FIXTURES = Path(__file__).parent / "fixtures"
RELEASES = sorted(p.name for p in FIXTURES.iterdir() if (p / "fixture.json").is_file())


def _copy(release: str, tmp_path: Path) -> tuple[Path, dict]:
    folder = tmp_path / release
    shutil.copytree(FIXTURES / release, folder)
    return folder, json.loads((folder / "fixture.json").read_text())


def _serve_refused(data: Path) -> str:
    """What `serve` says when it refuses the instance (it must not start serving it)."""
    try:
        proc = subprocess.run([str(BIN / "dropbox"), "serve", "--data", str(data), "--tor", "off",
                               "--port", "0"], capture_output=True, check=False, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        raise AssertionError("serve started on an instance that needs an upgrade") from None
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc
    return proc.stderr


def _version(data: Path) -> int:
    with sqlite3.connect(data / "dropbox.sqlite3") as db:
        return db.execute("PRAGMA user_version").fetchone()[0]


@pytest.mark.slow
@pytest.mark.parametrize("release", RELEASES)
def test_upgraded_instance_keeps_every_report_reply_login_and_address(release, tmp_path):
    folder, fixture = _copy(release, tmp_path)
    data, airgap = folder / "instance", folder / "airgap"
    made = fixture.get("schema_version", 0)  # v0.1.0's fixture predates the field: version 0

    if made < migrations.CURRENT:
        assert "dropbox upgrade --data" in _serve_refused(data)
        assert _version(data) == made, "serve must not upgrade on its own"

    said = dropbox("upgrade", "--data", data).out
    state = f"upgraded from version {made}" if made < migrations.CURRENT else "already up to date"
    assert state in said and "new site onion" not in said, said
    assert "already up to date" in dropbox("upgrade", "--data", data).out
    assert dropbox("onion", "address", "--data", data).out.strip() == fixture["site_address"]

    name_community(data)
    server = start_server(data)
    try:
        # v0.1.0's example let reporters believe they could stop the team contacting the
        # person reported; the upgraded page says what the code of practice says.
        landing = FormClient(server.url).get("/").text
        assert "will contact the person reported" in landing and "usually" not in landing
        # A reply written offline but never imported is taken now if it is signed (v0.2.0 on);
        # one of v0.1.0's is not signed: it is refused, saying why (docs/FORMAT.md,
        # "Compatibility"); the ones already imported stay.
        for reply in fixture["replies"]:
            if not reply["imported"]:
                said = dropbox("import-replies", folder / reply["file"], "--data", data, check=False)
                if reply.get("signed"):
                    assert said.code == 0 and "stored 1" in said.out, said
                    reply["imported"] = True
                else:
                    assert said.code == 1 and "not signed" in said.err, said
        for report in fixture["reports"]:
            page = reporter_page(server.url, report["codename"])
            for reply in fixture["replies"]:
                shown = reply["text"] in page.text
                assert shown == (reply["conversation"] == report["conversation"]
                                 and reply["imported"]), (reply, page.text)
        for login in fixture["desk_logins"]:
            seen = desk_conversations(desk_url(server), Login(**{
                "name": login["name"], "password": login["password"], "secret": login["totp_secret"]}))
            mine = [r for r in fixture["reports"] if login["name"] not in r["excluded"]]
            assert len(seen) == len(mine)
    finally:
        server.stop()

    passphrase = airgap / "passphrase.txt"
    for name in fixture["team"]:
        said, opened = open_offline(data, airgap / f"{name}.key", passphrase, tmp_path / name)
        for report in fixture["reports"]:
            if name in report["excluded"]:
                assert report["conversation"] not in opened
                assert "excluded from 1" in said
                continue
            conversation = opened[report["conversation"]]
            assert report["message"] in conversation["text"]
            assert report.get("follow_up", "") in conversation["text"]
            assert conversation["files"] == report["files"]
            for reply in fixture["replies"]:
                if reply["conversation"] == report["conversation"] and reply["imported"]:
                    assert reply["text"] in conversation["text"]


@pytest.mark.slow
def test_instance_from_before_v0_1_0_gets_its_missing_files_back(tmp_path):
    """Made by an earlier commit: no code-of-practice.toml and no onion keys. `serve` says
    what to do, `upgrade` adds them, and the reporter site works again."""
    folder, fixture = _copy("v0.1.0", tmp_path)
    data = folder / "instance"
    for name in ("code-of-practice.toml", "secrets/onion-site-key", "secrets/onion-desk-key"):
        (data / name).unlink()

    assert "dropbox upgrade" in _serve_refused(data)
    said = dropbox("upgrade", "--data", data).out
    address = dropbox("onion", "address", "--data", data).out.strip()
    assert f"new site onion address: {address}" in said
    assert (data / "secrets" / "onion-site-key").stat().st_mode & 0o077 == 0
    name_community(data)
    server = start_server(data)
    try:
        page = reporter_page(server.url, fixture["reports"][0]["codename"])
        assert fixture["replies"][0]["text"] in page.text
        landing = FormClient(server.url).get("/")
        assert landing.status == 200 and "code of" in landing.text.lower()
    finally:
        server.stop()
    assert dropbox("onion", "address", "--data", data).out.strip() == address
