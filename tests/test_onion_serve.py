"""`dropbox serve` and tor: the life cycle of the onion services with a real tor kept
offline (DisableNetwork), the loud fall-back without tor, attaching to a running tor, the
desk published again when access changes, and the Host check against tor2web gateways.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from conftest import dropbox, require_tool, start_server
from support.commands import invoke
from tornet import wait_for

ONION_URL = re.compile(r"reporter site: http://([a-z2-7]{56}\.onion)/")


@pytest.fixture
def offline_torrc(tmp_path) -> Path:
    require_tool("tor")
    torrc = tmp_path / "offline-torrc"
    torrc.write_text("DisableNetwork 1\n")
    return torrc


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purposes
    return "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()


def launched_tor_pid(server) -> int:
    found = wait_for("serve to launch tor", lambda: re.search(r"launched tor \S+ \(pid (\d+)\)",
                                                              "".join(server.log)), 60, every=0.2)
    return int(found.group(1))


@pytest.mark.slow  # a real tor
def test_serve_publishes_the_instance_address_and_on_sigterm_removes_it_and_stops_tor(
        instance, offline_torrc):
    server = start_server(instance, args=("--tor", "launch", "--tor-config", str(offline_torrc)))
    try:
        tor_pid = launched_tor_pid(server)
        found = wait_for("the onion address", lambda: ONION_URL.search("".join(server.log)), 60, 0.2)
        assert found.group(1) == dropbox("onion", "address", "--data", instance).out.strip()
        assert "proof-of-work defences: on" in wait_for(
            "the proof-of-work line", lambda: "proof-of-work" in "".join(server.log) and "".join(server.log), 30, 0.2)
        assert requests.get(server.url, timeout=30).status_code == 200
        assert alive(tor_pid)
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=60) == 0
    finally:
        server.stop()
    wait_for("the launched tor to exit", lambda: not alive(tor_pid), 60, 0.5)
    assert "onion services removed, tor stopped" in "".join(server.log)


@pytest.mark.slow  # a real tor
def test_serve_says_so_and_exits_non_zero_when_tor_dies(instance, offline_torrc):
    server = start_server(instance, args=("--tor", "launch", "--tor-config", str(offline_torrc)))
    try:
        tor_pid = launched_tor_pid(server)
        wait_for("the onion address", lambda: ONION_URL.search("".join(server.log)), 60, 0.2)
        os.kill(tor_pid, signal.SIGKILL)
        assert server.process.wait(timeout=60) != 0
    finally:
        server.stop()
    assert "tor has stopped" in "".join(server.log)


def test_auto_without_tor_installed_serves_loopback_and_warns_loudly(instance):
    server = start_server(instance, env={"PATH": "/nonexistent"}, args=("--tor", "auto"))
    try:
        assert requests.get(server.url, timeout=30).status_code == 200
    finally:
        server.stop()
    said = "".join(server.log)
    assert "tor is not installed" in said and "NOT an onion service" in said
    assert ".onion" not in said


def test_serve_refuses_a_tor_config_it_cannot_read(instance, tmp_path):
    said = dropbox("serve", "--data", instance, "--port", "0", "--tor", "launch",
                   "--tor-config", tmp_path / "missing", check=False)
    assert said.code == 1 and "cannot read" in said.err


@pytest.mark.slow  # a real tor
def test_serve_attaches_to_a_running_tor_with_a_password_and_leaves_it_running(
        instance, tmp_path):
    tor = require_tool("tor")
    password = "a control password"
    hashed = subprocess.run([tor, "--quiet", "--hash-password", password], capture_output=True,
                            text=True, check=True).stdout.strip().splitlines()[-1]
    data = tmp_path / "system-tor"
    data.mkdir(mode=0o700)
    port_file = data / "control-port"
    system_tor = subprocess.Popen(
        [tor, "--DataDirectory", str(data), "--DisableNetwork", "1", "--SocksPort", "0",
         "--ControlPort", "auto", "--ControlPortWriteToFile", str(port_file),
         "--HashedControlPassword", hashed, "--Log", "err stderr"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port = wait_for("tor's control port", lambda: port_file.exists() and
                        port_file.read_text().strip().rsplit(":", 1)[1], 60, 0.2)
        wrong = tmp_path / "wrong"
        wrong.write_text("not the password\n")
        refused = dropbox("serve", "--data", instance, "--port", "0", "--tor", "system",
                          "--control-port", port, "--control-password-file", wrong, check=False)
        assert refused.code == 1 and "refused" in refused.err

        right = tmp_path / "password"
        right.write_text(password + "\n")
        server = start_server(instance, args=("--tor", "system", "--control-port", port,
                                              "--control-password-file", str(right)))
        try:
            found = wait_for("the onion address", lambda: ONION_URL.search("".join(server.log)), 60, 0.2)
            assert found.group(1) == dropbox("onion", "address", "--data", instance).out.strip()
            server.process.send_signal(signal.SIGTERM)
            assert server.process.wait(timeout=60) == 0
        finally:
            server.stop()
        assert "onion services removed" in "".join(server.log)
        assert "tor stopped" not in "".join(server.log)
        time.sleep(1)
        assert system_tor.poll() is None  # someone else's tor keeps running
    finally:
        system_tor.terminate()
        system_tor.wait(timeout=30)


def test_system_without_a_control_port_says_what_to_do(instance):
    said = dropbox("serve", "--data", instance, "--port", "0", "--tor", "system",
                   "--control-port", "1", check=False)
    assert said.code == 1 and "no tor control port" in said.err


@pytest.mark.slow  # a real tor
def test_desk_is_published_again_when_access_changes_and_taken_down_when_none_is_left(
        instance, offline_torrc):
    dropbox("onion", "desk-access", "add", "alexandra", "--data", instance)
    server = start_server(instance, args=("--tor", "launch", "--tor-config", str(offline_torrc),
                                          "--desk-port", "0"))
    log = lambda: "".join(server.log)  # noqa: E731
    try:
        wait_for("the desk for 1", lambda: "desk (client authorization, 1 responder(s))" in log(), 60, 0.2)
        dropbox("onion", "desk-access", "add", "mario", "--data", instance)
        wait_for("the desk for 2", lambda: "desk (client authorization, 2 responder(s))" in log(), 60, 0.5)
        dropbox("onion", "desk-access", "remove", "mario", "--data", instance)
        dropbox("onion", "desk-access", "remove", "alexandra", "--data", instance)
        wait_for("the desk to be taken down", lambda: "the desk is not published" in log(), 60, 0.5)
        assert server.process.poll() is None
    finally:
        server.stop()


def test_request_through_another_host_gets_the_tor2web_warning_not_the_site(reporter, instance):
    address = invoke("onion", "address", "--data", instance).out.strip()
    for host in ("gateway.example", f"{address}.to", "203.0.113.9:8080", f"{address[:-8]}x.onion"):
        page = reporter.http.get(reporter.base_url, headers={"Host": host}, timeout=30)
        assert page.status_code == 403
        assert "anonymity is at risk" in page.text and address in page.text
        assert "Start a new report" not in page.text and "<form" not in page.text
        assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    post = reporter.http.post(reporter.base_url + "start", headers={"Host": "gateway.example"}, timeout=30)
    assert post.status_code == 403 and "anonymity is at risk" in post.text


def test_site_answers_to_its_onion_address_and_to_loopback(reporter, instance):
    address = invoke("onion", "address", "--data", instance).out.strip()
    for host in (address, f"{address}:80", address.upper(), "localhost:8080", "127.0.0.1", "[::1]:80"):
        page = reporter.http.get(reporter.base_url, headers={"Host": host}, timeout=30)
        assert page.status_code == 200, host
        assert "Start a new report" in page.text
