"""Responder key pairs: the sealed secret key file and the shareable public key file.

`NAME.key` holds the X25519 secret key (and, from version 2, an Ed25519
signing key) sealed under a passphrase (argon2id, then secretbox), followed by
a checksum of the whole file so that a damaged file is told apart from a wrong
passphrase. `NAME.pub` is a short text file with the public key(s) and a
fingerprint people can read to each other. A version 1 key (v0.1.0) still
reads everything; it cannot sign, so it cannot write replies until
`keys upgrade-key` gives it a signing key.
"""
from __future__ import annotations

import base64
import hashlib
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

from nacl import secret
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey
from nacl.pwhash import argon2id
from nacl.signing import SigningKey, VerifyKey
from nacl.utils import random

from keys import strict
from keys.errors import FormatError

KEY_MAGIC = b"ODBXKEY"
KEY_VERSION = 2
KEY_VERSIONS = (1, 2)
PUB_FIRST_LINE = "# onion-dropbox responder public key v2 (safe to share)"
PUB_FIRST_LINE_V1 = "# onion-dropbox responder public key v1 (safe to share)"
MAX_PUB_FILE = 4096  # bytes
# What a key pair is for, as its public key file says: a responder's, that reports are sealed
# to, or a backup key's, that only `dropbox backup` seals to. Files made before the field have
# none (None): they are used as they were, for either.
PURPOSES = ("responder", "backup")
_PUB_BLANK = " \t"  # what a line and a field's name and value are trimmed of
_PUB_SPACE = " \t\r\n"  # and the whole file
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_PARAMS = struct.Struct(">BQQ")  # version, opslimit, memlimit
_CHECKSUM_SIZE = 32
# A damaged or hostile file must not make argon2id eat the air-gapped machine.
# libsodium SENSITIVE (4 passes, 1 GiB) is the most any real key file asks; writers use MODERATE.
_MAX_OPSLIMIT = 4
_MAX_MEMLIMIT = 1 << 30


def _file_checksum(body: bytes) -> bytes:
    return hashlib.blake2b(body, digest_size=_CHECKSUM_SIZE, person=b"odbx-keyfile").digest()


def check_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise FormatError(
            f"{name!r} is not a usable name: use 1-32 lower-case letters, digits, '-' or '_'")
    return name


def fingerprint(public_key: PublicKey, signing_key: VerifyKey | None = None) -> str:
    """Version 1 covers the box key; version 2 covers the box key and the signing key."""
    if signing_key is None:
        digest = hashlib.blake2b(bytes(public_key), digest_size=10, person=b"odbx-fingerprint").digest()
    else:
        digest = hashlib.blake2b(bytes(public_key) + bytes(signing_key), digest_size=10,
                                 person=b"odbx-fprint-v2").digest()
    text = base64.b32encode(digest).decode("ascii")
    return " ".join(text[i:i + 4] for i in range(0, len(text), 4))


@dataclass(frozen=True)
class Responder:
    """A responder as everyone may know them: a name, a public key and (v2) a signing key.

    `purpose` is what the public key file says the key is for (PURPOSES; None in files made
    before it was written). It is a label against mistakes, outside the fingerprint, so it
    takes no part in comparing keys either."""
    name: str
    public_key: PublicKey
    signing_key: VerifyKey | None = None
    purpose: str | None = field(default=None, compare=False)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key, self.signing_key)

    def to_pub_text(self) -> str:
        key = base64.b64encode(bytes(self.public_key)).decode("ascii")
        purpose = f"purpose: {self.purpose}\n" if self.purpose else ""
        if self.signing_key is None:
            return (f"{PUB_FIRST_LINE_V1}\nname: {self.name}\n{purpose}public-key: {key}\n"
                    f"fingerprint: {self.fingerprint}\n")
        signing = base64.b64encode(bytes(self.signing_key)).decode("ascii")
        return (f"{PUB_FIRST_LINE}\nname: {self.name}\n{purpose}public-key: {key}\n"
                f"signing-key: {signing}\nfingerprint: {self.fingerprint}\n")

    @classmethod
    def from_pub_text(cls, text: str) -> Responder:
        """A public key file's text (docs/FORMAT.md, "Public key file"): white space is ASCII
        only, so what a reader takes from a file never depends on its Unicode tables."""
        if len(text.encode("utf-8", errors="surrogatepass")) > MAX_PUB_FILE:
            raise FormatError("not an onion-dropbox public key file (too large)")
        lines = [line.rstrip("\r").strip(_PUB_BLANK) for line in text.strip(_PUB_SPACE).split("\n")]
        first = lines[0]
        if first not in (PUB_FIRST_LINE, PUB_FIRST_LINE_V1):
            raise FormatError("not an onion-dropbox public key file")
        fields: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = (part.strip(_PUB_BLANK) for part in line.split(":", 1))
                if name in fields:
                    raise FormatError(f"public key file is damaged: {name} appears twice")
                fields[name] = value
        wanted = ("name", "public-key", "fingerprint") + (
            ("signing-key",) if first == PUB_FIRST_LINE else ())
        if any(f not in fields for f in wanted):
            raise FormatError("public key file is damaged: name or key missing or unreadable")
        name = check_name(fields["name"])
        purpose = fields.get("purpose")
        if purpose is not None and purpose not in PURPOSES:
            raise FormatError(f"public key file is damaged: its purpose {purpose[:20]!r} is "
                              "neither responder nor backup")
        try:
            raw = strict.b64(fields["public-key"], 32, "public key file")
            signing = (VerifyKey(strict.b64(fields["signing-key"], 32, "public key file"))
                       if first == PUB_FIRST_LINE else None)
        except FormatError:
            raise FormatError("public key file is damaged: the key is unreadable or has the "
                              "wrong length") from None
        responder = cls(name, PublicKey(raw), signing, purpose)
        if fields["fingerprint"] != responder.fingerprint:
            raise FormatError("public key file is damaged: its fingerprint does not match its key")
        return responder

    @classmethod
    def load(cls, path: Path) -> Responder:
        try:
            with open(path, "rb") as stream:
                data = stream.read(MAX_PUB_FILE + 1)
            if len(data) > MAX_PUB_FILE:
                raise FormatError(f"{path} is not an onion-dropbox public key file (too large)")
            return cls.from_pub_text(data.decode("utf-8"))
        except UnicodeDecodeError:
            raise FormatError(f"{path} is not an onion-dropbox public key file") from None
        except OSError as exc:
            raise FormatError(f"cannot read {path}: {exc.strerror}") from None


@dataclass(frozen=True)
class ResponderKey:
    """A responder's secret key(s), once unlocked with the passphrase.

    `signing_key` is None for a version 1 key file: it reads, but cannot sign replies."""
    name: str
    secret_key: PrivateKey
    signing_key: SigningKey | None = None

    @property
    def responder(self) -> Responder:
        return Responder(self.name, self.secret_key.public_key,
                         None if self.signing_key is None else self.signing_key.verify_key)

    @classmethod
    def generate(cls, name: str) -> ResponderKey:
        return cls(check_name(name), PrivateKey.generate(), SigningKey.generate())

    def with_signing_key(self) -> ResponderKey:
        """The same box key with a fresh signing key: how a v0.1.0 key learns to sign."""
        return ResponderKey(self.name, self.secret_key, SigningKey.generate())

    def seal(self, passphrase: str, opslimit: int = argon2id.OPSLIMIT_MODERATE,
             memlimit: int = argon2id.MEMLIMIT_MODERATE) -> bytes:
        version = KEY_VERSION if self.signing_key is not None else 1
        salt = random(argon2id.SALTBYTES)
        box_key = argon2id.kdf(secret.SecretBox.KEY_SIZE, passphrase.encode("utf-8"), salt,
                               opslimit=opslimit, memlimit=memlimit)
        signing = b"" if self.signing_key is None else bytes(self.signing_key)
        plaintext = bytes(self.secret_key) + signing + self.name.encode("ascii")
        body = (KEY_MAGIC + _PARAMS.pack(version, opslimit, memlimit) + salt
                + bytes(secret.SecretBox(box_key).encrypt(plaintext)))
        return body + _file_checksum(body)

    @classmethod
    def unseal(cls, data: bytes, passphrase: str) -> ResponderKey:
        head = len(KEY_MAGIC) + _PARAMS.size
        if not data.startswith(KEY_MAGIC):
            raise FormatError("not an onion-dropbox secret key file")
        if len(data) < head + argon2id.SALTBYTES + _CHECKSUM_SIZE:
            raise FormatError("not an onion-dropbox secret key file (too short)")
        if len(data) > 4096:
            raise FormatError("not an onion-dropbox secret key file (too large)")
        body, checksum = data[:-_CHECKSUM_SIZE], data[-_CHECKSUM_SIZE:]
        if _file_checksum(body) != checksum:
            raise FormatError("secret key file is damaged (its checksum does not match)")
        version, opslimit, memlimit = _PARAMS.unpack(body[len(KEY_MAGIC):head])
        if version not in KEY_VERSIONS:
            raise FormatError(f"secret key file version {version} is not supported")
        if not (argon2id.OPSLIMIT_MIN <= opslimit <= _MAX_OPSLIMIT
                and argon2id.MEMLIMIT_MIN <= memlimit <= _MAX_MEMLIMIT):
            raise FormatError("secret key file asks for a cost no real key file has (from "
                              f"{argon2id.OPSLIMIT_MIN} to {_MAX_OPSLIMIT} passes and from "
                              f"{argon2id.MEMLIMIT_MIN >> 10} KiB to {_MAX_MEMLIMIT >> 20} MiB)")
        salt = body[head:head + argon2id.SALTBYTES]
        try:
            box_key = argon2id.kdf(secret.SecretBox.KEY_SIZE, passphrase.encode("utf-8"), salt,
                                   opslimit=opslimit, memlimit=memlimit)
            plaintext = secret.SecretBox(box_key).decrypt(body[head + argon2id.SALTBYTES:])
        except (CryptoError, ValueError):
            raise FormatError("wrong passphrase for this secret key file") from None
        keys = 64 if version == 2 else 32
        try:
            name = check_name(plaintext[keys:].decode("ascii"))
        except (UnicodeDecodeError, FormatError):
            raise FormatError("secret key file is damaged (its inner name is not a responder "
                              "name)") from None
        signing = SigningKey(plaintext[32:64]) if version == 2 else None
        return cls(name, PrivateKey(plaintext[:32]), signing)

    @classmethod
    def load(cls, path: Path, passphrase: str) -> ResponderKey:
        try:
            with open(path, "rb") as stream:
                data = stream.read(4097)
        except OSError as exc:
            raise FormatError(f"cannot read {path}: {exc.strerror}") from None
        return cls.unseal(data, passphrase)
