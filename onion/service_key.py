"""The secret key of a v3 onion service, and the address it stands for.

An instance keeps its own key so that its address never changes across restarts:
`dropbox init` writes a random 32-byte ed25519 seed; a key imported from a tor
HiddenServiceDir is kept as tor wrote it (`hs_ed25519_secret_key`, the expanded key,
from which no seed can be recovered). Either way tor is handed the expanded key with
ADD_ONION, and the address is computed here first (rend-spec-v3, "Encoding onion
addresses"), so `dropbox` can check tor published what it asked for.
"""
from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from nacl.bindings import crypto_scalarmult_ed25519_base_noclamp

from keys.atomic_files import write_atomically

SEED_BYTES = 32
TOR_SECRET_HEADER = b"== ed25519v1-secret: type0 ==\x00\x00\x00"
VERSION = b"\x03"


class KeyFileError(Exception):
    """A service key file that is missing, damaged or not a v3 onion key; the message says which."""


@dataclass(frozen=True)
class ServiceKey:
    """tor's expanded ed25519 secret key: the clamped scalar, then the signing nonce prefix."""
    expanded: bytes = field(repr=False)

    @classmethod
    def from_seed(cls, seed: bytes) -> ServiceKey:
        digest = bytearray(hashlib.sha512(seed).digest())
        digest[0] &= 248
        digest[31] &= 127
        digest[31] |= 64
        return cls(bytes(digest))

    @classmethod
    def from_tor_file(cls, data: bytes) -> ServiceKey:
        """The contents of a HiddenServiceDir's `hs_ed25519_secret_key`."""
        if len(data) != len(TOR_SECRET_HEADER) + 64 or not data.startswith(TOR_SECRET_HEADER):
            raise KeyFileError("not a tor v3 onion service secret key (hs_ed25519_secret_key)")
        scalar = data[len(TOR_SECRET_HEADER):][:32]
        if scalar[0] & 7 or scalar[31] & 128 or not scalar[31] & 64:
            raise KeyFileError("the onion service secret key is damaged (not a clamped ed25519 key)")
        return cls(data[len(TOR_SECRET_HEADER):])

    @classmethod
    def load(cls, path: Path) -> ServiceKey:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise KeyFileError(f"cannot read the onion service key {path}: {exc.strerror}") from None
        return cls.from_seed(data) if len(data) == SEED_BYTES else cls.from_tor_file(data)

    @property
    def public_key(self) -> bytes:
        return crypto_scalarmult_ed25519_base_noclamp(self.expanded[:32])

    @property
    def service_id(self) -> str:
        """The address without `.onion`, as tor's ServiceID: base32(key | checksum | version)."""
        checksum = hashlib.sha3_256(b".onion checksum" + self.public_key + VERSION).digest()[:2]
        return base64.b32encode(self.public_key + checksum + VERSION).decode().lower()

    @property
    def address(self) -> str:
        return self.service_id + ".onion"

    @property
    def add_onion_blob(self) -> str:
        """The key argument of ADD_ONION."""
        return "ED25519-V3:" + base64.b64encode(self.expanded).decode()

    def tor_file(self) -> bytes:
        """What tor itself would write as `hs_ed25519_secret_key`."""
        return TOR_SECRET_HEADER + self.expanded


def write_new_seed(path: Path) -> ServiceKey:
    """A new random key at `path` (mode 0600), replacing whatever was there."""
    seed = os.urandom(SEED_BYTES)
    replace_secret(path, seed)
    return ServiceKey.from_seed(seed)


def import_tor_file(source: Path, path: Path) -> ServiceKey:
    """Keep an existing address: copy a checked `hs_ed25519_secret_key` to `path` (mode 0600)."""
    try:
        data = Path(source).read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read {source}: {exc.strerror}") from None
    key = ServiceKey.from_tor_file(data)
    replace_secret(path, data)
    return key


def replace_secret(path: Path, data: bytes) -> None:
    """Write a secret file atomically, readable by its owner only."""
    write_atomically(path, data, 0o600)
