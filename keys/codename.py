"""Codenames: what a reporter writes down, and what the server derives from it.

A codename is eight words drawn with `secrets` from the curated list: the EFF
large wordlist less the distressing words in `removed_words.txt` (6,865 words,
101.96 bits). Codenames made before the curation (seven words from the full
EFF list, about 90.5 bits) still log in. A codename is never stored. The server stretches it with
argon2id and turns the result, with the instance's two peppers, into an opaque
lookup id (stored) and the reporter's X25519 key pair (only the public half is
stored). Someone holding the database but not the peppers cannot test guesses;
someone holding both still pays one argon2id per guess.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from nacl.public import PrivateKey
from nacl.pwhash import argon2id

WORDS = 8
LEGACY_WORDS = 7  # codenames made before the curated list: seven words of the full EFF list
DESK_NAME_WORDS = 2
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
    def generate(cls) -> Peppers:
        return cls(secrets.token_bytes(PEPPER_SIZE), secrets.token_bytes(PEPPER_SIZE))


@dataclass(frozen=True)
class ReporterIdentity:
    lookup_id: str
    secret_key: PrivateKey

    @property
    def public_key(self) -> bytes:
        return bytes(self.secret_key.public_key)


def _read_words(name: str) -> list[str]:
    text = resources.files("keys").joinpath(name).read_text("ascii")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


@lru_cache(maxsize=1)
def eff_wordlist() -> tuple[str, ...]:
    """The whole EFF large wordlist: only to recognise codenames made before the curation."""
    return tuple(line.split()[-1] for line in _read_words("eff_large_wordlist.txt"))


@lru_cache(maxsize=1)
def removed_words() -> frozenset[str]:
    return frozenset(_read_words("removed_words.txt"))


@lru_cache(maxsize=1)
def wordlist() -> tuple[str, ...]:
    """The words new codenames and desk names are drawn from, in the EFF list's order."""
    removed = removed_words()
    return tuple(w for w in eff_wordlist() if w not in removed)


@lru_cache(maxsize=1)
def _known_words() -> frozenset[str]:
    return frozenset(wordlist())


@lru_cache(maxsize=1)
def _legacy_words() -> frozenset[str]:
    return frozenset(eff_wordlist())


@lru_cache(maxsize=1)
def _name_words() -> tuple[str, ...]:
    # Desk names join their words with "-", so only words without one.
    return tuple(w for w in wordlist() if w.isalpha())


def new_codename() -> str:
    words = wordlist()
    return " ".join(secrets.choice(words) for _ in range(WORDS))


# What separates words when a codename is copied by hand: anything but letters and hyphens
# (spaces, commas, full stops, the Arabic comma, the numbers of a numbered copy).
_SEPARATORS = re.compile(r"[^\w-]+|[\d_]+")


def _words_typed(codename: str) -> list[str]:
    """The words of what a reporter typed, in order, lower case. A hyphen is part of a word
    where the list has such a word ("t-shirt"), and otherwise separates words too."""
    words: list[str] = []
    for token in _SEPARATORS.split(codename.lower()):
        pieces = token.split("-")
        while pieces:
            joined = "-".join(pieces[:2])
            if len(pieces) > 1 and joined in _legacy_words():
                words.append(joined)
                del pieces[:2]
            else:
                if pieces[0]:
                    words.append(pieces[0])
                del pieces[0]
    return words


def _list_for(count: int) -> frozenset[str]:
    """The words a codename of `count` words is made of: seven are from the full EFF list
    (made before the curation), any other number is read as a curated codename."""
    return _legacy_words() if count == LEGACY_WORDS else _known_words()


def normalize(codename: str) -> str | None:
    """The canonical form of what a reporter typed, or None if it cannot be a codename.

    Case, spacing, punctuation and numbering are forgiven, since codenames are copied by
    hand. Eight words from the curated list, or seven from the full EFF list (made before
    the curation: those reporters must still get back in).
    """
    words = _words_typed(codename)
    if len(words) in (WORDS, LEGACY_WORDS) and all(w in _list_for(len(words)) for w in words):
        return " ".join(words)
    return None


def unknown_words(codename: str) -> list[tuple[int, str]]:
    """(place from 1, word) of each typed word that no codename holds: said from the list
    alone, so it tells nothing of whether a codename has a report."""
    words = _words_typed(codename)
    known = _list_for(len(words))
    return [(place, word) for place, word in enumerate(words, start=1) if word not in known]


def word_count(codename: str) -> int:
    return len(_words_typed(codename))


def desk_name(conversation_id: str, tries: int = 0) -> str:
    """The conversation's name on the desk and in `keys open`: words from the curated list.

    Derived from the conversation id alone, so the air-gapped machine names a
    conversation exactly as the desk does without being told. It is a label,
    not a secret. Two words; in the rare case that another conversation has
    those two already, the desk asks again with `tries` = 1, 2, … and gets the
    same words and one more (then a number), so the name still starts the same.
    """
    names = _name_words()
    digest = hashlib.blake2b(conversation_id.encode("ascii"), digest_size=32,
                             person=b"odbx-desk-name").digest()
    count = min(DESK_NAME_WORDS + tries, 4)
    name = "-".join(names[int.from_bytes(digest[8 * i:8 * i + 8], "big") % len(names)]
                    for i in range(count))
    return name if DESK_NAME_WORDS + tries <= 4 else f"{name}-{tries}"


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
