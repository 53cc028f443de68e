"""The team: the responders reports are encrypted to."""
from __future__ import annotations

import sqlite3

from nacl.public import PublicKey
from nacl.signing import VerifyKey

from dropbox.storage.database import Database
from dropbox.storage.records import StorageError
from keys.envelope import MAX_RECIPIENTS
from keys.responder import Responder


# An envelope holds at most 255 stanzas, and a reply is sealed to the reporter (or the person
# reported) and to every reader: a larger team would make conversations no one can answer.
MAX_TEAM = MAX_RECIPIENTS - 1


class Team:
    def __init__(self, database: Database):
        self._database = database

    def add(self, responder: Responder) -> None:
        with self._database.transaction() as db:
            db.execute("BEGIN IMMEDIATE")  # the count and the insert, with no writer between them
            if db.execute("SELECT count(*) FROM team").fetchone()[0] >= MAX_TEAM:
                raise StorageError(f"the team has {MAX_TEAM} responders, the most a reply can be sealed to "
                                   "beside the reporter; remove one first")
            try:
                db.execute("INSERT INTO team (name, public_key, signing_key) VALUES (?, ?, ?)",
                           (responder.name, bytes(responder.public_key), _signing(responder)))
            except sqlite3.IntegrityError:
                raise StorageError(f"{responder.name} is on the team already") from None

    def replace(self, responder: Responder) -> None:
        """A new key under the same name: new items of every conversation naming them use it."""
        with self._database.transaction() as db:
            if db.execute("UPDATE team SET public_key = ?, signing_key = ? WHERE name = ?",
                          (bytes(responder.public_key), _signing(responder),
                           responder.name)).rowcount == 0:
                raise StorageError(f"there is no responder named {responder.name!r}")

    def remove(self, name: str) -> None:
        with self._database.transaction() as db:
            if db.execute("DELETE FROM team WHERE name = ?", (name,)).rowcount == 0:
                raise StorageError(f"there is no responder named {name!r}")

    def members(self) -> list[Responder]:
        with self._database.transaction() as db:
            rows = db.execute("SELECT name, public_key, signing_key FROM team ORDER BY name").fetchall()
        return [Responder(r["name"], PublicKey(r["public_key"]),
                          VerifyKey(r["signing_key"]) if r["signing_key"] else None) for r in rows]

    def current_recipients(self, chosen: tuple[Responder, ...]) -> tuple[Responder, ...]:
        """The reporter's choice, kept by name, with today's keys: a removed responder drops out,
        a replaced key is replaced."""
        team = {r.name: r for r in self.members()}
        return tuple(team[r.name] for r in chosen if r.name in team)


def _signing(responder: Responder) -> bytes | None:
    return None if responder.signing_key is None else bytes(responder.signing_key)
