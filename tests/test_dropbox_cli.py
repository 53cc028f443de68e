"""The `dropbox` command as an operator meets it: clear one-line errors, nothing damaged."""
from __future__ import annotations

import secrets
import stat

import pytest

from pathlib import Path

from conftest import TEAM, dropbox, opened_conversations
from support.reporter import new_report

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "v0.1.0"


def one_clear_line(result) -> str:
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert result.code != 0
    assert len(lines) == 1, result.err
    assert "Traceback" not in result.err
    return lines[0]


def test_init_makes_an_instance_with_private_secrets_and_refuses_to_touch_it_again(tmp_path):
    data = tmp_path / "inst"
    dropbox("init", "--data", data)
    peppers = data / "secrets" / "peppers"
    assert stat.S_IMODE(peppers.stat().st_mode) == 0o600
    assert len(peppers.read_bytes()) == 64
    before = peppers.read_bytes()
    line = one_clear_line(dropbox("init", "--data", data, check=False))
    assert "refusing" in line
    assert peppers.read_bytes() == before


def test_commands_on_a_missing_instance_say_so(tmp_path):
    for args in (["team", "list"], ["export", "--out", tmp_path / "x"], ["serve"]):
        line = one_clear_line(dropbox(*args, "--data", tmp_path / "nowhere", check=False))
        assert "no instance" in line and "dropbox init" in line


def test_team_add_list_remove(tmp_path, airgap):
    data = tmp_path / "inst"
    dropbox("init", "--data", data)
    assert "no responders" in dropbox("team", "list", "--data", data).out
    dropbox("team", "add", "mario", airgap.pub("mario"), "--data", data)
    listed = dropbox("team", "list", "--data", data).out
    fingerprint = airgap.pub("mario").read_text().split("fingerprint:")[1].strip()
    assert f"mario\t{fingerprint}" in listed
    assert "already" in one_clear_line(dropbox("team", "add", "mario", airgap.pub("mario"),
                                               "--data", data, check=False))
    assert "not 'bahaa'" in one_clear_line(dropbox("team", "add", "bahaa", airgap.pub("mario"),
                                                   "--data", data, check=False))
    assert "no responder named" in one_clear_line(dropbox("team", "remove", "nobody",
                                                          "--data", data, check=False))
    dropbox("team", "remove", "mario", "--data", data)
    assert "mario" not in dropbox("team", "list", "--data", data).out


def test_team_add_refuses_a_damaged_or_foreign_public_key(tmp_path, instance, airgap):
    damaged = tmp_path / "damaged.pub"
    text = airgap.pub("mario").read_text()
    damaged.write_text(text.replace("public-key: ", "public-key: A"))
    assert "damaged" in one_clear_line(dropbox("team", "remove", "mario", "--data", instance)
                                       and dropbox("team", "add", "mario", damaged, "--data", instance,
                                                   check=False))
    foreign = tmp_path / "foreign.pub"
    foreign.write_bytes(secrets.token_bytes(64))
    assert "not an onion-dropbox public key" in one_clear_line(
        dropbox("team", "add", "mario", foreign, "--data", instance, check=False))


def test_serve_refuses_an_empty_team(tmp_path):
    data = tmp_path / "inst"
    dropbox("init", "--data", data, "--community", "Test community")
    assert "team is empty" in one_clear_line(dropbox("serve", "--data", data, check=False))


@pytest.mark.slow
def test_import_replies_refuses_damaged_foreign_and_export_files_and_stores_nothing(
        server, airgap, tmp_path):
    new_report(server, "hello")
    bundle = tmp_path / "export.bundle"
    dropbox("export", "--data", server.data, "--out", bundle)
    opened = tmp_path / "opened"
    airgap.open(bundle, "alexandra", opened)
    [conversation] = list(opened_conversations(opened))
    reply = tmp_path / "reply.odbx"
    airgap.reply(bundle, conversation, "alexandra", "a reply", reply)

    truncated = tmp_path / "truncated.odbx"
    truncated.write_bytes(reply.read_bytes()[:-40])
    flipped = tmp_path / "flipped.odbx"
    data = bytearray(reply.read_bytes())
    data[len(data) // 2] ^= 1
    flipped.write_bytes(bytes(data))
    foreign = tmp_path / "foreign.odbx"
    foreign.write_bytes(b"PK\x03\x04 not a reply")

    def stored_files():
        return sorted(p for p in (server.data / "store").rglob("*") if p.is_file())

    before = stored_files()
    for bad, words in ((truncated, "truncated"), (flipped, "damaged"),
                       (foreign, "not an onion-dropbox bundle"), (bundle / "alexandra.odbx", "not a reply"),
                       (FIXTURES / "reply-3.odbx", "not signed")):
        line = one_clear_line(dropbox("import-replies", bad, "--data", server.data, check=False))
        assert words in line, line
    assert stored_files() == before
    assert not list((server.data / "tmp").iterdir())

    dropbox("import-replies", reply, "--data", server.data)
    again = one_clear_line(dropbox("import-replies", reply, "--data", server.data, check=False))
    assert "imported already" in again
    assert len(stored_files()) == len(before) + 1


def test_keys_commands_run_inside_dropbox_and_alone(airgap, tmp_path):
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not the passphrase\n")
    bundle = tmp_path / "missing.bundle"
    result = dropbox("keys", "open", bundle, "--key", airgap.key("mario"), "--out", tmp_path / "o",
                     "--passphrase-file", wrong, check=False)
    assert "wrong passphrase" in one_clear_line(result)
    assert set(TEAM) <= {p.stem for p in airgap.folder.glob("*.key")}
