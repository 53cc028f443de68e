"""A v0.1.0 instance upgrades to indexed tables, a recipients table and a store in buckets,
and loses nothing: every payload moves, every conversation still exports and opens offline,
its reporter still logs in and its responder still finds it on the desk.

Each test works on a copy of tests/fixtures/v0.1.0/, made by v0.1.0's own code.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from conftest import dropbox, start_server
from support.instance import name_community
from deskclient import Login, desk_login, desk_url, designations
from dropbox import migrations
from support.reporter import log_in

FIXTURE = Path(__file__).parent / "fixtures" / "v0.1.0"
FACTS = json.loads((FIXTURE / "fixture.json").read_text())


@pytest.fixture
def old(tmp_path) -> Path:
    copy = tmp_path / "v0.1.0"
    shutil.copytree(FIXTURE, copy)
    return copy


def payloads(store: Path) -> dict[tuple[str, str], str]:
    """(conversation, item) → sha256 of every payload file, wherever in store/ it is."""
    return {(p.parent.name, p.name): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in store.rglob("*") if p.is_file()}


def rows(data: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(data / "dropbox.sqlite3") as db:
        return db.execute(sql).fetchall()


def upgrade(old: Path) -> None:
    """What the operator runs once the new version is installed."""
    dropbox("upgrade", "--data", old / "instance")


def open_all(old: Path, tmp_path: Path, name: str = "alexandra") -> Path:
    bundles, opened = tmp_path / f"bundles-{name}", tmp_path / f"opened-{name}"
    dropbox("export", "--all", "--data", old / "instance", "--out", bundles)
    dropbox("keys", "open", bundles / f"{name}.odbx", "--key", old / "airgap" / f"{name}.key",
            "--out", opened, "--passphrase-file", old / "airgap" / "passphrase.txt")
    return opened


def test_upgrade_moves_every_payload_into_its_bucket_and_loses_none(old, tmp_path):
    store = old / "instance" / "store"
    before = payloads(store)
    assert len(before) == 7 and sorted(p.name for p in store.iterdir()) == sorted({c for c, _ in before})
    upgrade(old)
    assert payloads(store) == before
    opened = open_all(old, tmp_path)
    assert all(len(bucket.name) == 2 for bucket in store.iterdir())
    for conversation, item in before:
        assert (store / conversation[:2] / conversation / item).is_file()
    assert rows(old / "instance", "PRAGMA user_version") == [(migrations.CURRENT,)]
    # Everything still opens offline: the evidence byte for byte, every message and reply.
    found = {hashlib.sha256(p.read_bytes()).hexdigest() for p in opened.rglob("*") if p.is_file()}
    assert set(FACTS["reports"][0]["files"].values()) <= found
    texts = "\n".join(p.read_text("utf-8", "replace") for p in opened.rglob("*.txt"))
    for report in FACTS["reports"]:
        assert report["message"] in texts
    assert FACTS["reports"][0]["follow_up"] in texts
    for reply in FACTS["replies"]:
        assert (reply["text"] in texts) == reply["imported"]


def test_recipients_table_names_exactly_whom_each_old_conversation_went_to(old, tmp_path):
    upgrade(old)
    named = rows(old / "instance", "SELECT conversation_id, name FROM conversation_recipients")
    expected = {(r["conversation"], name) for r in FACTS["reports"]
                for name in FACTS["team"] if name not in r["excluded"]}
    assert set(named) == expected and len(named) == len(expected)
    opened = open_all(old, tmp_path, "bahaa")  # bahaa was left out of the second report
    assert not (opened / FACTS["reports"][1]["conversation"]).exists()


def test_a_move_cut_short_is_finished_by_the_next_start(old, tmp_path):
    store = old / "instance" / "store"
    before = payloads(store)
    first = FACTS["reports"][0]["conversation"]
    (store / first[:2]).mkdir()
    (store / first).rename(store / first[:2] / first)  # as if a crash came after one rename
    upgrade(old)
    assert payloads(store) == before
    assert sorted(p.name for p in store.iterdir()) == sorted({c[:2] for c, _ in before})


def test_the_upgraded_instance_serves_its_old_reporter_and_responder(old, tmp_path):
    data = old / "instance"
    before = payloads(data / "store")
    upgrade(old)
    name_community(data)
    server = start_server(data)
    try:
        report = FACTS["reports"][0]
        reply = next(r for r in FACTS["replies"] if r["imported"] and r["conversation"] == report["conversation"])
        _, page = log_in(server, report["codename"])
        assert page.status == 200 and reply["text"] in page.text
        account = FACTS["desk_logins"][0]
        desk, listed = desk_login(desk_url(server), Login(account["name"], account["password"],
                                                          account["totp_secret"]))
        assert listed.status == 200 and len(designations(listed)) == 2
        assert "2 conversations." in listed.text
    finally:
        server.stop()
    assert payloads(data / "store") == before  # start-up and use kept every payload


def test_ciphertext_a_v0_1_0_crash_left_without_a_row_is_removed_and_nothing_else(old, tmp_path):
    """v0.1.0 placed a payload before its row, without a journal: a crash in between left a file
    nothing names, which no export, retention or deletion would ever reach."""
    store = old / "instance" / "store"
    before = payloads(store)
    some = next(iter(before))[0]
    (store / some / "0123456789abcdef0123456789abcdef").write_bytes(b"ciphertext of a crash")
    (store / "fedcba9876543210fedcba9876543210").mkdir()  # a conversation whose row never came
    (store / "fedcba9876543210fedcba9876543210" / "00112233445566778899aabbccddeeff").write_bytes(b"x")
    upgrade(old)
    assert payloads(store) == before
    assert not (store / "fe").exists() or not any((store / "fe").iterdir())
    assert FACTS["reports"][0]["message"] in "\n".join(
        p.read_text("utf-8", "replace") for p in open_all(old, tmp_path).rglob("*.txt"))
