"""`--tor auto` uses a running tor it can control before launching its own, says why when it
cannot control one, and `dropbox status` asks that tor whether the onions are published.

The "running tor" is a real tor started here with its network disabled.
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from conftest import dropbox, require_tool, start_server
from tornet import wait_for

ONION_URL = re.compile(r"reporter site: http://([a-z2-7]{56}\.onion)/")


def _running_tor(folder: Path, *options: str) -> tuple[subprocess.Popen, str]:
    tor = require_tool("tor")
    folder.mkdir(mode=0o700)
    port_file = folder / "control-port"
    process = subprocess.Popen(
        [tor, "--DataDirectory", str(folder), "--DisableNetwork", "1", "--SocksPort", "0",
         "--ControlPort", "auto", "--ControlPortWriteToFile", str(port_file), *options,
         "--Log", "err stderr"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port = wait_for("tor's control port", lambda: port_file.exists() and
                    port_file.read_text().strip().rsplit(":", 1)[1], 60, 0.2)
    return process, port


@pytest.mark.slow
def test_auto_attaches_to_a_running_tor_and_status_asks_it(instance, tmp_path):
    tor, port = _running_tor(tmp_path / "tor", "--CookieAuthentication", "1")
    try:
        server = start_server(instance, args=("--tor", "auto", "--control-port", port,
                                              "--control-socket", str(tmp_path / "no-socket")))
        try:
            found = wait_for("the onion address", lambda: ONION_URL.search("".join(server.log)),
                             60, 0.2)
            assert found.group(1) == dropbox("onion", "address", "--data", instance).out.strip()
            log = "".join(server.log)
            assert "attached to tor" in log and "launched tor" not in log
            said = dropbox("status", "--data", instance, "--control-port", port,
                           "--control-socket", tmp_path / "no-socket", check=False)
            # Offline, tor builds no descriptor: status says the onions are not published.
            assert said.code == 1 and "PROBLEM: the site onion is not published" in said.out
            assert "Traceback" not in said.err
        finally:
            server.stop()
    finally:
        tor.terminate()
        tor.wait(timeout=30)


@pytest.mark.slow
def test_auto_launches_its_own_when_the_running_tor_refuses_it_and_says_why(instance, tmp_path):
    hashed = subprocess.run([require_tool("tor"), "--quiet", "--hash-password", "secret"],
                            capture_output=True, text=True, check=True).stdout.split()[-1]
    tor, port = _running_tor(tmp_path / "tor", "--HashedControlPassword", hashed)
    offline = tmp_path / "offline-torrc"
    offline.write_text("DisableNetwork 1\n")
    try:
        server = start_server(instance, args=("--tor", "auto", "--control-port", port,
                                              "--control-socket", str(tmp_path / "no-socket"),
                                              "--tor-config", str(offline)))
        try:
            wait_for("the onion address", lambda: ONION_URL.search("".join(server.log)), 60, 0.2)
            log = "".join(server.log)
            assert "not using the running tor" in log and "--control-password-file" in log
            assert "launched tor" in log
        finally:
            server.stop()
    finally:
        tor.terminate()
        tor.wait(timeout=30)
