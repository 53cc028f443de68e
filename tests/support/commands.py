"""Our commands run as a user runs them: a subprocess, and what it said."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

BIN = Path(sys.executable).parent


def require_tool(name: str) -> str:
    """The path of a tool a test needs. Missing: a skip on a laptop, a failure in CI,
    because a skipped test proves nothing and CI must have everything installed."""
    path = shutil.which(name)
    if path:
        return path
    unavailable(f"{name} is not installed")


def unavailable(reason: str) -> NoReturn:
    """Skip here, fail in CI: CI must have what every test needs (install it in .ci/run)."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}, and CI must run this test")
    pytest.skip(reason)


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def run(*args: str | Path, check: bool = True, cwd: Path | None = None, timeout: float = 300) -> Run:
    """Run a command of ours as a user would and return what it said."""
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, timeout=timeout,
                          check=False)
    result = Run(proc.returncode, proc.stdout, proc.stderr)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return result


def dropbox(*args: str | Path, check: bool = True, timeout: float = 300) -> Run:
    return run(BIN / "dropbox", *args, check=check, timeout=timeout)


def invoke(*args: str | Path, check: bool = True) -> Run:
    """A `dropbox` command run in this process by click's runner: for checks of what a command
    says to its arguments, without the second a subprocess costs."""
    from click.testing import CliRunner

    from dropbox.cli import cli
    result = CliRunner().invoke(cli, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    said = Run(result.exit_code, result.stdout, result.stderr)
    if check and said.code != 0:
        raise AssertionError(f"{args} failed ({said.code}):\n{said.out}\n{said.err}")
    return said
