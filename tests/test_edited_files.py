"""What an operator edits is checked when it is loaded, and a chore that fails is said.

config.toml and code-of-practice.toml, whatever they hold, load or give one line naming the
file (or the setting and its range), never a traceback; a setting outside its range is refused
at load, not met at run time (a codename stretch that cannot run, a timer that overflows).
The server's background chores go on after a failure, which is logged and shown by
`dropbox status` until the chore succeeds again.
"""
from __future__ import annotations

import dataclasses
import gc
import logging
import re
import shutil
import socket
import sqlite3
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from dropbox.cli import cli
from dropbox.config import CONFIG_FILE, Config, Settings
from dropbox.desk.housekeeping import Housekeeping
from dropbox.practice import PRACTICE_FILE
from dropbox.storage import Store

NUMBERS = [f.name for f in dataclasses.fields(Settings) if f.type == "int"]


@pytest.fixture(scope="module")
def template(tmp_path_factory, airgap) -> Path:
    data = tmp_path_factory.mktemp("template") / "instance"
    assert CliRunner().invoke(cli, ["init", "--data", str(data)]).exit_code == 0
    assert _command(data, "team", "add", "alexandra", str(airgap.pub("alexandra"))).exit_code == 0
    gc.collect()  # the commands' stores close their connections: the -wal is folded in and gone
    assert not (data / "dropbox.sqlite3-wal").exists()
    return data


@pytest.fixture
def instance(template, tmp_path) -> Path:
    """A copy of the template: an instance is made once per module, not per test."""
    return Path(shutil.copytree(template, tmp_path / "instance"))


def _command(data: Path, *args: str):
    return CliRunner().invoke(cli, [*args, "--data", str(data)])


def _refused(data: Path) -> str:
    """What `team list` says of the instance: it must refuse it with one line."""
    result = _command(data, "team", "list")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def _set(data: Path, line: str) -> None:
    config = data / CONFIG_FILE
    name = line.split("=")[0].strip()
    kept = [old for old in config.read_text().splitlines() if not old.startswith(f"{name} =")]
    config.write_text("\n".join([*kept, line]) + "\n")


@pytest.mark.parametrize("name", [CONFIG_FILE, PRACTICE_FILE])
@pytest.mark.parametrize("damage, said", [
    (b"# caf\xe9 au lait\n", "is not UTF-8 text (line"),
    (b"deep = " + b"[" * 5000 + b"]" * 5000 + b"\n", "nests arrays or tables too deeply"),
    (b"x = = 1\n", "is not valid TOML"),
])
def test_a_damaged_file_is_refused_in_one_line(instance, name, damage, said):
    path = instance / name
    path.write_bytes(path.read_bytes() + damage)
    assert f"{name} {said}" in _refused(instance)


@pytest.mark.parametrize("name", NUMBERS)
@pytest.mark.parametrize("value", ["-1", "10**20"])
def test_every_number_setting_outside_its_range_is_refused_naming_it_and_its_range(instance, name, value):
    _set(instance, f"{name} = {eval(value)}")  # noqa: S307 - the test's own literals
    said = _refused(instance)
    assert re.search(rf"{CONFIG_FILE}: {name} must be a whole number from [\d_]+ to [\d_]+$", said), said


@pytest.mark.parametrize("line, said", [
    ("codename_memlimit = 1", "codename_memlimit must be a whole number from 8_192 to"),
    ("housekeeping_seconds = 100000000000000000000", "housekeeping_seconds must be a whole number"),
    ("retention_days = 5000000", "retention_days must be a whole number from 0 to 36_500"),
    ("smtp_port = 70000", "smtp_port must be a whole number from 1 to 65_535"),
    ('smtp_from = "desk@example.org\\r\\nBcc: someone@example.org"', "smtp_from must be a quoted text on one line"),
    ('quick_exit_url = "javascript:alert(1)"', "quick_exit_url must be a web address"),
    ("smtp_starttls = 1", "smtp_starttls must be true or false"),
])
def test_settings_that_would_break_at_run_time_are_refused_at_load(instance, line, said):
    _set(instance, line)
    assert said in _refused(instance)


def test_each_range_holds_its_default_and_its_ends_load(instance):
    for setting in dataclasses.fields(Settings):
        if setting.type != "int":
            continue
        for value in setting.metadata["range"]:
            _set(instance, f"{setting.name} = {value}")
            assert getattr(Config.load(instance).settings, setting.name) == value
        _set(instance, f"{setting.name} = {setting.default}")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_failing_chore_is_logged_shown_by_status_and_tried_again(instance, caplog):
    _set(instance, 'smtp_host = "127.0.0.1"')
    _set(instance, f"smtp_port = {_closed_port()}")  # nothing listens: every mail fails
    _set(instance, "housekeeping_seconds = 1")
    runner = CliRunner()
    assert runner.invoke(cli, ["desk", "add-user", "alexandra", "--email", "a@example.org",
                               "--data", str(instance)]).exit_code == 0
    with sqlite3.connect(instance / "dropbox.sqlite3") as db:
        db.execute("UPDATE desk_accounts SET notice_pending = 1")
    config = Config.load(instance)
    store = Store(config.database, config.store_dir, config.tmp_dir)
    chores = Housekeeping(config, store)
    attempts = []
    original = chores.run_once
    chores.run_once = lambda: (attempts.append(time.monotonic()), original())
    with caplog.at_level(logging.ERROR):
        chores.start()
        for _ in range(100):
            if len(attempts) >= 3:
                break
            time.sleep(0.1)
    assert len(attempts) >= 3 and chores.is_alive()
    assert any("sending notices failed" in r.getMessage() for r in caplog.records)
    said = runner.invoke(cli, ["status", "--data", str(instance), "--control-port", "1",
                               "--control-socket", "/nonexistent"])
    assert said.exit_code == 1
    assert any(line.startswith("PROBLEM: the server's chore \"sending notices\" has failed since")
               for line in said.output.splitlines()), said.output

    _set(instance, 'smtp_host = ""')  # mail off: the chore succeeds again, and status is quiet
    Housekeeping(Config.load(instance), store).run_once()
    chores.stopped.set()
    said = runner.invoke(cli, ["status", "--data", str(instance), "--control-port", "1",
                               "--control-socket", "/nonexistent"])
    assert "chore" not in said.output, said.output
