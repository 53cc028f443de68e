"""What the operator's commands print, read by someone who is not a developer: plain words,
only options that exist, and nothing announced before it has happened."""
from __future__ import annotations

import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from dropbox import migrations
from dropbox.cli import cli
from conftest import BIN

FIXTURES = Path(__file__).parent / "fixtures"


def invoke(*args) -> tuple[int, str]:
    said = CliRunner().invoke(cli, [str(a) for a in args])
    return said.exit_code, said.output


def test_upgrade_says_what_each_step_did_in_plain_words(tmp_path):
    data = tmp_path / "instance"
    shutil.copytree(FIXTURES / "v0.1.0" / "instance", data)
    code, said = invoke("upgrade", "--data", data)
    assert code == 0, said
    for step in migrations.STEPS:
        assert step.done.strip() and step.done in said, step.name
        assert step.name not in said
    # No internal identifier (words joined by underscores) reaches the operator.
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", said.replace(str(data.resolve()), "DIR")), said


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_status_suggests_only_options_status_has(instance, tmp_path):
    """With no tor to ask, status says what to change, in options it takes itself."""
    code, said = invoke("status", "--data", instance, "--control-port", _free_port(),
                        "--control-socket", tmp_path / "no-socket")
    assert code == 1 and "PROBLEM: tor cannot be asked" in said, said
    _, usage = invoke("status", "--help")
    for option in re.findall(r"--[a-z][a-z-]+", said):
        assert option in usage, (option, said)


def test_serve_with_the_system_tor_missing_fails_before_saying_it_serves(instance, tmp_path):
    proc = subprocess.run([str(BIN / "dropbox"), "serve", "--data", str(instance), "--port", "0",
                           "--tor", "system", "--control-socket", str(tmp_path / "no-socket")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc
    assert "no tor control socket" in proc.stderr and "--tor launch" in proc.stderr, proc.stderr
    assert "serving" not in proc.stdout + proc.stderr, proc


@pytest.mark.slow
def test_make_dist_prints_a_few_lines_naming_what_it_built(tmp_path):
    proc = subprocess.run(["make", "dist", f"DIST={tmp_path}"], cwd=Path(__file__).parent.parent,
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    assert len(lines) <= 6 and any(line.endswith(".whl") for line in lines), lines
