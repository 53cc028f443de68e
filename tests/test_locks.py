"""`make run` installs what running needs, and `make test` what testing needs, each from a lock
pinned by hash with no path of the machine that made it: a fresh clone runs the demo without
the test tools (aiosmtpd, Playwright, the browser checkers)."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).parent.parent
LOCKS = ROOT / "requirements"
TEST_TOOLS = ("dev.lock", "npm", "playwright", "aiosmtpd")


def _dry_run(target: str) -> str:
    """The commands `make TARGET` would run on a fresh clone (everything out of date)."""
    proc = subprocess.run(["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True,
                          check=False, timeout=60)
    assert proc.returncode == 0, proc
    return proc.stdout


def _pins(lock: Path) -> dict[str, tuple[str, frozenset[str]]]:
    """name -> (version, hashes), as pip reads them."""
    found = {}
    for name, version, rest in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)((?:\s*\\\n\s*--hash=\S+)+)",
                                          lock.read_text(), re.M):
        found[name.lower()] = (version, frozenset(re.findall(r"--hash=(\S+)", rest)))
    return found


def test_make_run_installs_nothing_only_the_tests_need():
    run = _dry_run("run")
    assert "base.lock" in run and "build.lock" in run and "--require-hashes" in run
    for tool in TEST_TOOLS:
        assert tool not in run, (tool, run)
    assert "dev.lock" in _dry_run("install")


def test_every_lock_is_hash_pinned_agrees_with_the_others_and_names_no_machine_path():
    everything = _pins(LOCKS / "dev.lock")
    for lock in ("base.lock", "build.lock"):
        pins = _pins(LOCKS / lock)
        assert pins, lock
        for name, pin in pins.items():
            assert everything.get(name) == pin, (lock, name)
        assert "playwright" not in pins and "aiosmtpd" not in pins
    for lock in LOCKS.glob("*.lock"):
        text = lock.read_text()
        assert not re.search(r"(/work/|/home/|/tmp/|/root/|file://)", text), lock
        packages = re.findall(r"^[A-Za-z0-9_.-]+==", text, re.M)
        assert packages and len(re.findall(r"^[A-Za-z0-9_.-]+==\S+ \\$", text, re.M)) == len(packages), lock
