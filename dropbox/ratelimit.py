"""A global budget for failed codename logins, and the codenames that need none.

Every reporter arrives through tor, so per-address limits mean nothing: the
budget is shared by all. It refills steadily, and a guesser gets a few dozen
tries a minute against a codename of 101.96 bits (90.47 if made before the
curated list). But well-formed wrong codenames (words of the public list)
spend it as fast as it refills, and a queue would not help: with everyone on
one address, any queue a guesser can join, they can fill. So a codename that has a conversation is recognised
without an argon2id run and let through whatever the budget: each
conversation stores a 3-byte keyed tag of its codename (`codename_tag`, under
`secrets/codename-tag-key`), set when it is made and at each login, so it
holds across restarts, and a conversation made before tags existed gains its
tag at its reporter's next login. A guess whose tag no conversation has needs
the budget as before; a wrong guess shares a tag with one of n conversations
with a chance of n in 2^24 (one in 16,800 for a thousand), and then costs one
argon2id run outside the budget. A tag is a filter, not an identifier: the
tags tell a guesser online only whether a guess shares one (an argon2id run
takes longer than a 429): 24 bits of some codename's 101.96.
"""
from __future__ import annotations

import hashlib
import threading
import time

TAG_BYTES = 3


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


def codename_tag(phrase: str, key: bytes) -> bytes:
    """The short keyed tag stored beside a conversation (the module's docstring)."""
    return hashlib.blake2b(phrase.encode(), key=key, digest_size=TAG_BYTES,
                           person=b"odbx-login-tag").digest()
