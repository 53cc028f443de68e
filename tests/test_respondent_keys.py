"""The air-gapped side of the person reported (docs/FORMAT.md, "The person reported"): `keys open`
shows their response as theirs, and `keys reply --to-respondent` writes to them alone, never to
the reporter. Built on the test vectors' conversation A and its invitation."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from keys import envelope
from keys.bundle import readers_digest, read_reply_file
from keys.cli import main as keys_main
from keys.errors import FormatError
from keys.items import split_item
from keys.opening import open_bundle
from keys.replying import write_reply
from keys.responder import ResponderKey

VECTORS = Path(__file__).resolve().parent / "vectors"
KEY_DATA = json.loads((VECTORS / "keys.json").read_text())
CONV_A = "a" * 16 + "0123456789abcdef"
INVITATION = "e" * 16 + "0123456789abcdef"


def _key(name: str) -> ResponderKey:
    data = KEY_DATA[name]
    return ResponderKey(name, PrivateKey(bytes.fromhex(data["secret_key"])),
                        SigningKey(bytes.fromhex(data["signing_seed"])))


@pytest.fixture
def trusted(tmp_path) -> Path:
    """alice's machine, with bob's key pinned."""
    folder = tmp_path / "trusted"
    folder.mkdir(mode=0o700)
    (folder / "bob.pub").write_text(_key("bob").responder.to_pub_text())
    (folder / "bob.pub").chmod(0o600)
    return folder


def _reply(path: Path):
    with open(path, "rb") as stream:
        return read_reply_file(stream)


def _opens(reply, name: str) -> bytes:
    key = PrivateKey(bytes.fromhex(KEY_DATA[name]["secret_key"]))
    meta, body = split_item(envelope.open_envelope(io.BytesIO(reply.envelope), key))
    assert meta.kind == "reply"
    return b"".join(body)


def test_reply_to_the_person_reported_is_sealed_to_their_invitation_and_the_readers(tmp_path, trusted):
    out = tmp_path / "to-them.odbx"
    write_reply(VECTORS / "bundle-good-respondent.bin", CONV_A, _key("alice"), "We heard you.\n", out,
                trusted, invitation=INVITATION)
    reply = _reply(out)
    assert (reply.item.origin, reply.item.invitation, reply.item.position) == ("to-respondent", INVITATION, 2)
    for reader in ("respondent", "alice", "bob"):
        assert _opens(reply, reader) == b"We heard you.\n"
    with pytest.raises(FormatError, match="not among"):
        _opens(reply, "reporter")
    keys = [PrivateKey(bytes.fromhex(KEY_DATA[n]["secret_key"])).public_key for n in ("respondent", "alice", "bob")]
    assert reply.item.proof.readers == readers_digest(keys)
    assert envelope.read_header(io.BytesIO(reply.envelope)).binding == \
        envelope.Binding(CONV_A, "to-respondent", 2)


def test_a_reply_to_the_reporter_from_the_same_bundle_never_reaches_the_person_reported(tmp_path, trusted):
    out = tmp_path / "to-reporter.odbx"
    write_reply(VECTORS / "bundle-good-export.bin", CONV_A, _key("alice"), "Thank you.\n", out, trusted)
    reply = _reply(out)
    assert (reply.item.origin, reply.item.invitation, reply.item.position) == ("team", None, 3)
    assert _opens(reply, "reporter") == b"Thank you.\n"
    with pytest.raises(FormatError, match="not among"):
        _opens(reply, "respondent")


def test_reply_to_an_invitation_the_bundle_does_not_list_fails_with_one_line(tmp_path, trusted, capsys):
    key_file = tmp_path / "alice.key"
    key_file.write_bytes(_key("alice").seal("correct horse battery staple", opslimit=1, memlimit=8 << 20))
    (tmp_path / "passphrase").write_text("correct horse battery staple\n")
    (tmp_path / "message.txt").write_text("Hello.\n")
    common = [str(VECTORS / "bundle-good-respondent.bin"), CONV_A, "--key", str(key_file),
              "--message-file", str(tmp_path / "message.txt"), "--out", str(tmp_path / "r.odbx"),
              "--trusted", str(trusted), "--passphrase-file", str(tmp_path / "passphrase")]
    assert keys_main(["reply", *common, "--to-respondent", "c" * 32]) == 1
    assert "is not one of conversation" in capsys.readouterr().err
    assert keys_main(["reply", *common, "--to-respondent", "../" + "c" * 32]) == 1
    assert "--to-respondent" in capsys.readouterr().err
    assert not (tmp_path / "r.odbx").exists()


def test_open_names_the_response_as_from_the_person_reported(tmp_path):
    report = open_bundle(VECTORS / "bundle-good-respondent.bin", _key("alice"), tmp_path / "out")
    assert report.failures == []
    index = next((tmp_path / "out").rglob("index.txt"), None)
    text = "".join(p.read_text() for p in (tmp_path / "out").rglob("index.txt"))
    assert index is not None and f"response from the person reported (invitation {INVITATION})" in text
    assert "to the person reported" in text
