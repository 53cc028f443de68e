"""A key file says what it is for: a responder's key, or a backup key (docs/FORMAT.md, "Public
key file"). `dropbox team add` refuses a backup key, so backups' key never becomes a reader of
reports; key files made before the field existed (v0.1.0, v0.2.0) keep working."""
from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from dropbox.cli import cli
from keys.responder import Responder

from conftest import PASSPHRASE, dropbox

FIXTURES = Path(__file__).parent / "fixtures"


def _new_key(folder: Path, name: str, *options: str) -> Path:
    (folder / "passphrase").write_text(PASSPHRASE + "\n")
    dropbox("keys", "new", name, "--out", folder, "--passphrase-file", folder / "passphrase", *options)
    return folder / f"{name}.pub"


def _team(*args) -> tuple[int, str]:
    said = CliRunner().invoke(cli, ["team", *[str(a) for a in args]])
    return said.exit_code, said.output


def test_keys_new_says_whether_a_key_is_a_responders_or_the_backups(tmp_path):
    responder = _new_key(tmp_path, "dana")
    backup = _new_key(tmp_path, "backup", "--purpose", "backup")
    assert "purpose: responder" in responder.read_text()
    assert "purpose: backup" in backup.read_text()
    assert (Responder.load(responder).purpose, Responder.load(backup).purpose) == ("responder", "backup")


def test_team_add_refuses_a_backup_key_in_one_line(tmp_path, instance):
    backup = _new_key(tmp_path, "backup", "--purpose", "backup")
    for command in (["add", "backup", backup], ["replace", "mario", backup]):
        code, said = _team(*command, "--data", instance)
        assert code == 1 and said.count("\n") == 1 and "backup key" in said, said
        assert "dropbox backup --to" in said
    _, listed = _team("list", "--data", instance)
    assert "backup" not in listed


def test_key_files_without_a_purpose_keep_working_as_responder_keys(tmp_path, instance):
    """v0.1.0's and v0.2.0's public key files have no purpose line: they are read as before."""
    old = FIXTURES / "v0.1.0" / "airgap" / "alexandra.pub"
    assert Responder.load(old).purpose is None
    _team("remove", "alexandra", "--data", instance)
    code, said = _team("add", "alexandra", old, "--data", instance)
    assert code == 0, said


def test_an_unknown_purpose_is_refused_in_one_line(tmp_path, instance):
    pub = _new_key(tmp_path, "erin")
    pub.write_text(pub.read_text().replace("purpose: responder", "purpose: admin"))
    code, said = _team("add", "erin", pub, "--data", instance)
    assert code == 1 and "purpose" in said and "Traceback" not in said, said
