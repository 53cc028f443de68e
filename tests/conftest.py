"""Shared fixtures: real responder key files, a real instance, a real server process.

Nothing is mocked: keys are made with the `keys new` command (real argon2id
cost), the instance with `dropbox init`, and the server is `dropbox serve`
started as a subprocess on a loopback port, driven over HTTP.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

TEAM = ("alexandra", "bahaa", "mario")
PASSPHRASE = "correct horse battery staple"
BIN = Path(sys.executable).parent


def require_tool(name: str) -> str:
    """The path of a tool a test needs. Missing: a skip on a laptop, a failure in CI,
    because a skipped test proves nothing and CI must have everything installed."""
    path = shutil.which(name)
    if path:
        return path
    unavailable(f"{name} is not installed")


def unavailable(reason: str) -> None:
    """Skip here, fail in CI: CI must have what every test needs (install it in .ci/run)."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}, and CI must run this test")
    pytest.skip(reason)


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def run(*args: str | Path, check: bool = True, cwd: Path | None = None) -> Run:
    """Run a command of ours as a user would and return what it said."""
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, timeout=300)
    result = Run(proc.returncode, proc.stdout, proc.stderr)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return result


def dropbox(*args: str | Path, check: bool = True) -> Run:
    return run(BIN / "dropbox", *args, check=check)


@dataclass(frozen=True)
class Airgap:
    """The responders' air-gapped machine: key files and the passphrase file."""
    folder: Path
    passphrase_file: Path

    def key(self, name: str) -> Path:
        return self.folder / f"{name}.key"

    def pub(self, name: str) -> Path:
        return self.folder / f"{name}.pub"

    def open(self, bundle: Path, name: str, out: Path, check: bool = True) -> Run:
        return dropbox("keys", "open", bundle, "--key", self.key(name), "--out", out,
                       "--passphrase-file", self.passphrase_file, check=check)

    def reply(self, bundle: Path, conversation: str, name: str, message: str, out: Path,
              check: bool = True) -> Run:
        message_file = out.with_suffix(".txt")
        message_file.write_text(message, "utf-8")
        return dropbox("keys", "reply", bundle, conversation, "--key", self.key(name),
                       "--message-file", message_file, "--out", out,
                       "--passphrase-file", self.passphrase_file, check=check)


def opened_conversations(out: Path) -> dict[str, Path]:
    """The folder `keys open` wrote for each conversation id, from OUT/index.txt."""
    index = out / "index.txt"
    lines = index.read_text("utf-8").splitlines() if index.exists() else []
    return {cid: out / folder for _, cid, folder in (line.split("\t") for line in lines)}


@pytest.fixture(scope="session")
def airgap(tmp_path_factory) -> Airgap:
    """Every responder's key pair, and their colleagues' keys pinned in trusted/ beside them."""
    folder = tmp_path_factory.mktemp("airgap")
    passphrase_file = folder / "passphrase.txt"
    passphrase_file.write_text(PASSPHRASE + "\n")
    for name in TEAM:
        dropbox("keys", "new", name, "--out", folder, "--passphrase-file", passphrase_file)
    dropbox("keys", "trust", *(folder / f"{name}.pub" for name in TEAM), "--trusted", folder / "trusted")
    return Airgap(folder, passphrase_file)


@pytest.fixture(scope="session")
def instance_template(tmp_path_factory, airgap) -> Path:
    """One instance made as an operator makes it (`init`, then `team add` per responder), once."""
    data = tmp_path_factory.mktemp("template") / "instance"
    dropbox("init", "--data", data)
    for name in TEAM:
        dropbox("team", "add", name, airgap.pub(name), "--data", data)
    return data


@pytest.fixture
def instance(tmp_path, instance_template) -> Path:
    """A fresh copy of the template, modes kept: four CLI runs per test cost a third of the
    suite's time, and no test depends on its instance's secrets differing from another's."""
    data = tmp_path / "instance"
    shutil.copytree(instance_template, data, symlinks=True)
    return data


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    data: Path
    log: list[str]

    def peak_rss_kib(self) -> int:
        """The server's peak resident memory so far (VmHWM), in KiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise AssertionError("no VmHWM")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(data: Path, env: dict | None = None, args: tuple[str, ...] = ("--tor", "off"),
                 launcher: list[str] | None = None) -> Server:
    """`dropbox serve` on a free loopback port; `launcher` replaces the `dropbox` command
    (the benchmarks run it under a profiler)."""
    process = subprocess.Popen(
        [*(launcher or [str(BIN / "dropbox")]), "serve", "--data", str(data), "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, **(env or {})})
    log: list[str] = []
    ready = threading.Event()
    url: list[str] = []

    def pump():
        for line in process.stdout:
            log.append(line)
            found = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
            if found and not url:
                url.append(found.group(1))
                ready.set()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    if not ready.wait(30) or not url:
        process.kill()
        raise AssertionError("server did not start:\n" + "".join(log))
    return Server(url[0] + "/", process, data, log)


@pytest.fixture
def server(instance):
    running = start_server(instance)
    yield running
    running.stop()
