"""Only `dropbox upgrade` upgrades: every other command refuses an instance made by an earlier
version, says why and what to do, exits non-zero, and leaves every file as it was.

The instance is a copy of each release fixture in tests/fixtures/ that is behind this program
(made by that release's own code); commands run in click's runner, as a user types them. The table below names every command that takes
`--data`, so a new one cannot be added without saying here what it does with an old instance.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from dropbox import migrations
from dropbox.cli import cli

FIXTURES = Path(__file__).parent / "fixtures"
# Each release's schema version (v0.1.0's fixture predates the field: 0); those behind this
# program are the old instances every command but `upgrade` must refuse.
MADE = {p.name: json.loads((p / "fixture.json").read_text()).get("schema_version", 0)
        for p in sorted(FIXTURES.iterdir()) if (p / "fixture.json").is_file()}
OLD = [release for release, version in MADE.items() if version < migrations.CURRENT]

# Every command taking --data except those that must work on an old instance (`upgrade`;
# `backup`, the step before it; `init` and `restore`, which make a new one), with arguments
# that would make it act on a current instance.
REFUSING = {
    ("serve",): ["--tor", "off", "--port", "0"],
    ("export",): ["--out", "{tmp}/export", "--all"],
    ("purge",): [],
    ("import-replies",): ["{fixture}/reply-3.odbx"],
    ("team", "add"): ["carol", "{fixture}/airgap/alexandra.pub"],
    ("team", "replace"): ["alexandra", "{fixture}/airgap/alexandra.pub"],
    ("team", "list"): [],
    ("team", "remove"): ["mario"],
    ("onion", "address"): [],
    ("onion", "import-key"): ["{fixture}/instance/secrets/onion-site-key"],
    ("onion", "rotate"): ["--yes"],
    ("onion", "desk-access", "add"): ["mario"],
    ("onion", "desk-access", "remove"): ["mario"],
    ("onion", "desk-access", "list"): [],
    ("desk", "add-user"): ["mario"],
    ("desk", "reset-user"): ["mario"],
    ("desk", "remove-user"): ["mario"],
    ("desk", "list-users"): [],
    ("status",): [],
    ("figures",): ["--year", "2026"],
}
ALLOWED = {("upgrade",), ("backup",), ("init",), ("restore",)}


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))
        elif any(param.name == "data_dir" for param in command.params):
            yield (*prefix, name)


def _files(folder: Path) -> dict[str, str]:
    """Every path below `folder` → its bytes' hash (folders: "dir"), so nothing added or
    removed goes unseen either."""
    return {str(p.relative_to(folder)): "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
            for p in folder.rglob("*")}


def test_the_table_names_every_command_that_takes_an_instance():
    assert set(_commands(cli)) == set(REFUSING) | ALLOWED


@pytest.mark.parametrize("release", OLD)
@pytest.mark.parametrize("command", sorted(REFUSING), ids=" ".join)
def test_a_command_refuses_an_old_instance_and_changes_nothing(command, release, tmp_path):
    fixture = tmp_path / release
    shutil.copytree(FIXTURES / release, fixture)
    data = fixture / "instance"
    before = _files(data)
    args = [a.format(tmp=tmp_path, fixture=fixture) for a in REFUSING[command]]

    result = CliRunner().invoke(cli, [*command, *args, "--data", str(data)])

    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    said = result.output
    assert f"version {MADE[release]}, this program {migrations.CURRENT}" in said, said
    if command == ("status",):  # monitoring's one line per problem
        assert "PROBLEM: the instance needs `dropbox upgrade`" in said, said
    else:
        assert f"dropbox upgrade --data {data}" in said and "dropbox backup" in said, said
    assert _files(data) == before
    assert not (tmp_path / "export").exists()


@pytest.mark.parametrize("release", sorted(MADE))
def test_upgrade_then_the_same_commands_work(release, tmp_path):
    fixture = tmp_path / release
    shutil.copytree(FIXTURES / release, fixture)
    data = fixture / "instance"
    runner = CliRunner()
    assert runner.invoke(cli, ["upgrade", "--data", str(data)]).exit_code == 0
    listed = runner.invoke(cli, ["team", "list", "--data", str(data)])
    assert listed.exit_code == 0 and "alexandra" in listed.output
