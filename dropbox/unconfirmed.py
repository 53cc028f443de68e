"""New codenames, held in server memory only until the reporter has written them down.

A codename is shown on the page after "Start" and again on that page until the reporter
confirms they have written it down; then it is forgotten, and only what it derives to is
kept (reporter.py). A session is forgotten only after an idle hour, and only when a later
request looks at it, so the codename is not kept there: the session holds a random handle,
and the codename waits here, for `seconds` at most. A sweeper thread forgets each one when
its time is up, whether or not anyone asks for a page meanwhile; confirming, asking for a
different codename or leaving the session forgets it at once. Python cannot wipe the memory
a string leaves behind: "forgotten" means that nothing in the server refers to it any more.
"""
from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict


class UnconfirmedCodenames:
    def __init__(self, seconds: float):
        self._seconds = seconds
        self._changed = threading.Condition()
        # handle → (when it is forgotten, codename); oldest first, so also soonest first.
        self._held: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._sweeper: threading.Thread | None = None

    def hold(self, codename: str) -> str:
        """Keep `codename` for at most `seconds`; returns the handle a session keeps instead."""
        handle = secrets.token_urlsafe(16)
        with self._changed:
            self._held[handle] = (time.monotonic() + self._seconds, codename)
            if self._sweeper is None:
                self._sweeper = threading.Thread(target=self._sweep, name="codename sweeper", daemon=True)
                self._sweeper.start()
            self._changed.notify()
        return handle

    def get(self, handle: str) -> str | None:
        """The codename under `handle`; None once it is forgotten."""
        with self._changed:
            self._forget_expired(time.monotonic())
            held = self._held.get(handle)
            return held[1] if held else None

    def forget(self, handle: str) -> None:
        with self._changed:
            self._held.pop(handle, None)

    def __len__(self) -> int:
        with self._changed:
            return len(self._held)

    def _forget_expired(self, now: float) -> None:
        while self._held:
            handle, (until, _) = next(iter(self._held.items()))
            if until > now:
                return
            del self._held[handle]

    def _sweep(self) -> None:
        with self._changed:
            while True:
                now = time.monotonic()
                self._forget_expired(now)
                soonest = next(iter(self._held.values()))[0] - now if self._held else None
                self._changed.wait(soonest)
