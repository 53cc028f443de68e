"""Every file in tests/vectors/ behaves as tests/vectors/index.json says (docs/FORMAT.md)."""
from __future__ import annotations

import base64
import hashlib
import re
import json
from pathlib import Path

import pytest
from nacl import bindings as sodium
from nacl.public import PrivateKey

from keys import envelope
from keys.codename import Peppers, StretchCost, derive
from keys.errors import FormatError
from keys.offline import open_bundle
from keys.responder import Responder, ResponderKey

VECTORS = Path(__file__).resolve().parent / "vectors"
INDEX = json.loads((VECTORS / "index.json").read_text())
KEYS = {name: PrivateKey(bytes.fromhex(k["secret_key"]))
        for name, k in json.loads((VECTORS / "keys.json").read_text()).items()}


def _label(entry: dict) -> str:
    return f"{entry['file']}:{','.join(entry.get('keys', [])) or entry['expect']}"


def _open_streaming(path: Path, key: PrivateKey) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as stream:
        for chunk in envelope.open_envelope(stream, key):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def test_vectors_stay_small_and_all_listed():
    listed = {entry["file"] for entry in INDEX["vectors"]}
    on_disk = {p.name for p in VECTORS.glob("*") if p.suffix in (".bin", ".key", ".pub")}
    assert listed == on_disk
    assert sum(p.stat().st_size for p in VECTORS.iterdir()) < 2 * 1024 * 1024


@pytest.mark.parametrize("entry", [e for e in INDEX["vectors"] if e["type"] == "envelope"], ids=_label)
def test_envelope_vector(entry):
    path = VECTORS / entry["file"]
    for name in entry["keys"]:
        if entry["expect"] == "good":
            assert _open_streaming(path, KEYS[name]) == (entry["plaintext_size"],
                                                          entry["plaintext_sha256"])
            assert hashlib.sha256(envelope.open_bytes(path.read_bytes(), KEYS[name])).hexdigest() \
                == entry["plaintext_sha256"]
        else:
            with pytest.raises(FormatError, match=entry["error"]):
                _open_streaming(path, KEYS[name])


@pytest.mark.parametrize("entry", [e for e in INDEX["vectors"] if e["type"] == "bundle"], ids=_label)
def test_bundle_vector(entry, tmp_path):
    key = ResponderKey(entry["keys"][0], KEYS[entry["keys"][0]])
    out = tmp_path / "out"
    if entry["expect"] == "good":
        report = open_bundle(VECTORS / entry["file"], key, out)
        assert (report.items, report.excluded, report.failures) == (entry["opened"], entry["excluded"], [])
        written = {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
                   for p in out.rglob("*") if p.is_file()}
        assert written == entry["files"]
    else:
        # A bundle that is not one at all raises; one damaged further on is reported as failed.
        try:
            failures = open_bundle(VECTORS / entry["file"], key, out).failures
        except FormatError as exc:
            failures = [str(exc)]
        assert failures and re.search(entry["error"], " ".join(failures))
        assert not [p for p in tmp_path.rglob("*") if ".partial" in p.name]


@pytest.mark.parametrize("entry", [e for e in INDEX["vectors"] if e["type"] == "secret-key"], ids=_label)
def test_secret_key_file_vector(entry):
    data = (VECTORS / entry["file"]).read_bytes()
    if entry["expect"] == "good":
        key = ResponderKey.unseal(data, entry["passphrase"])
        assert (key.name, bytes(key.secret_key).hex()) == (entry["name"], entry["secret_key"])
    else:
        with pytest.raises(FormatError, match=entry["error"]):
            ResponderKey.unseal(data, entry["passphrase"])


@pytest.mark.parametrize("entry", [e for e in INDEX["vectors"] if e["type"] == "public-key"], ids=_label)
def test_public_key_file_vector(entry):
    responder = Responder.load(VECTORS / entry["file"])
    assert responder.name == entry["name"]
    assert bytes(responder.public_key).hex() == entry["public_key"]
    assert responder.fingerprint == entry["fingerprint"]


@pytest.mark.parametrize("entry", INDEX["codenames"], ids=lambda e: e["codename"])
def test_codename_vector(entry):
    identity = derive(entry["codename"],
                      Peppers(bytes.fromhex(entry["lookup_pepper"]), bytes.fromhex(entry["key_pepper"])),
                      StretchCost(entry["opslimit"], entry["memlimit"]))
    assert identity.lookup_id == entry["lookup_id"]
    assert identity.public_key.hex() == entry["public_key"]


# The same vectors, computed from docs/FORMAT.md with libsodium and hashlib, not with keys/.

def _b2b(data: bytes, size: int, key: bytes = b"", person: bytes = b"") -> bytes:
    return hashlib.blake2b(data, digest_size=size, key=key, person=person).digest()


@pytest.mark.parametrize("entry", INDEX["codenames"], ids=lambda e: e["codename"])
def test_codename_vector_follows_the_spec(entry):
    lookup_pepper, key_pepper = bytes.fromhex(entry["lookup_pepper"]), bytes.fromhex(entry["key_pepper"])
    salt = _b2b(lookup_pepper, 16, person=b"odbx-salt")
    stretched = sodium.crypto_pwhash_alg(64, entry["codename"].encode("ascii"), salt, entry["opslimit"],
                                         entry["memlimit"], sodium.crypto_pwhash_ALG_ARGON2ID13)
    assert _b2b(stretched, 32, key=lookup_pepper, person=b"odbx-lookup").hex() == entry["lookup_id"]
    secret = _b2b(stretched, 32, key=key_pepper, person=b"odbx-reporter")
    assert sodium.crypto_scalarmult_base(secret).hex() == entry["public_key"]


def test_secret_key_file_vector_follows_the_spec():
    (entry,) = [e for e in INDEX["vectors"] if e["type"] == "secret-key" and e["expect"] == "good"]
    data = (VECTORS / entry["file"]).read_bytes()
    assert data[:7] == b"ODBXKEY" and data[7] == 1
    assert _b2b(data[:-32], 32, person=b"odbx-keyfile") == data[-32:]
    opslimit, memlimit = int.from_bytes(data[8:16], "big"), int.from_bytes(data[16:24], "big")
    salt, box = data[24:40], data[40:-32]
    box_key = sodium.crypto_pwhash_alg(32, entry["passphrase"].encode(), salt, opslimit, memlimit,
                                       sodium.crypto_pwhash_ALG_ARGON2ID13)
    opened = sodium.crypto_secretbox_open(box[24:], box[:24], box_key)
    assert (opened[:32].hex(), opened[32:].decode()) == (entry["secret_key"], entry["name"])


def test_public_key_file_vector_follows_the_spec():
    (entry,) = [e for e in INDEX["vectors"] if e["type"] == "public-key"]
    digest = _b2b(bytes.fromhex(entry["public_key"]), 10, person=b"odbx-fingerprint")
    text = base64.b32encode(digest).decode()
    assert " ".join(text[i:i + 4] for i in range(0, 16, 4)) == entry["fingerprint"]


def test_bundle_vector_follows_the_spec():
    data = (VECTORS / "bundle-good-export.bin").read_bytes()
    assert data[:8] == b"ODBXBDL\x01"
    end = 12 + int.from_bytes(data[8:12], "big")
    assert _b2b(data[:end], 32, person=b"odbx-manifest") == data[end:end + 32]
    assert _b2b(data[:-32], 32, person=b"odbx-bundle") == data[-32:]
    manifest = json.loads(data[12:end])
    sizes = [i["size"] for c in manifest["conversations"] for i in c["items"]]
    assert end + 32 + sum(sizes) + 32 == len(data)
