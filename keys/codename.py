"""Codenames: what a reporter writes down, and what the server derives from it.

A codename is seven words drawn with `secrets` from the EFF large wordlist
(7776 words, about 90 bits). It is never stored. The server stretches it with
argon2id and turns the result, with the instance's two peppers, into an opaque
lookup id (stored) and the reporter's X25519 key pair (only the public half is
stored). Someone holding the database but not the peppers cannot test guesses;
someone holding both still pays one argon2id per guess.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from nacl.public import PrivateKey
from nacl.pwhash import argon2id

WORDS = 7
PEPPER_SIZE = 32


@dataclass(frozen=True)
class StretchCost:
    """argon2id parameters; kept in the instance config so they never change under it."""
    opslimit: int = argon2id.OPSLIMIT_INTERACTIVE
    memlimit: int = argon2id.MEMLIMIT_INTERACTIVE


@dataclass(frozen=True)
class Peppers:
    lookup: bytes
    key: bytes

    @classmethod
    def generate(cls) -> "Peppers":
        return cls(secrets.token_bytes(PEPPER_SIZE), secrets.token_bytes(PEPPER_SIZE))


@dataclass(frozen=True)
class ReporterIdentity:
    lookup_id: str
    secret_key: PrivateKey

    @property
    def public_key(self) -> bytes:
        return bytes(self.secret_key.public_key)


@lru_cache(maxsize=1)
def wordlist() -> tuple[str, ...]:
    text = resources.files("keys").joinpath("eff_large_wordlist.txt").read_text("ascii")
    return tuple(text.split())


@lru_cache(maxsize=1)
def _known_words() -> frozenset[str]:
    return frozenset(wordlist())


def new_codename() -> str:
    words = wordlist()
    return " ".join(secrets.choice(words) for _ in range(WORDS))


def normalize(codename: str) -> str | None:
    """The canonical form of what a reporter typed, or None if it cannot be a codename.

    Case and spacing are forgiven, since codenames are copied by hand.
    """
    words = codename.lower().split()
    known = _known_words()
    if len(words) != WORDS or not all(w in known for w in words):
        return None
    return " ".join(words)


def derive(codename: str, peppers: Peppers, cost: StretchCost) -> ReporterIdentity:
    """The lookup id and key pair for a normalized codename."""
    salt = hashlib.blake2b(peppers.lookup, digest_size=argon2id.SALTBYTES,
                           person=b"odbx-salt").digest()
    stretched = argon2id.kdf(64, codename.encode("ascii"), salt,
                             opslimit=cost.opslimit, memlimit=cost.memlimit)
    lookup = hashlib.blake2b(stretched, key=peppers.lookup, digest_size=32,
                             person=b"odbx-lookup").hexdigest()
    seed = hashlib.blake2b(stretched, key=peppers.key, digest_size=32,
                           person=b"odbx-reporter").digest()
    return ReporterIdentity(lookup, PrivateKey(seed))
