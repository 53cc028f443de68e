"""The responder desk's tables: accounts, designations, stars, the audit log, deletions
waiting for their day, and who uploaded which reply.

Times of accounts are unix seconds; nothing here names a reporter.
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from dropbox.storage.database import Database
from dropbox.storage.records import REPORTER_SEES, StorageError, _recipients, batches, row_id, today
from keys.responder import Responder


@dataclass(frozen=True)
class Account:
    """A responder's desk login. Times are unix seconds. Until its responder enrols,
    `password_hash` and `sealed_totp` are empty and `enrolment_expires` says until when
    the enrolment code works."""
    name: str
    password_hash: bytes
    sealed_totp: bytes
    last_otp_step: int
    failures: int
    locked_until: int
    email: str
    last_download_seq: int  # the newest item their own bundle has taken
    notice_pending: bool
    last_notice: int
    language: str  # the one they last used the desk in: their mail's
    enrolment_expires: int

    @property
    def enrolled(self) -> bool:
        return bool(self.password_hash)


@dataclass(frozen=True)
class Summary:
    """What the desk's list shows of one conversation to one responder."""
    id: str
    recipients: tuple[Responder, ...]
    created: str
    last_activity: str
    designation: str | None  # None until the desk first names it
    closed: bool
    starred: bool
    items: int
    size: int  # bytes of ciphertext, headers included
    new_items: int  # since the responder's last download, less the replies they uploaded
    last_origin: str | None  # an Origin
    deletion: tuple[str, str] | None  # (who asked, day due) while a deletion waits


# What the desk's list shows of a conversation `c` for responder :name, items counted by index:
# "new" is after :seen and not a reply :name uploaded; a deletion waiting shows who asked and when.
_SUMMARY = """
SELECT c.id, c.recipients, c.created, c.last_activity, d.designation, coalesce(d.closed, 0) AS closed,
    EXISTS (SELECT 1 FROM desk_stars s WHERE s.name = :name AND s.conversation_id = c.id) AS starred,
    (SELECT count(*) FROM items i WHERE i.conversation_id = c.id) AS items,
    (SELECT coalesce(sum(length(i.header) + i.payload_size), 0) FROM items i
     WHERE i.conversation_id = c.id) AS size,
    (SELECT count(*) FROM items i WHERE i.conversation_id = c.id AND i.seq > :seen AND NOT EXISTS
     (SELECT 1 FROM desk_uploads u WHERE u.item_id = i.id AND u.uploaded_by = :name)) AS new_items,
    (SELECT i.origin FROM items i WHERE i.conversation_id = c.id AND i.origin IN ({exchanged})
     ORDER BY i.seq DESC LIMIT 1) AS last_origin,
    (SELECT w.requested_by FROM desk_deletions w WHERE w.conversation_id = c.id) AS deletion_asked_by,
    (SELECT w.due FROM desk_deletions w WHERE w.conversation_id = c.id) AS deletion_due
""".format(exchanged=", ".join(f"'{origin}'" for origin in REPORTER_SEES))  # a note is no reply
_MINE = "EXISTS (SELECT 1 FROM conversation_recipients r WHERE r.name = :name AND r.conversation_id = c.id)"
# A case :name handles (a handler is always one of its readers).
_HANDLED = ("EXISTS (SELECT 1 FROM case_handlers h WHERE h.name = :name AND h.conversation_id = c.id)"
            f" AND {_MINE}")
_NEWEST_FIRST = "c.last_activity DESC, c.created DESC, c.id DESC"


def _summary(row: sqlite3.Row) -> Summary:
    return Summary(row_id(row["id"]), _recipients(row["recipients"]), row["created"],
                   row["last_activity"], row["designation"], bool(row["closed"]), bool(row["starred"]),
                   row["items"], row["size"], row["new_items"], row["last_origin"],
                   (row["deletion_asked_by"], row["deletion_due"]) if row["deletion_due"] else None)


def _account(row: sqlite3.Row) -> Account:
    return Account(row["name"], bytes(row["password_hash"]), bytes(row["sealed_totp"]),
                   row["last_otp_step"], row["failures"], row["locked_until"], row["email"],
                   row["last_download_seq"], bool(row["notice_pending"]), row["last_notice"],
                   row["language"], row["enrolment_expires"])


def record_audit(db: sqlite3.Connection, actor: str, action: str,
                 about: tuple[Responder, ...] | None) -> None:
    """One line of the audit log; `about` a conversation's recipients (its audience), or None for all."""
    audience = None if about is None else json.dumps(sorted(r.name for r in about))
    db.execute("INSERT INTO desk_audit (day, actor, action, audience) VALUES (?, ?, ?, ?)",
               (today(), actor, action, audience))


class Desk:
    """The desk's own tables: accounts, names of conversations, stars, the audit log, deletions
    waiting and who uploaded which reply."""

    def __init__(self, database: Database):
        self._database = database

    def add_account(self, name: str, enrolment_hash: bytes, expires: int, email: str) -> None:
        """An account waiting for its responder to enrol with the code hashed here."""
        with self._database.transaction() as db:
            try:
                db.execute("INSERT INTO desk_accounts (name, password_hash, sealed_totp, email,"
                           " enrolment_hash, enrolment_expires) VALUES (?, x'', x'', ?, ?, ?)",
                           (name, email, enrolment_hash, expires))
            except sqlite3.IntegrityError:
                raise StorageError(f"{name} has a desk account already") from None

    def reset_account(self, name: str, enrolment_hash: bytes, expires: int) -> None:
        """The account's passphrase and TOTP secret are forgotten (so its logins end) and it
        waits for enrolment again; any lock is lifted."""
        with self._database.transaction() as db:
            changed = db.execute(
                "UPDATE desk_accounts SET password_hash = x'', sealed_totp = x'', last_otp_step = 0,"
                " failures = 0, locked_until = 0, enrolment_hash = ?, enrolment_expires = ?"
                " WHERE name = ?", (enrolment_hash, expires, name)).rowcount
        if not changed:
            raise StorageError(f"{name} has no desk account")

    def enrolling(self, enrolment_hash: bytes, now: int) -> str | None:
        """The name whose unexpired enrolment code has this hash, if any."""
        with self._database.transaction() as db:
            row = db.execute("SELECT name FROM desk_accounts WHERE enrolment_hash = ?"
                             " AND enrolment_expires > ?", (enrolment_hash, now)).fetchone()
        return None if row is None else row["name"]

    def enrol(self, name: str, enrolment_hash: bytes, now: int, password_hash: bytes,
              sealed_totp: bytes, otp_step: int) -> bool:
        """Use the code: the responder's own passphrase and TOTP secret replace it, in one
        statement, so a code serves once even when two enrolments race; False if it is gone."""
        with self._database.transaction() as db:
            return db.execute(
                "UPDATE desk_accounts SET password_hash = ?, sealed_totp = ?, last_otp_step = ?,"
                " enrolment_hash = NULL, enrolment_expires = 0, failures = 0, locked_until = 0"
                " WHERE name = ? AND enrolment_hash = ? AND enrolment_expires > ?",
                (password_hash, sealed_totp, otp_step, name, enrolment_hash, now)).rowcount == 1

    def set_credentials(self, name: str, *, password_hash: bytes | None = None,
                        sealed_totp: bytes | None = None) -> None:
        """A new passphrase or TOTP secret chosen by the logged-in responder."""
        values = {k: v for k, v in (("password_hash", password_hash), ("sealed_totp", sealed_totp))
                  if v is not None}
        assert values
        with self._database.transaction() as db:
            db.execute(f"UPDATE desk_accounts SET {', '.join(f'{k} = ?' for k in values)} WHERE name = ?",
                       (*values.values(), name))

    def remove_account(self, name: str) -> None:
        with self._database.transaction() as db:
            if db.execute("DELETE FROM desk_accounts WHERE name = ?", (name,)).rowcount == 0:
                raise StorageError(f"{name} has no desk account")
            db.execute("DELETE FROM desk_stars WHERE name = ?", (name,))

    def account(self, name: str) -> Account | None:
        with self._database.transaction() as db:
            row = db.execute("SELECT * FROM desk_accounts WHERE name = ?", (name,)).fetchone()
        return None if row is None else _account(row)

    def accounts(self) -> list[Account]:
        with self._database.transaction() as db:
            return [_account(row) for row in db.execute("SELECT * FROM desk_accounts ORDER BY name")]

    def update_account(self, name: str, **values: int | str) -> None:
        columns = {"last_otp_step", "failures", "locked_until", "email", "last_download_seq",
                   "notice_pending", "last_notice", "language"}
        assert values and set(values) <= columns
        with self._database.transaction() as db:
            db.execute(f"UPDATE desk_accounts SET {', '.join(f'{k} = ?' for k in values)} WHERE name = ?",
                       (*values.values(), name))

    def claim_otp_step(self, name: str, step: int) -> bool:
        """Record `step` as used; False if it, or a later one, was used already."""
        with self._database.transaction() as db:
            return db.execute("UPDATE desk_accounts SET last_otp_step = ? WHERE name = ?"
                              " AND last_otp_step < ?", (step, name, step)).rowcount == 1

    def page(self, name: str, seen_seq: int, limit: int, offset: int, handled_only: bool = False,
             total: int = 0) -> list[Summary]:
        """One page of `name`'s conversations, most recently active first, in one query: the
        newest-first index is walked until the page is full, from whichever end is nearer when
        `total` (how many are `name`'s) is given, so a page costs the same however many
        conversations there are (a deep page walks at most half of them, nothing else)."""
        order, window = _NEWEST_FIRST, {"limit": limit, "offset": offset}
        if total and offset + limit / 2 > total / 2:  # nearer the oldest: walk from there
            order = _NEWEST_FIRST.replace(" DESC", " ASC")
            window = {"limit": max(0, min(limit, total - offset)), "offset": max(0, total - offset - limit)}
        with self._database.transaction() as db:
            rows = db.execute(
                f"{_SUMMARY} FROM (SELECT * FROM conversations c WHERE {_HANDLED if handled_only else _MINE}"
                f" ORDER BY {order} LIMIT :limit OFFSET :offset) AS c"
                f" LEFT JOIN desk_conversations d ON d.conversation_id = c.id ORDER BY {_NEWEST_FIRST}",
                {"name": name, "seen": seen_seq, **window}).fetchall()
        return [_summary(row) for row in rows]

    def summary(self, name: str, seen_seq: int, designation: str) -> Summary | None:
        """`name`'s conversation with that designation, as `page` shows it; None for any other."""
        with self._database.transaction() as db:
            row = db.execute(
                f"{_SUMMARY} FROM desk_conversations d JOIN conversations c ON c.id = d.conversation_id"
                f" WHERE d.designation = :designation AND {_MINE}",
                {"name": name, "seen": seen_seq, "designation": designation}).fetchone()
        return None if row is None else _summary(row)

    def reserve_code_guess(self, name: str, now: int, limit: int, lock_seconds: int) -> bool:
        """Count one code guess before it is checked, in one statement, so that guesses
        arriving at once cannot all be checked before the count locks; False while locked.
        The guess that reaches `limit` sets the lock for the ones after it."""
        with self._database.transaction() as db:
            return db.execute(
                "UPDATE desk_accounts SET failures = (CASE WHEN failures >= :limit THEN 0"
                " ELSE failures END) + 1, locked_until = CASE WHEN (CASE WHEN failures >= :limit"
                " THEN 0 ELSE failures END) + 1 >= :limit THEN :until ELSE locked_until END"
                " WHERE name = :name AND locked_until <= :now",
                {"limit": limit, "until": now + lock_seconds, "name": name, "now": now}).rowcount == 1

    def designations(self, conversation_ids: list[str],
                     new_designation: Callable[[str, int], str]) -> dict[str, tuple[str, bool]]:
        """Each conversation's designation and closed flag; a new one is `new_designation(id, tries)`,
        asked again with `tries` + 1 while the name is taken."""
        with self._database.transaction() as db:
            known: dict[str, tuple[str, bool]] = {}
            for batch, marks in batches(conversation_ids):
                known.update((r["conversation_id"], (r["designation"], bool(r["closed"]))) for r in db.execute(
                    f"SELECT * FROM desk_conversations WHERE conversation_id IN ({marks})", batch))
            for cid in conversation_ids:
                tries = 0
                while cid not in known:
                    designation = new_designation(cid, tries)
                    if db.execute("INSERT OR IGNORE INTO desk_conversations (conversation_id, designation)"
                                  " VALUES (?, ?)", (cid, designation)).rowcount:
                        known[cid] = (designation, False)
                    elif row := db.execute("SELECT * FROM desk_conversations WHERE conversation_id = ?",
                                           (cid,)).fetchone():  # another request named it meanwhile
                        known[cid] = (row["designation"], bool(row["closed"]))
                    tries += 1
        return {cid: known[cid] for cid in conversation_ids}

    def set_closed(self, conversation_id: str, closed: bool) -> None:
        with self._database.transaction() as db:
            db.execute("UPDATE desk_conversations SET closed = ? WHERE conversation_id = ?",
                       (int(closed), conversation_id))
            db.execute("INSERT INTO case_progress (conversation_id, closed) VALUES (?, ?)"  # for figures
                       " ON CONFLICT (conversation_id) DO UPDATE SET closed = excluded.closed",
                       (conversation_id, today() if closed else None))

    def stars(self, name: str) -> set[str]:
        with self._database.transaction() as db:
            rows = db.execute("SELECT conversation_id FROM desk_stars WHERE name = ?", (name,)).fetchall()
        return {r["conversation_id"] for r in rows}

    def toggle_star(self, name: str, conversation_id: str) -> None:
        with self._database.transaction() as db:
            if not db.execute("DELETE FROM desk_stars WHERE name = ? AND conversation_id = ?",
                              (name, conversation_id)).rowcount:
                db.execute("INSERT INTO desk_stars VALUES (?, ?)", (name, conversation_id))

    def audit(self, actor: str, action: str, about: tuple[Responder, ...] | None = None) -> None:
        self.audit_each(actor, action, [about])

    def audit_each(self, actor: str, action: str, abouts: list[tuple[Responder, ...] | None]) -> None:
        """One entry per audience in `abouts` (one per conversation), in one transaction."""
        with self._database.transaction() as db:
            for about in abouts:
                record_audit(db, actor, action, about)

    def audit_counts(self, name: str) -> list[tuple[tuple[str, str, str], int]]:
        """((day, actor, action), how many) newest first, of the entries `name` may see: those
        about the whole team and those whose audience names them. Counted by SQLite, so the
        page does not decode every entry ever written."""
        with self._database.transaction() as db:
            rows = db.execute(
                "SELECT day, actor, action, count(*) AS n FROM desk_audit WHERE audience IS NULL OR"
                " EXISTS (SELECT 1 FROM json_each(desk_audit.audience) WHERE value = ?)"
                " GROUP BY day, actor, action ORDER BY day DESC, actor DESC, action DESC", (name,)).fetchall()
        return [((r["day"], r["actor"], r["action"]), r["n"]) for r in rows]

    def ask_deletion(self, conversation_id: str, name: str, due: str) -> str:
        """Record the request; returns the day it is due (asking again keeps the first)."""
        with self._database.transaction() as db:
            db.execute("INSERT OR IGNORE INTO desk_deletions VALUES (?, ?, ?)", (conversation_id, name, due))
            return str(db.execute("SELECT due FROM desk_deletions WHERE conversation_id = ?",
                                  (conversation_id,)).fetchone()["due"])

    def cancel_deletion(self, conversation_id: str) -> bool:
        with self._database.transaction() as db:
            return db.execute("DELETE FROM desk_deletions WHERE conversation_id = ?",
                              (conversation_id,)).rowcount == 1

    def deletion_due(self, conversation_id: str) -> str | None:
        """The day a deletion asked on the desk is due for this conversation; None if none waits."""
        with self._database.transaction() as db:
            row = db.execute("SELECT due FROM desk_deletions WHERE conversation_id = ?",
                             (conversation_id,)).fetchone()
        return None if row is None else str(row["due"])

    def pending_deletions(self) -> dict[str, tuple[str, str]]:
        """conversation id → (who asked, day it is due), for every deletion waiting."""
        with self._database.transaction() as db:
            rows = db.execute("SELECT * FROM desk_deletions").fetchall()
        return {r["conversation_id"]: (r["requested_by"], r["due"]) for r in rows}

    def record_uploads(self, name: str, item_ids: list[str]) -> None:
        """`name` uploaded these replies on the desk: they are not "new" to them."""
        with self._database.transaction() as db:
            db.executemany("INSERT OR IGNORE INTO desk_uploads VALUES (?, ?)",
                           [(item_id, name) for item_id in item_ids])
