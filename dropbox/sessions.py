"""Server-side sessions held in memory only.

The cookie carries nothing but a random session id. What a session knows
(the CSRF token, which conversation is logged in, the reporter's derived
secret key while logged in) stays in this process's memory, is forgotten
after an idle period, and is gone when the server stops: a reporter then
simply logs in again with the codename. Nothing of it is ever written to disk.
"""
from __future__ import annotations

import secrets
import threading
import time

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

from dropbox.channel import REQUEST_STARTED

COOKIE_NAME = "session"
MAX_SESSIONS = 50_000


class MemorySession(CallbackDict, SessionMixin):
    def __init__(self, data: dict | None = None, sid: str | None = None):
        def touched(_):
            self.modified = True
        super().__init__(data or {}, touched)
        self.sid = sid
        self.modified = False
        self.rotate = False

    def regenerate(self) -> None:
        """Take a new id (at login), so an id seen before login is worth nothing after."""
        self.rotate = True
        self.modified = True


class MemorySessions(SessionInterface):
    def __init__(self, idle_seconds: int, cookie_name: str = COOKIE_NAME):
        self._idle = idle_seconds
        self._cookie = cookie_name
        self._lock = threading.Lock()
        self._sessions: dict[str, tuple[float, dict]] = {}

    def open_session(self, app: Flask, request: Request) -> MemorySession:
        sid = request.cookies.get(self._cookie, "")
        now = time.monotonic()
        # Judged from when the request began: an upload that takes an hour over tor
        # still belongs to the session that was alive when it started.
        started = request.environ.get(REQUEST_STARTED, now)
        with self._lock:
            entry = self._sessions.get(sid)
            if entry and started - entry[0] <= self._idle:
                self._sessions[sid] = (now, entry[1])
                return MemorySession(dict(entry[1]), sid)
            self._sessions.pop(sid, None)
        return MemorySession()

    def save_session(self, app: Flask, session: MemorySession, response: Response) -> None:
        if not session.modified and session.sid is None:
            return
        with self._lock:
            if session.sid and (session.rotate or not session):
                self._sessions.pop(session.sid, None)
                session.sid = None
            if not session:
                response.delete_cookie(self._cookie, path="/", httponly=True, samesite="Strict")
                return
            if session.sid is None:
                session.sid = secrets.token_urlsafe(32)
                self._evict()
            self._sessions[session.sid] = (time.monotonic(), dict(session))
        response.set_cookie(self._cookie, session.sid, path="/", httponly=True, samesite="Strict")

    def _evict(self) -> None:
        """Drop idle sessions, and the oldest ones if a flood fills memory."""
        now = time.monotonic()
        for sid in [s for s, (seen, _) in self._sessions.items() if now - seen > self._idle]:
            del self._sessions[sid]
        while len(self._sessions) >= MAX_SESSIONS:
            del self._sessions[min(self._sessions, key=lambda s: self._sessions[s][0])]
