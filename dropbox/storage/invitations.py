"""Invitations to the person reported: what lets them answer one conversation, and nothing else.

A row holds what the server needs to recognise the invitation's codename (the lookup id it
derives to, and its login tag: `dropbox.ratelimit`), never the words; the public key the team's
messages to them are sealed to; its conversation; and days: made, expiring, withdrawn, first
used, last response (docs/FORMAT.md, "The person reported"). The audit names only the
conversation's readers as its audience, as for every entry about a conversation.
"""
from __future__ import annotations

import datetime
import sqlite3
from dataclasses import dataclass

from nacl.public import PublicKey

from keys.bundle import MAX_INVITATIONS

from dropbox.storage.database import Database
from dropbox.storage.desk import record_audit
from dropbox.storage.records import StorageError, _recipients, new_id, row_id, today


@dataclass(frozen=True)
class Invitation:
    id: str
    conversation_id: str
    public_key: PublicKey
    created: str
    expires: str  # the last day it opens
    withdrawn: str | None
    first_used: str | None
    last_response: str | None

    def opens_on(self, day: str) -> bool:
        return self.withdrawn is None and day <= self.expires


def _invitation(row: sqlite3.Row) -> Invitation:
    return Invitation(row_id(row["id"]), row_id(row["conversation_id"]), PublicKey(row["public_key"]),
                      row["created"], row["expires"], row["withdrawn"], row["first_used"],
                      row["last_response"])


class Invitations:
    def __init__(self, database: Database):
        self._database = database

    def create(self, conversation_id: str, lookup_id: str, public_key: PublicKey, codename_tag: bytes,
               days: int, actor: str) -> Invitation:
        expires = (datetime.date.today() + datetime.timedelta(days=days)).isoformat()
        invitation_id = new_id()
        with self._database.transaction() as db:
            db.execute("BEGIN IMMEDIATE")  # the count and the insert, with no writer between them
            audience = self._audience(db, conversation_id)
            # Every record of the conversation lists its invitations, and `keys open` refuses
            # a record listing more than this: one more would make the readers' bundles unopenable.
            if db.execute("SELECT count(*) FROM invitations WHERE conversation_id = ?",
                          (conversation_id,)).fetchone()[0] >= MAX_INVITATIONS:
                raise StorageError(f"this conversation has {MAX_INVITATIONS} invitations, as many as "
                                   "a bundle can list: none more can be made")
            db.execute("INSERT INTO invitations (id, conversation_id, lookup_id, public_key, codename_tag,"
                       " created, expires) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (invitation_id, conversation_id, lookup_id, bytes(public_key), codename_tag,
                        today(), expires))
            record_audit(db, actor, f"invited the person reported to respond, until {expires}", audience)
        found = self.get(invitation_id)
        assert found is not None  # just stored
        return found

    def withdraw(self, invitation_id: str, actor: str) -> None:
        with self._database.transaction() as db:
            row = db.execute("SELECT conversation_id FROM invitations WHERE id = ? AND withdrawn IS NULL",
                             (invitation_id,)).fetchone()
            if row is None:
                raise StorageError("this invitation is withdrawn already, or gone")
            db.execute("UPDATE invitations SET withdrawn = ? WHERE id = ?", (today(), invitation_id))
            record_audit(db, actor, "withdrew an invitation to the person reported",
                         self._audience(db, row["conversation_id"]))

    def used(self, invitation: Invitation) -> None:
        """The person reported logged in: the first time is noted, and told in the audit."""
        if invitation.first_used is not None:
            return
        with self._database.transaction() as db:
            if db.execute("UPDATE invitations SET first_used = ? WHERE id = ? AND first_used IS NULL",
                          (today(), invitation.id)).rowcount:
                record_audit(db, "the person reported", "used their invitation for the first time",
                             self._audience(db, invitation.conversation_id))

    def get(self, invitation_id: str) -> Invitation | None:
        with self._database.transaction() as db:
            row = db.execute("SELECT * FROM invitations WHERE id = ?", (invitation_id,)).fetchone()
        return None if row is None else _invitation(row)

    def find_by_lookup(self, lookup_id: str) -> Invitation | None:
        with self._database.transaction() as db:
            row = db.execute("SELECT * FROM invitations WHERE lookup_id = ?", (lookup_id,)).fetchone()
        return None if row is None else _invitation(row)

    def has_codename_tag(self, tag: bytes) -> bool:
        """Whether some open invitation's codename has this tag (`dropbox.ratelimit`)."""
        with self._database.transaction() as db:
            return db.execute("SELECT 1 FROM invitations WHERE codename_tag = ? AND withdrawn IS NULL"
                              " AND expires >= ? LIMIT 1", (tag, today())).fetchone() is not None

    def of_conversation(self, conversation_id: str) -> list[Invitation]:
        with self._database.transaction() as db:
            rows = db.execute("SELECT * FROM invitations WHERE conversation_id = ? ORDER BY created, rowid",
                              (conversation_id,)).fetchall()
        return [_invitation(r) for r in rows]

    @staticmethod
    def _audience(db: sqlite3.Connection, conversation_id: str):
        row = db.execute("SELECT recipients FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        if row is None:
            raise StorageError("this conversation is gone")
        return _recipients(row["recipients"])
