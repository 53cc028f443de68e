"""v3 client authorization: who may even learn how to reach a restricted onion service.

Each client gets its own x25519 key pair. The service keeps only the public half, one
file per client in tor's own `authorized_clients` format (`NAME.auth`); the secret half
is printed once, as the line a client puts in Tor Browser or in a `ClientOnionAuthDir`
file. Removing a file revokes the client once the service is published again.
"""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path

from nacl.public import PrivateKey

NAME_PATTERN = re.compile(r"^[a-z0-9_-]{1,32}$")
PREFIX = "descriptor:x25519:"


class AccessError(Exception):
    """An unusable client name, an unknown client or a damaged `.auth` file."""


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=")


@dataclass(frozen=True)
class ClientGrant:
    name: str
    public_key: str  # base32, what ADD_ONION's ClientAuthV3 takes


class AccessList:
    """The clients allowed to reach one service: a folder of `NAME.auth` files."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def _path(self, name: str) -> Path:
        if not NAME_PATTERN.match(name):
            raise AccessError(f"{name!r} is not a usable name: use 1-32 lower-case letters, "
                              "digits, '-' or '_'")
        return self.folder / f"{name}.auth"

    def grant(self, name: str, service_id: str) -> str:
        """A new key pair for `name`; returns the client's line `<addr>:descriptor:x25519:<secret>`."""
        path = self._path(name)
        if path.exists():
            raise AccessError(f"{name} has access already; remove it first to give a new key")
        secret = PrivateKey.generate()
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.write_text(PREFIX + _b32(bytes(secret.public_key)) + "\n", "ascii")
        return f"{service_id}:{PREFIX}{_b32(bytes(secret))}"

    def revoke(self, name: str) -> None:
        path = self._path(name)
        if not path.exists():
            raise AccessError(f"{name} has no access")
        path.unlink()

    def grants(self) -> list[ClientGrant]:
        found = []
        for path in sorted(self.folder.glob("*.auth")):
            text = path.read_text("ascii", errors="replace").strip()
            key = text.removeprefix(PREFIX)
            if not text.startswith(PREFIX) or not re.fullmatch(r"[A-Z2-7]{52}", key):
                raise AccessError(f"{path} is damaged: expected one line '{PREFIX}<base32 key>'")
            found.append(ClientGrant(path.stem, key))
        return found

    def version(self) -> tuple:
        """Changes whenever a client is added or removed, cheap enough to poll."""
        return tuple(sorted((p.name, p.stat().st_mtime_ns) for p in self.folder.glob("*.auth")))
