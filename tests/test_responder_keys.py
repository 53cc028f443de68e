"""Responder key files: NAME.key opens only with its passphrase, NAME.pub is checked by fingerprint.

Sealing at the real cost runs argon2id with 256 MiB for most of a second, so
only the module fixture does it; tests about anything else use small costs.
"""
from __future__ import annotations

import base64
import hashlib
import struct

import pytest
from nacl.pwhash import argon2id

from keys.errors import FormatError
from keys.responder import KEY_MAGIC, Responder, ResponderKey, check_name

from keys_support import flip

PASSPHRASE = "a long and unlikely passphrase"
SMALL = {"opslimit": argon2id.OPSLIMIT_MIN, "memlimit": 8 * 1024 * 1024}
PARAMS = struct.Struct(">BQQ")


@pytest.fixture(scope="module")
def alice():
    return ResponderKey.generate("alice")


@pytest.fixture(scope="module")
def real_key_file(alice):
    """The one key file sealed at the real (MODERATE) cost."""
    return alice.seal(PASSPHRASE)


@pytest.fixture(scope="module")
def small_key_file(alice):
    return alice.seal(PASSPHRASE, **SMALL)


def with_checksum(body: bytes) -> bytes:
    return body + hashlib.blake2b(body, digest_size=32, person=b"odbx-keyfile").digest()


def test_key_file_opens_with_its_passphrase(alice, real_key_file):
    opened = ResponderKey.unseal(real_key_file, PASSPHRASE)
    assert opened.name == "alice"
    assert bytes(opened.secret_key) == bytes(alice.secret_key)
    assert opened.responder == alice.responder


def test_key_file_records_the_moderate_argon2id_cost(real_key_file):
    version, opslimit, memlimit = PARAMS.unpack_from(real_key_file, len(KEY_MAGIC))
    assert (version, opslimit, memlimit) == (2, argon2id.OPSLIMIT_MODERATE, argon2id.MEMLIMIT_MODERATE)


def test_two_seals_of_one_key_differ(alice, small_key_file):
    # Fresh salt and nonce each time: two copies of a key file do not show they hold the same key.
    assert alice.seal(PASSPHRASE, **SMALL) != small_key_file


def test_key_file_holds_no_plaintext_secret(alice, real_key_file):
    assert bytes(alice.secret_key) not in real_key_file
    assert b"alice" not in real_key_file


def test_wrong_passphrase_is_reported_as_wrong_passphrase(small_key_file):
    for wrong in ("", "a long and unlikely passphrase ", "A long and unlikely passphrase"):
        with pytest.raises(FormatError, match="wrong passphrase"):
            ResponderKey.unseal(small_key_file, wrong)


def test_any_flipped_byte_is_reported_as_damage_not_as_a_wrong_passphrase(small_key_file):
    for position in range(len(KEY_MAGIC), len(small_key_file)):
        with pytest.raises(FormatError, match="damaged"):
            ResponderKey.unseal(flip(small_key_file, position), PASSPHRASE)


def test_truncated_key_file_is_reported_as_damaged(small_key_file):
    for cut in (1, 10, 32, 60):
        with pytest.raises(FormatError, match="damaged"):
            ResponderKey.unseal(small_key_file[:-cut], PASSPHRASE)


def test_key_file_shorter_than_any_key_file_is_not_taken_for_one(small_key_file):
    """FORMAT.md, "Secret key file", step 1: under 72 bytes is not a key file (was "damaged")."""
    with pytest.raises(FormatError, match="not an onion-dropbox secret key file"):
        ResponderKey.unseal(small_key_file[:20], PASSPHRASE)


@pytest.mark.parametrize("data", [b"", b"hello", b"\x89PNG\r\n\x1a\n" + bytes(200),
                                  b"ODBXENV\x01\x01" + bytes(200)])
def test_foreign_file_is_not_taken_for_a_key_file(data):
    with pytest.raises(FormatError, match="not an onion-dropbox secret key file"):
        ResponderKey.unseal(data, PASSPHRASE)


def test_public_key_file_is_not_taken_for_a_secret_key_file(alice):
    with pytest.raises(FormatError, match="not an onion-dropbox secret key file"):
        ResponderKey.unseal(alice.responder.to_pub_text().encode(), PASSPHRASE)


def test_key_file_of_an_unknown_version_is_refused(small_key_file):
    body = bytearray(small_key_file[:-32])
    body[len(KEY_MAGIC)] = 3
    with pytest.raises(FormatError, match="version 3 is not supported"):
        ResponderKey.unseal(with_checksum(bytes(body)), PASSPHRASE)


@pytest.mark.parametrize("opslimit, memlimit", [(1000, 8 << 20), (3, 64 << 30), (2**63, 2**63),
                                               (64, 4 << 30), (0, 8 << 20), (1, 0), (4, 2 << 30),
                                               (5, 8 << 20)])
def test_key_file_asking_for_absurd_work_is_refused_without_running_it(small_key_file, opslimit, memlimit):
    # A hostile file must not make the air-gapped machine run argon2id with 64 GiB.
    body = (small_key_file[:len(KEY_MAGIC)] + PARAMS.pack(1, opslimit, memlimit)
            + small_key_file[len(KEY_MAGIC) + PARAMS.size:-32])
    with pytest.raises(FormatError, match="a cost no real key file has"):
        ResponderKey.unseal(with_checksum(body), PASSPHRASE)


def test_key_file_load_and_missing_file(tmp_path, alice, small_key_file):
    (tmp_path / "alice.key").write_bytes(small_key_file)
    assert ResponderKey.load(tmp_path / "alice.key", PASSPHRASE).name == "alice"
    with pytest.raises(FormatError, match="cannot read"):
        ResponderKey.load(tmp_path / "bob.key", PASSPHRASE)


def test_public_key_file_round_trip(tmp_path, alice):
    path = tmp_path / "alice.pub"
    path.write_text(alice.responder.to_pub_text())
    loaded = Responder.load(path)
    assert loaded == alice.responder
    assert loaded.fingerprint == alice.responder.fingerprint


def test_public_key_file_says_it_is_safe_to_share_and_shows_the_fingerprint(alice):
    text = alice.responder.to_pub_text()
    assert text.splitlines()[0] == "# onion-dropbox responder public key v2 (safe to share)"
    assert f"fingerprint: {alice.responder.fingerprint}" in text.splitlines()


def test_fingerprint_is_four_groups_of_four_readable_characters(alice):
    groups = alice.responder.fingerprint.split(" ")
    assert [len(g) for g in groups] == [4, 4, 4, 4]
    assert all(c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" for c in "".join(groups))
    assert ResponderKey.generate("alice").responder.fingerprint != alice.responder.fingerprint


def test_public_key_file_with_a_damaged_fingerprint_is_refused(alice):
    text = alice.responder.to_pub_text()
    fp = alice.responder.fingerprint
    damaged = text.replace(fp, ("B" if fp[0] == "A" else "A") + fp[1:])
    with pytest.raises(FormatError, match="fingerprint does not match"):
        Responder.from_pub_text(damaged)


def test_public_key_file_with_a_swapped_key_is_refused(alice):
    other = base64.b64encode(bytes(ResponderKey.generate("mallory").secret_key.public_key)).decode()
    mine = base64.b64encode(bytes(alice.secret_key.public_key)).decode()
    with pytest.raises(FormatError, match="fingerprint does not match"):
        Responder.from_pub_text(alice.responder.to_pub_text().replace(mine, other))


@pytest.mark.parametrize("change", [
    lambda t: t.replace("public-key:", "public_key:"),
    lambda t: "\n".join(line for line in t.splitlines() if not line.startswith("name:")),
    lambda t: t.replace("public-key: ", "public-key: !!"),
    lambda t: t.replace("public-key: ", "public-key: AAAA"),
])
def test_public_key_file_with_a_missing_or_unreadable_field_is_refused(alice, change):
    with pytest.raises(FormatError, match="public key file is damaged"):
        Responder.from_pub_text(change(alice.responder.to_pub_text()))


@pytest.mark.parametrize("text", ["", "name: alice\n", "-----BEGIN PGP PUBLIC KEY BLOCK-----\n"])
def test_foreign_public_key_file_is_refused(tmp_path, text):
    with pytest.raises(FormatError, match="not an onion-dropbox public key file"):
        Responder.from_pub_text(text)
    (tmp_path / "binary.pub").write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(FormatError, match="not an onion-dropbox public key file"):
        Responder.load(tmp_path / "binary.pub")


@pytest.mark.parametrize("name", ["a", "alice", "bob-2", "code_of_conduct", "0", "a" * 32])
def test_good_names_are_accepted(name):
    assert check_name(name) == name
    assert ResponderKey.generate(name).name == name


@pytest.mark.parametrize("name", ["", "Alice", "-alice", "_alice", "a" * 33, "al ice", "../x",
                                  "alice/", "alice.key", "élodie", "alice\x00"])
def test_bad_names_are_refused(name):
    with pytest.raises(FormatError, match="not a usable name"):
        check_name(name)
    with pytest.raises(FormatError):
        ResponderKey.generate(name)


def test_name_with_a_trailing_newline_is_refused():
    with pytest.raises(FormatError, match="not a usable name"):
        check_name("alice\n")
