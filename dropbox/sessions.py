"""Server-side sessions held in memory only.

The cookie carries nothing but a random session id. What a session knows
(the CSRF token, which conversation is logged in, the reporter's derived
secret key while logged in) stays in this process's memory, is forgotten
after an idle period, and is gone when the server stops: a reporter then
simply logs in again with the codename. Nothing of it is ever written to disk.

Anyone can make sessions for free (every page with a form wants a CSRF token), so the
table keeps two kinds apart. A session that holds only a token and a language is
"anonymous"; one that holds anything more (a reporter writing or logged in, a responder)
is "someone's". When anonymous sessions reach `max_sessions`, the least recently used
anonymous one makes room: a flood of cookie-less requests only ever evicts its own kind.
Someone's sessions are never evicted, only forgotten when idle; when they reach
`max_sessions`, no new one is begun (`has_room`) until some have gone.

Someone's sessions of one owner (a reporter's conversation: `owner_key`) are at most
`per_owner`: when one more begins, their oldest ends. A successful login spends no budget,
so one codename of an attacker's own, logged in again and again, would otherwise fill every
place there is; now it only ever takes a few.

Ending is final: a session ended by logout or by a new id at login is marked ended, and a
request of it that is still running does not write it back when it finishes. Each kind
is kept in least-recently-used order, so making, touching and expiring a session costs
the same however many there are.
"""
from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

from dropbox.channel import REQUEST_STARTED

COOKIE_NAME = "session"
MAX_SESSIONS = 50_000
# Live sessions of one owner: a reporter's phone, laptop and a spare.
SESSIONS_PER_OWNER = 3
# What an anonymous visitor's session may hold; anything else makes it someone's.
ANONYMOUS_KEYS = frozenset({"csrf_token", "language"})


@dataclass
class Entry:
    """One session in the table. The same object for the whole life of its id, so that a
    request still running holds the very entry that a logout marks as ended."""
    seen: float
    data: dict
    ended: bool = False
    owner: str | None = None  # as indexed in MemorySessions._owners

    @property
    def someone(self) -> bool:
        return not set(self.data) <= ANONYMOUS_KEYS


class MemorySession(CallbackDict, SessionMixin):
    def __init__(self, data: dict | None = None, sid: str | None = None,
                 entry: Entry | None = None):
        def touched(_):
            self.modified = True
        super().__init__(data or {}, touched)
        self.sid = sid
        self.entry = entry  # what this request opened; marked if the session ends meanwhile
        self.modified = False
        self.rotate = False

    def regenerate(self) -> None:
        """Take a new id (at login), so an id seen before login is worth nothing after."""
        self.rotate = True
        self.modified = True


class MemorySessions(SessionInterface):
    def __init__(self, idle_seconds: int, cookie_name: str = COOKIE_NAME,
                 max_sessions: int = MAX_SESSIONS, owner_key: str | tuple[str, ...] | None = None,
                 per_owner: int = SESSIONS_PER_OWNER):
        self._idle = idle_seconds
        self._cookie = cookie_name
        self._max = max_sessions
        # The session keys naming whose a session is (a reporter's conversation, an invitation).
        self._owner_keys = (owner_key,) if isinstance(owner_key, str) else owner_key or ()
        self._per_owner = per_owner
        self._owners: dict[str, OrderedDict[str, None]] = {}  # owner -> their sids, oldest first
        self._lock = threading.Lock()
        # True: someone's sessions; False: anonymous ones. Oldest first.
        self._tables: dict[bool, OrderedDict[str, Entry]] = {True: OrderedDict(), False: OrderedDict()}

    def open_session(self, app: Flask, request: Request) -> MemorySession:
        sid = request.cookies.get(self._cookie, "")
        now = time.monotonic()
        # Judged from when the request began: an upload that takes an hour over tor
        # still belongs to the session that was alive when it started.
        started = request.environ.get(REQUEST_STARTED, now)
        with self._lock:
            for table in self._tables.values():
                entry = table.get(sid)
                if entry is None:
                    continue
                if started - entry.seen <= self._idle:
                    entry.seen = now
                    table.move_to_end(sid)
                    return MemorySession(dict(entry.data), sid, entry)
                del table[sid]
                self._disown(sid, entry)
        return MemorySession()

    def has_room(self) -> bool:
        """Whether one more person's session may begin now (see the module's docstring)."""
        with self._lock:
            self._expire(self._tables[True], time.monotonic())
            return len(self._tables[True]) < self._max

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        assert isinstance(session, MemorySession)  # the only kind open_session makes
        if not session.modified and session.sid is None:
            return
        with self._lock:
            if session.entry is not None and session.entry.ended:
                # Logged out (or given a new id) while this request ran: it stays ended.
                response.delete_cookie(self._cookie, path="/", httponly=True, samesite="Strict")
                return
            if session.sid and (session.rotate or not session):
                self._end(session.sid, session.entry)
                session.sid = None
            if not session:
                response.delete_cookie(self._cookie, path="/", httponly=True, samesite="Strict")
                return
            if session.sid is None:
                entry = Entry(time.monotonic(), dict(session))
                if not self._make_room(entry.someone):
                    return  # no room for one more person's session: see has_room
                session.sid, session.entry = secrets.token_urlsafe(32), entry
            else:
                # Written back even if it expired while this request ran (a long upload).
                assert session.entry is not None  # a session with an id has its entry
                entry = session.entry
                entry.seen, entry.data = time.monotonic(), dict(session)
                self._remove(session.sid)  # it may change kind: keep it in one table only
            self._tables[entry.someone][session.sid] = entry
            self._own(session.sid, entry)
        response.set_cookie(self._cookie, session.sid, path="/", httponly=True, samesite="Strict")

    def _end(self, sid: str, opened: Entry | None) -> None:
        if opened is not None:
            opened.ended = True
        for table in self._tables.values():
            entry = table.pop(sid, None)
            if entry is not None:
                entry.ended = True
                self._disown(sid, entry)

    def _own(self, sid: str, entry: Entry) -> None:
        """Index `entry` under its owner; past `per_owner`, the owner's oldest session ends."""
        owner = next((entry.data[k] for k in self._owner_keys if entry.data.get(k)), None)
        if owner != entry.owner:
            self._disown(sid, entry)
            entry.owner = owner
        if owner is None:
            return
        sids = self._owners.setdefault(owner, OrderedDict())
        sids[sid] = None
        while len(sids) > self._per_owner:
            oldest, _ = sids.popitem(last=False)
            self._end(oldest, None)

    def _disown(self, sid: str, entry: Entry) -> None:
        if entry.owner is None:
            return
        sids = self._owners.get(entry.owner)
        if sids is not None:
            sids.pop(sid, None)
            if not sids:
                del self._owners[entry.owner]

    def _remove(self, sid: str) -> None:
        for table in self._tables.values():
            table.pop(sid, None)

    def _expire(self, table: OrderedDict[str, Entry], now: float) -> None:
        while table:
            sid, oldest = next(iter(table.items()))
            if now - oldest.seen <= self._idle:
                return
            del table[sid]
            self._disown(sid, oldest)

    def _make_room(self, someone: bool) -> bool:
        """Forget idle sessions; then, for an anonymous one, the least recently used
        anonymous session if the table is full. Someone's sessions are never evicted."""
        now = time.monotonic()
        for table in self._tables.values():
            self._expire(table, now)
        table = self._tables[someone]
        if len(table) < self._max:
            return True
        if someone:
            return False
        sid, evicted = table.popitem(last=False)
        self._disown(sid, evicted)
        return True
