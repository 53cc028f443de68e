"""`python -m keys`, driven as a responder would on the air-gapped machine.

Every failure must end in one line on stderr and a non-zero exit, never a traceback.
"""
from __future__ import annotations

import io
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from nacl.public import PrivateKey

from keys.bundle import read_reply_file
from keys import envelope
from keys.items import split_item
from keys.responder import Responder, ResponderKey

from keys_support import Conversation, folder_of, item, report_item, write_export

ROOT = Path(__file__).resolve().parent.parent
PASSPHRASE = "correct horse battery staple"
SMALL = {"opslimit": 1, "memlimit": 8 * 1024 * 1024}
REPORTER = PrivateKey.generate()


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "keys", *map(str, args)], cwd=ROOT,
                          capture_output=True, check=False, text=True, timeout=120)


def assert_one_line_error(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for word in words:
        assert word in lines[0]


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    """A folder with a passphrase file, alice's and carol's keys (small cost) and an export."""
    folder = tmp_path_factory.mktemp("desk")
    (folder / "passphrase").write_text(PASSPHRASE + "\n")
    (folder / "wrong").write_text("not the passphrase at all\n")
    keys = {name: ResponderKey.generate(name) for name in ("alice", "bob", "carol")}
    for name in ("alice", "carol"):
        (folder / f"{name}.key").write_bytes(keys[name].seal(PASSPHRASE, **SMALL))
    first = Conversation([keys["alice"], keys["bob"]], [report_item(REPORTER), item("message", b"Hello team.")],
                         REPORTER, designation="maple-river")
    write_export(folder / "export.odbx", [first])
    (folder / "trusted").mkdir()
    (folder / "trusted" / "bob.pub").write_text(keys["bob"].responder.to_pub_text())
    return folder, keys, first


@pytest.fixture(scope="module")
def new_key(tmp_path_factory):
    """`keys new` run once: it seals at the real cost."""
    folder = tmp_path_factory.mktemp("new")
    (folder / "passphrase").write_text(PASSPHRASE + "\n")
    result = run("new", "dana", "--out", folder / "keys", "--passphrase-file", folder / "passphrase")
    return folder, result


def test_new_writes_a_private_key_file_and_a_public_key_file(new_key):
    folder, result = new_key
    assert result.returncode == 0, result.stderr
    key_path, pub_path = folder / "keys" / "dana.key", folder / "keys" / "dana.pub"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    responder = Responder.load(pub_path)
    assert responder.name == "dana"
    assert f"fingerprint: {responder.fingerprint}" in result.stdout
    key = ResponderKey.load(key_path, PASSPHRASE)
    assert key.responder == responder


def test_new_refuses_to_overwrite_a_key(new_key):
    folder, _ = new_key
    before = (folder / "keys" / "dana.key").read_bytes()
    result = run("new", "dana", "--out", folder / "keys", "--passphrase-file", folder / "passphrase")
    assert_one_line_error(result, "refusing to overwrite")
    assert (folder / "keys" / "dana.key").read_bytes() == before


def test_new_refuses_a_short_passphrase(tmp_path):
    (tmp_path / "short").write_text("short\n")
    result = run("new", "erin", "--out", tmp_path / "keys", "--passphrase-file", tmp_path / "short")
    assert_one_line_error(result, "at least 12 characters")
    assert not (tmp_path / "keys" / "erin.key").exists()


def test_new_refuses_a_bad_name(tmp_path):
    (tmp_path / "passphrase").write_text(PASSPHRASE)
    result = run("new", "../Erin", "--out", tmp_path, "--passphrase-file", tmp_path / "passphrase")
    assert_one_line_error(result, "not a usable name")
    assert [p.name for p in tmp_path.iterdir()] == ["passphrase"]


def test_open_writes_what_the_key_may_read(desk, tmp_path):
    folder, _, first = desk
    result = run("open", folder / "export.odbx", "--key", folder / "alice.key",
                 "--out", tmp_path / "out", "--passphrase-file", folder / "passphrase")
    assert result.returncode == 0, result.stderr
    listed, summary = result.stdout.strip().splitlines()
    assert listed.split()[:4] == ["maple-river", first.id, "2", "item(s)"]
    assert summary == "alice: opened 2 item(s) in 1 conversation(s); excluded from 0 conversation(s)"
    texts = [p.read_bytes() for p in folder_of(tmp_path / "out", first.id).glob("*-message-*.txt")]
    assert texts == [b"Hello team."]


def test_open_with_a_wrong_passphrase_fails_with_one_clear_line(desk, tmp_path):
    folder, _, _ = desk
    result = run("open", folder / "export.odbx", "--key", folder / "alice.key",
                 "--out", tmp_path / "out", "--passphrase-file", folder / "wrong")
    assert_one_line_error(result, "wrong passphrase")
    assert not (tmp_path / "out").exists()


def test_open_a_damaged_bundle_fails_with_one_line(desk, tmp_path):
    folder, _, _ = desk
    damaged = tmp_path / "damaged.odbx"
    damaged.write_bytes((folder / "export.odbx").read_bytes()[:-10])
    result = run("open", damaged, "--key", folder / "alice.key", "--out", tmp_path / "out",
                 "--passphrase-file", folder / "passphrase")
    assert_one_line_error(result, "bundle is truncated")


def test_open_a_missing_bundle_fails_with_one_line(desk, tmp_path):
    folder, _, _ = desk
    result = run("open", tmp_path / "nowhere.odbx", "--key", folder / "alice.key",
                 "--out", tmp_path / "out", "--passphrase-file", folder / "passphrase")
    assert_one_line_error(result, "nowhere.odbx", "No such file")


def test_reply_round_trip(desk, tmp_path):
    folder, keys, first = desk
    (tmp_path / "message.txt").write_text("We will talk to them this week.\n")
    result = run("reply", folder / "export.odbx", first.id, "--key", folder / "alice.key",
                 "--message-file", tmp_path / "message.txt", "--out", tmp_path / "reply.odbx",
                 "--passphrase-file", folder / "passphrase")
    assert result.returncode == 0, result.stderr
    for reader in (REPORTER, keys["bob"].secret_key):
        with open(tmp_path / "reply.odbx", "rb") as stream:
            reply = read_reply_file(stream)
        meta, body = split_item(envelope.open_envelope(io.BytesIO(reply.envelope), reader))
        assert (reply.conversation_id, meta.kind, meta.name) == (first.id, "reply", "alice")
        assert b"".join(body) == b"We will talk to them this week.\n"
        assert (reply.head.kind, reply.item.proof.author) == ("reply", "alice")


def test_reply_accepts_the_two_word_designation_keys_open_prints(desk, tmp_path):
    folder, _, first = desk
    (tmp_path / "message.txt").write_text("Thank you for writing.\n")
    result = run("reply", folder / "export.odbx", "maple-river", "--key", folder / "alice.key",
                 "--message-file", tmp_path / "message.txt", "--out", tmp_path / "reply.odbx",
                 "--passphrase-file", folder / "passphrase")
    assert result.returncode == 0, result.stderr
    with open(tmp_path / "reply.odbx", "rb") as stream:
        assert read_reply_file(stream).conversation_id == first.id


def test_reply_to_an_unknown_designation_fails_with_one_line(desk, tmp_path):
    folder, _, _ = desk
    (tmp_path / "message.txt").write_text("Hello.\n")
    result = run("reply", folder / "export.odbx", "smoked-patronage", "--key", folder / "alice.key",
                 "--message-file", tmp_path / "message.txt", "--out", tmp_path / "reply.odbx",
                 "--passphrase-file", folder / "passphrase")
    assert_one_line_error(result, "smoked-patronage is not in this bundle")
    assert not (tmp_path / "reply.odbx").exists()


def test_reply_by_a_recused_responder_fails_with_one_line(desk, tmp_path):
    folder, _, first = desk
    (tmp_path / "message.txt").write_text("Let me in.\n")
    result = run("reply", folder / "export.odbx", first.id, "--key", folder / "carol.key",
                 "--message-file", tmp_path / "message.txt", "--out", tmp_path / "reply.odbx",
                 "--passphrase-file", folder / "passphrase")
    assert_one_line_error(result, "carol is not a recipient")
    assert not (tmp_path / "reply.odbx").exists()


def test_passphrase_file_that_is_not_text_fails_with_one_line(desk, tmp_path):
    folder, _, _ = desk
    (tmp_path / "binary").write_bytes(b"\xff\xfe\x00\x01")
    result = run("open", folder / "export.odbx", "--key", folder / "alice.key",
                 "--out", tmp_path / "out", "--passphrase-file", tmp_path / "binary")
    assert_one_line_error(result)
