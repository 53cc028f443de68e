"""The team: the responders reports are encrypted to."""
from __future__ import annotations

import sqlite3

from nacl.public import PublicKey

from dropbox.storage.database import Database
from dropbox.storage.records import StorageError
from keys.responder import Responder


class TeamTable(Database):
    def add_responder(self, responder: Responder) -> None:
        with self._db() as db:
            try:
                db.execute("INSERT INTO team (name, public_key) VALUES (?, ?)",
                           (responder.name, bytes(responder.public_key)))
            except sqlite3.IntegrityError:
                raise StorageError(f"{responder.name} is on the team already") from None

    def remove_responder(self, name: str) -> None:
        with self._db() as db:
            if db.execute("DELETE FROM team WHERE name = ?", (name,)).rowcount == 0:
                raise StorageError(f"there is no responder named {name!r}")

    def team(self) -> list[Responder]:
        with self._db() as db:
            rows = db.execute("SELECT name, public_key FROM team ORDER BY name").fetchall()
        return [Responder(r["name"], PublicKey(r["public_key"])) for r in rows]
