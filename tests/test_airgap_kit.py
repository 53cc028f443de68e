"""The air-gap kit installs and works on a machine with no network.

The kit is built as an operator would (`dropbox airgap-kit`, which downloads PyNaCl's pinned
wheels), then installed and used inside `unshare --net` (no network at all) with a fresh
virtual environment's Python that has no PyNaCl of its own: `keys new`, then `keys open` and
`keys reply` on a real export (the one v0.1.0 wrote), and the reply goes back into the server.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import dropbox, require_tool, unavailable

ROOT = Path(__file__).parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "v0.1.0"


def _pins(lock: Path) -> dict[str, tuple[str, frozenset[str]]]:
    pins = {}
    for block in re.split(r"\n(?=[a-z])", lock.read_text()):
        found = re.match(r"([a-z0-9_.-]+)==(\S+)", block)
        if found:
            pins[found.group(1)] = (found.group(2), frozenset(re.findall(r"sha256:(\w+)", block)))
    return pins


def test_kit_pins_pynacl_exactly_as_the_server_does():
    kit = _pins(ROOT / "dropbox" / "airgap" / "kit.lock")
    base = _pins(ROOT / "requirements" / "base.lock")
    assert set(kit) == {"pynacl", "cffi", "pycparser"}
    for name, pin in kit.items():
        assert base[name] == pin, name


def _offline(*args, env: dict, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["unshare", "--net", *map(str, args)], capture_output=True, check=False, text=True,
                          env=env, timeout=300)
    if check:
        assert proc.returncode == 0, proc
    return proc


@pytest.mark.slow
def test_kit_installs_and_opens_and_replies_with_no_network(tmp_path):
    require_tool("unshare")
    if os.geteuid() != 0:
        unavailable("unshare --net needs root")
    kit = tmp_path / "kit"
    said = dropbox("airgap-kit", "--out", kit, "--python", f"{sys.version_info[0]}.{sys.version_info[1]}").out
    digest = re.search(r"SHA-256 of \S+: ([0-9a-f]{64})", said).group(1)
    assert subprocess.run(["sha256sum", kit / "SHA256SUMS"], capture_output=True, check=True,
                          text=True).stdout.split()[0] == digest

    fresh = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", fresh], check=True)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHON": str(fresh / "bin" / "python")}
    assert _offline(fresh / "bin" / "python", "-c", "import nacl", env=env, check=False).returncode != 0

    # A kit changed on the way is refused before anything is installed.
    changed = tmp_path / "changed"
    shutil.copytree(kit, changed)
    with (changed / "keys" / "cli.py").open("a") as source:
        source.write("# changed\n")
    refused = _offline("sh", changed / "install.sh", tmp_path / "nowhere", env=env, check=False)
    assert refused.returncode != 0 and "damaged or was changed" in refused.stderr
    assert not (tmp_path / "nowhere" / "keys").exists()

    target = tmp_path / "offline tools"
    _offline("sh", kit / "install.sh", target, env=env)
    keys = target / "keys"
    passphrase = tmp_path / "passphrase.txt"
    passphrase.write_text("a long offline passphrase\n")
    made = _offline(keys, "new", "dana", "--out", tmp_path / "dana", "--passphrase-file", passphrase,
                    env=env).stdout
    assert "fingerprint:" in made and (tmp_path / "dana" / "dana.key").exists()

    fixture = json.loads((FIXTURE / "fixture.json").read_text())
    report = fixture["reports"][0]
    opened = tmp_path / "opened"
    # --trusted: what the first opening learns is written there, not into the fixture.
    _offline(keys, "open", FIXTURE / "export-1.bundle", "--key", FIXTURE / "airgap" / "alexandra.key",
             "--out", opened, "--passphrase-file", FIXTURE / "airgap" / "passphrase.txt",
             "--trusted", tmp_path / "trusted", env=env)
    texts = "".join(p.read_text() for p in opened.glob(f"*/*{report['conversation']}/*.txt"))
    assert report["message"] in texts
    # A v0.1.0 key reads; to sign replies it gains a signing key, and the colleagues' keys are pinned.
    upgraded = tmp_path / "upgraded"
    _offline(keys, "upgrade-key", "--key", FIXTURE / "airgap" / "alexandra.key", "--out", upgraded,
             "--passphrase-file", FIXTURE / "airgap" / "passphrase.txt", env=env)
    _offline(keys, "trust", *(FIXTURE / "airgap" / f"{name}.pub" for name in fixture["team"]),
             "--trusted", upgraded / "trusted", env=env)
    answer = tmp_path / "answer.txt"
    answer.write_text("Written on a machine with no network, with the kit.\n")
    _offline(keys, "reply", FIXTURE / "export-1.bundle", report["conversation"],
             "--key", upgraded / "alexandra.key", "--message-file", answer,
             "--out", tmp_path / "reply.odbx", "--passphrase-file", FIXTURE / "airgap" / "passphrase.txt",
             env=env)

    # The reply is one the server takes, once it has alexandra's new public key.
    instance = tmp_path / "instance"
    shutil.copytree(FIXTURE / "instance", instance)
    dropbox("upgrade", "--data", instance)
    dropbox("team", "replace", "alexandra", upgraded / "alexandra.pub", "--data", instance)
    assert "stored 1 reply" in dropbox("import-replies", tmp_path / "reply.odbx", "--data", instance).out
