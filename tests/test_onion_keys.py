"""The instance's onion keys and addresses, checked against a real tor that stays offline
(DisableNetwork): the address we compute is the one tor returns for ADD_ONION and the one
it writes as `hostname` for the same key; an existing tor key can be imported; rotation and
desk access behave as the commands say.
"""
from __future__ import annotations

import base64
import os
import stat
import subprocess
import time
from pathlib import Path

import pytest
from nacl.public import PrivateKey

from conftest import BIN, dropbox, require_tool
from onion.service_key import ServiceKey
from onion.tor import Service, Tor

OFFLINE = {"DisableNetwork": ["1"]}


def tor_hostname_for(hs_dir: Path, tmp_path: Path) -> str:
    """Run tor with `hs_dir` as a HiddenServiceDir until it writes `hostname`."""
    tor = require_tool("tor")
    hs_dir.mkdir(mode=0o700, exist_ok=True)
    data = tmp_path / f"tor-{hs_dir.name}"
    data.mkdir(mode=0o700)
    process = subprocess.Popen(
        [tor, "--DataDirectory", str(data), "--DisableNetwork", "1", "--SocksPort", "0",
         "--HiddenServiceDir", str(hs_dir), "--HiddenServicePort", "80 127.0.0.1:9",
         "--Log", "err stderr"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None  # stderr=PIPE
    try:
        deadline = time.monotonic() + 120
        while not (hs_dir / "hostname").exists():
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "tor wrote no hostname"
            time.sleep(0.2)
        time.sleep(0.2)  # written in one go, but give it the moment to finish
        return (hs_dir / "hostname").read_text().strip()
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def offline_tor(tmp_path):
    require_tool("tor")
    tor = Tor.launch(tmp_path / "tor", OFFLINE)
    yield tor
    tor.close()


def test_computed_address_is_the_service_id_tor_returns_and_the_hostname_it_writes(
        offline_tor, tmp_path):
    key = ServiceKey.from_seed(os.urandom(32))
    assert offline_tor.publish(Service("reporter site", key, 9)) == key.address
    assert key.address.endswith("d.onion") and len(key.address) == 62  # version 3

    hs_dir = tmp_path / "hs"
    hs_dir.mkdir(mode=0o700)
    (hs_dir / "hs_ed25519_secret_key").write_bytes(key.tor_file())
    assert tor_hostname_for(hs_dir, tmp_path) == key.address


def test_instance_address_is_stable_and_its_key_readable_by_the_owner_only(instance):
    first = dropbox("onion", "address", "--data", instance).out.strip()
    assert first == dropbox("onion", "address", "--data", instance).out.strip()
    for name in ("onion-site-key", "onion-desk-key"):
        assert stat.S_IMODE((instance / "secrets" / name).stat().st_mode) == 0o600
    desk = dropbox("onion", "address", "--data", instance).err
    assert "desk: " in desk and first not in desk


def test_import_key_keeps_the_address_tor_made_for_a_hidden_service_dir(instance, tmp_path):
    hs_dir = tmp_path / "existing"
    address = tor_hostname_for(hs_dir, tmp_path)  # tor makes the key itself
    said = dropbox("onion", "import-key", hs_dir / "hs_ed25519_secret_key", "--data", instance)
    assert address in said.out
    assert dropbox("onion", "address", "--data", instance).out.strip() == address


def test_imported_key_is_published_at_its_address_by_tor(offline_tor, tmp_path):
    hs_dir = tmp_path / "existing"
    address = tor_hostname_for(hs_dir, tmp_path)
    key = ServiceKey.from_tor_file((hs_dir / "hs_ed25519_secret_key").read_bytes())
    assert offline_tor.publish(Service("reporter site", key, 9)) == address


@pytest.mark.parametrize("content", [b"", b"not a key at all", b"== ed25519v1-secret: type0 ==\0\0\0" + b"\x01" * 64,
                                     (b"== ed25519v1-secret: type0 ==\0\0\0" + bytes(64))[:70]],
                         ids=["empty", "garbage", "unclamped", "truncated"])
def test_import_key_refuses_what_is_not_an_onion_key_and_keeps_the_address(instance, tmp_path, content):
    before = dropbox("onion", "address", "--data", instance).out
    bad = tmp_path / "hs_ed25519_secret_key"
    bad.write_bytes(content)
    said = dropbox("onion", "import-key", bad, "--data", instance, check=False)
    assert said.code == 1 and "Error:" in said.err and "key" in said.err
    assert dropbox("onion", "address", "--data", instance).out == before


def test_import_key_names_a_missing_file(instance, tmp_path):
    said = dropbox("onion", "import-key", tmp_path / "nothing", "--data", instance, check=False)
    assert said.code == 1 and "cannot read" in said.err


def test_rotate_makes_a_new_address_only_when_confirmed(instance):
    before = dropbox("onion", "address", "--data", instance).out.strip()
    refused = subprocess.run([str(BIN / "dropbox"), "onion", "rotate",
                              "--data", str(instance)], input="n\n", capture_output=True, check=False, text=True)
    assert refused.returncode != 0
    assert dropbox("onion", "address", "--data", instance).out.strip() == before

    said = dropbox("onion", "rotate", "--yes", "--data", instance)
    after = dropbox("onion", "address", "--data", instance).out.strip()
    assert after != before and before in said.out and after in said.out
    assert stat.S_IMODE((instance / "secrets" / "onion-site-key").stat().st_mode) == 0o600


def test_desk_access_line_carries_the_secret_half_of_the_key_the_desk_keeps(instance):
    line = dropbox("onion", "desk-access", "add", "alexandra", "--data", instance).out.strip()
    desk_address = dropbox("onion", "address", "--data", instance).err.split("desk: ")[1].strip()
    service_id, kind, algorithm, secret = line.split(":")
    assert (service_id + ".onion", kind, algorithm) == (desk_address, "descriptor", "x25519")
    public = PrivateKey(base64.b32decode(secret + "====")).public_key
    stored = (instance / "desk-access" / "alexandra.auth").read_text().strip()
    assert stored == "descriptor:x25519:" + base64.b32encode(bytes(public)).decode().rstrip("=")
    assert secret not in stored


def test_desk_access_is_listed_refused_twice_and_revoked(instance):
    dropbox("onion", "desk-access", "add", "alexandra", "--data", instance)
    dropbox("onion", "desk-access", "add", "mario", "--data", instance)
    again = dropbox("onion", "desk-access", "add", "mario", "--data", instance, check=False)
    assert again.code == 1 and "has access already" in again.err
    assert dropbox("onion", "desk-access", "list", "--data", instance).out.split() == ["alexandra", "mario"]

    dropbox("onion", "desk-access", "remove", "mario", "--data", instance)
    assert dropbox("onion", "desk-access", "list", "--data", instance).out.split() == ["alexandra"]
    gone = dropbox("onion", "desk-access", "remove", "mario", "--data", instance, check=False)
    assert gone.code == 1 and "has no access" in gone.err


@pytest.mark.parametrize("name", ["../escape", "Alexandra", "", "x" * 33])
def test_desk_access_refuses_unusable_names(instance, name):
    said = dropbox("onion", "desk-access", "add", name, "--data", instance, check=False)
    assert said.code != 0 and "not a usable name" in said.err
    assert not list(instance.parent.glob("escape*"))


def test_damaged_desk_access_file_is_named(instance):
    dropbox("onion", "desk-access", "add", "alexandra", "--data", instance)
    (instance / "desk-access" / "alexandra.auth").write_text("descriptor:x25519:short\n")
    said = dropbox("onion", "desk-access", "list", "--data", instance, check=False)
    assert said.code == 1 and "alexandra.auth is damaged" in said.err
