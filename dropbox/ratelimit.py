"""A global budget for failed codename logins, and the codenames that need none.

Every reporter arrives through tor, so per-address limits mean nothing: the
budget is shared by all. It refills steadily, and a guesser gets a few dozen
tries a minute against a codename of over 90 bits. But well-formed wrong
codenames (words of the public list) spend it as fast as it refills, and a
queue would not help: with everyone on one address, any queue a guesser can
join, they can fill. So a codename the server has seen since it started (made
here, or logged in with) is recognised without an argon2id run and let
through whatever the budget: `KnownCodenames` holds a 3-byte keyed tag of
each, under a key made at start-up and held only in memory. A guess whose tag
is not there needs the budget as before; a wrong guess shares a tag with one
of n codenames known with a chance of n in 2^24 (one in 16,800 for a
thousand), and then costs one argon2id run outside the budget. The tags tell
a guesser online only whether a guess shares one (an argon2id run takes
longer than a 429): 24 bits of some codename, of over 90. After a restart the
tags are gone, and a reporter's first login meets the budget again.
"""
from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict

TAG_BYTES = 3
# Tags kept; the oldest go first. 20 MiB at most.
MAX_KNOWN = 200_000


class FailureBudget:
    def __init__(self, per_minute: int):
        self._capacity = float(per_minute)
        self._rate = per_minute / 60.0
        self._tokens = self._capacity
        self._updated = time.monotonic()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
        self._updated = now

    def available(self) -> bool:
        """Whether one more failure may be tried now; checked before the costly derivation."""
        with self._lock:
            self._refill()
            return self._tokens >= 1

    def spend(self) -> None:
        with self._lock:
            self._refill()
            self._tokens = max(0.0, self._tokens - 1)


class KnownCodenames:
    """Short keyed tags of the codenames seen since start-up (see the module's docstring)."""

    def __init__(self, limit: int = MAX_KNOWN):
        self._key = secrets.token_bytes(32)
        self._limit = limit
        self._tags: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()

    def _tag(self, phrase: str) -> bytes:
        return hashlib.blake2b(phrase.encode(), key=self._key, digest_size=TAG_BYTES).digest()

    def add(self, phrase: str) -> None:
        tag = self._tag(phrase)
        with self._lock:
            self._tags[tag] = None
            self._tags.move_to_end(tag)
            while len(self._tags) > self._limit:
                self._tags.popitem(last=False)

    def __contains__(self, phrase: str) -> bool:
        tag = self._tag(phrase)
        with self._lock:
            return tag in self._tags
