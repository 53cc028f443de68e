"""Responder key pairs: the sealed secret key file and the shareable public key file.

`NAME.key` holds the X25519 secret key sealed under a passphrase (argon2id,
then secretbox), followed by a checksum of the whole file so that a damaged
file is told apart from a wrong passphrase. `NAME.pub` is a short text file
with the public key and a fingerprint people can read to each other.
"""
from __future__ import annotations

import base64
import hashlib
import re
import struct
from dataclasses import dataclass
from pathlib import Path

from nacl import secret
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey
from nacl.pwhash import argon2id
from nacl.utils import random

from keys.errors import FormatError

KEY_MAGIC = b"ODBXKEY"
KEY_VERSION = 1
PUB_FIRST_LINE = "# onion-dropbox responder public key v1 (safe to share)"
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_PARAMS = struct.Struct(">BQQ")  # version, opslimit, memlimit
_CHECKSUM_SIZE = 32
# A damaged or hostile file must not make argon2id eat the air-gapped machine.
_MAX_OPSLIMIT = 64
_MAX_MEMLIMIT = 4 << 30


def _file_checksum(body: bytes) -> bytes:
    return hashlib.blake2b(body, digest_size=_CHECKSUM_SIZE, person=b"odbx-keyfile").digest()


def check_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise FormatError(
            f"{name!r} is not a usable name: use 1-32 lower-case letters, digits, '-' or '_'")
    return name


def fingerprint(public_key: PublicKey) -> str:
    digest = hashlib.blake2b(bytes(public_key), digest_size=10, person=b"odbx-fingerprint").digest()
    text = base64.b32encode(digest).decode("ascii")
    return " ".join(text[i:i + 4] for i in range(0, len(text), 4))


@dataclass(frozen=True)
class Responder:
    """A responder as everyone may know them: a name and a public key."""
    name: str
    public_key: PublicKey

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key)

    def to_pub_text(self) -> str:
        key = base64.b64encode(bytes(self.public_key)).decode("ascii")
        return (f"{PUB_FIRST_LINE}\nname: {self.name}\npublic-key: {key}\n"
                f"fingerprint: {self.fingerprint}\n")

    @classmethod
    def from_pub_text(cls, text: str) -> "Responder":
        lines = text.strip().splitlines()
        if not lines or lines[0].strip() != PUB_FIRST_LINE:
            raise FormatError("not an onion-dropbox public key file")
        fields = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
        fields = {k.strip(): v.strip() for k, v in fields.items()}
        try:
            raw = base64.b64decode(fields["public-key"], validate=True)
            name = check_name(fields["name"])
        except (KeyError, ValueError):
            raise FormatError("public key file is damaged: name or key missing or unreadable") from None
        if len(raw) != 32:
            raise FormatError("public key file is damaged: the key has the wrong length")
        responder = cls(name, PublicKey(raw))
        if fields.get("fingerprint") != responder.fingerprint:
            raise FormatError("public key file is damaged: its fingerprint does not match its key")
        return responder

    @classmethod
    def load(cls, path: Path) -> "Responder":
        try:
            return cls.from_pub_text(Path(path).read_text("utf-8"))
        except UnicodeDecodeError:
            raise FormatError(f"{path} is not an onion-dropbox public key file") from None
        except OSError as exc:
            raise FormatError(f"cannot read {path}: {exc.strerror}") from None


@dataclass(frozen=True)
class ResponderKey:
    """A responder's secret key, once unlocked with the passphrase."""
    name: str
    secret_key: PrivateKey

    @property
    def responder(self) -> Responder:
        return Responder(self.name, self.secret_key.public_key)

    @classmethod
    def generate(cls, name: str) -> "ResponderKey":
        return cls(check_name(name), PrivateKey.generate())

    def seal(self, passphrase: str, opslimit: int = argon2id.OPSLIMIT_MODERATE,
             memlimit: int = argon2id.MEMLIMIT_MODERATE) -> bytes:
        salt = random(argon2id.SALTBYTES)
        box_key = argon2id.kdf(secret.SecretBox.KEY_SIZE, passphrase.encode("utf-8"), salt,
                               opslimit=opslimit, memlimit=memlimit)
        plaintext = bytes(self.secret_key) + self.name.encode("ascii")
        body = (KEY_MAGIC + _PARAMS.pack(KEY_VERSION, opslimit, memlimit) + salt
                + bytes(secret.SecretBox(box_key).encrypt(plaintext)))
        return body + _file_checksum(body)

    @classmethod
    def unseal(cls, data: bytes, passphrase: str) -> "ResponderKey":
        head = len(KEY_MAGIC) + _PARAMS.size
        if not data.startswith(KEY_MAGIC):
            raise FormatError("not an onion-dropbox secret key file")
        if len(data) < head + argon2id.SALTBYTES + _CHECKSUM_SIZE:
            raise FormatError("secret key file is damaged (truncated)")
        body, checksum = data[:-_CHECKSUM_SIZE], data[-_CHECKSUM_SIZE:]
        if _file_checksum(body) != checksum:
            raise FormatError("secret key file is damaged (its checksum does not match)")
        version, opslimit, memlimit = _PARAMS.unpack(body[len(KEY_MAGIC):head])
        if version != KEY_VERSION:
            raise FormatError(f"secret key file version {version} is not supported")
        if opslimit > _MAX_OPSLIMIT or memlimit > _MAX_MEMLIMIT:
            raise FormatError("secret key file asks for more work than any real key file does")
        salt = body[head:head + argon2id.SALTBYTES]
        try:
            box_key = argon2id.kdf(secret.SecretBox.KEY_SIZE, passphrase.encode("utf-8"), salt,
                                   opslimit=opslimit, memlimit=memlimit)
            plaintext = secret.SecretBox(box_key).decrypt(body[head + argon2id.SALTBYTES:])
        except (CryptoError, ValueError):
            raise FormatError("wrong passphrase for this secret key file") from None
        return cls(plaintext[32:].decode("ascii"), PrivateKey(plaintext[:32]))

    @classmethod
    def load(cls, path: Path, passphrase: str) -> "ResponderKey":
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise FormatError(f"cannot read {path}: {exc.strerror}") from None
        return cls.unseal(data, passphrase)
