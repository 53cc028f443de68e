"""Storage: SQLite rows for what must be found, files for envelope payloads.

Nothing here is plaintext of a submission. A conversation row holds an
opaque random id, the codename-derived lookup id, the reporter's public key,
its recipients (names and public keys, as they were when the report was
made) and day-precision dates. An item row holds its envelope header; the
payload lives in `store/<conversation>/<item>`.

A payload is fsynced and renamed into place before its row is committed, so
every row points at a complete file; a crash in between leaves at most an
orphan file in tmp/, which start-up removes.
"""
from __future__ import annotations

import base64
import datetime
import json
import os
import secrets
import shutil
import sqlite3
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from nacl.public import PublicKey

from keys.responder import Responder

SCHEMA = """
CREATE TABLE IF NOT EXISTS team (
    name TEXT PRIMARY KEY,
    public_key BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    lookup_id TEXT NOT NULL UNIQUE,
    reporter_key BLOB NOT NULL,
    recipients TEXT NOT NULL,
    created TEXT NOT NULL,
    last_activity TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    origin TEXT NOT NULL CHECK (origin IN ('reporter', 'team')),
    header BLOB NOT NULL,
    payload_size INTEGER NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS state (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
-- The responder desk. Times of accounts are unix seconds; nothing here names a reporter.
CREATE TABLE IF NOT EXISTS desk_accounts (
    name TEXT PRIMARY KEY,
    password_hash BLOB NOT NULL,
    sealed_totp BLOB NOT NULL,
    last_otp_step INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER NOT NULL DEFAULT 0,
    email TEXT NOT NULL DEFAULT '',
    last_download_seq INTEGER NOT NULL DEFAULT 0,
    notice_pending INTEGER NOT NULL DEFAULT 0,
    last_notice INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS desk_conversations (
    conversation_id TEXT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
    designation TEXT NOT NULL UNIQUE,
    closed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS desk_stars (
    name TEXT NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    PRIMARY KEY (name, conversation_id)
);
-- An entry about a conversation keeps only the names of its recipients (its audience), never its id.
CREATE TABLE IF NOT EXISTS desk_audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    day TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    audience TEXT
);
"""


class StorageError(Exception):
    """Something the operator must hear about: a missing name, a full disk."""


def today() -> str:
    return datetime.date.today().isoformat()


def new_id() -> str:
    return secrets.token_hex(16)


@dataclass(frozen=True)
class Conversation:
    id: str
    reporter_key: PublicKey
    recipients: tuple[Responder, ...]
    created: str
    last_activity: str


@dataclass(frozen=True)
class Item:
    seq: int
    id: str
    conversation_id: str
    origin: str
    header: bytes
    payload_size: int
    created: str

    @property
    def envelope_size(self) -> int:
        return len(self.header) + self.payload_size


@dataclass(frozen=True)
class StagedItem:
    """An encrypted payload waiting in tmp/ with its sealed header."""
    id: str
    header: bytes
    temp_path: Path
    payload_size: int


class EnvelopeStream:
    """Reads a header held in memory, then a payload file, as one stream."""

    def __init__(self, header: bytes, payload: BinaryIO):
        self._header, self._payload = memoryview(header), payload

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            head, self._header = bytes(self._header), self._header[len(self._header):]
            return head + self._payload.read()
        head, self._header = bytes(self._header[:size]), self._header[size:]
        return head + self._payload.read(size - len(head)) if len(head) < size else head


def _recipients_json(recipients: tuple[Responder, ...]) -> str:
    return json.dumps([{"name": r.name, "public_key": base64.b64encode(bytes(r.public_key)).decode()}
                       for r in recipients])


def _recipients(text: str) -> tuple[Responder, ...]:
    return tuple(Responder(r["name"], PublicKey(base64.b64decode(r["public_key"])))
                 for r in json.loads(text))


def _conversation(row: sqlite3.Row) -> Conversation:
    return Conversation(row["id"], PublicKey(row["reporter_key"]), _recipients(row["recipients"]),
                        row["created"], row["last_activity"])


def _item(row: sqlite3.Row) -> Item:
    return Item(row["seq"], row["id"], row["conversation_id"], row["origin"], row["header"],
                row["payload_size"], row["created"])


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Store:
    """The instance's database and payload files. Safe to share between threads."""

    def __init__(self, database: Path, store_dir: Path, tmp_dir: Path):
        self.database, self.store_dir, self.tmp_dir = database, store_dir, tmp_dir

    def prepare(self) -> None:
        """Create what is missing."""
        for folder in (self.store_dir, self.tmp_dir):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(SCHEMA)

    def recover(self) -> None:
        """Drop what a crash left half-written. Only at server start: never under a running server."""
        for leftover in self.tmp_dir.iterdir():
            leftover.unlink() if leftover.is_file() else shutil.rmtree(leftover)
        with self._db() as db:
            known = {(r["conversation_id"], r["id"])
                     for r in db.execute("SELECT conversation_id, id FROM items")}
        # A crash between placing a payload and committing its row leaves an orphan.
        for folder in self.store_dir.iterdir():
            for payload in folder.iterdir():
                if (folder.name, payload.name) not in known:
                    payload.unlink()
            if not any(folder.iterdir()):
                folder.rmdir()

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.database, timeout=30)) as db:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")
            with db:
                yield db

    # --- the team -------------------------------------------------------

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

    # --- conversations and items ----------------------------------------

    def create_conversation(self, lookup_id: str, reporter_key: PublicKey,
                            recipients: tuple[Responder, ...], items: list[StagedItem]) -> str:
        conversation_id = new_id()
        with self._placed(conversation_id, items), self._db() as db:
            db.execute("INSERT INTO conversations VALUES (?, ?, ?, ?, ?, ?)",
                       (conversation_id, lookup_id, bytes(reporter_key),
                        _recipients_json(recipients), today(), today()))
            self._insert_items(db, conversation_id, "reporter", items)
            self._note_activity(db, recipients)
        return conversation_id

    def add_items(self, conversation_id: str, origin: str, items: list[StagedItem]) -> None:
        with self._placed(conversation_id, items), self._db() as db:
            self._insert_items(db, conversation_id, origin, items)
            db.execute("UPDATE conversations SET last_activity = ? WHERE id = ?",
                       (today(), conversation_id))
            row = db.execute("SELECT recipients FROM conversations WHERE id = ?",
                             (conversation_id,)).fetchone()
            self._note_activity(db, _recipients(row["recipients"]))

    def delete_conversation(self, conversation_id: str, actor: str) -> None:
        """Remove a conversation's rows and ciphertext at once; the audit keeps only who and when."""
        conversation = self.conversation(conversation_id)
        if conversation is None:
            return
        with self._db() as db:
            db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
            self._audit(db, actor, "deleted a conversation", conversation.recipients)
        shutil.rmtree(self.store_dir / conversation_id, ignore_errors=True)

    def inactive_since(self, day: str) -> list[str]:
        """Ids of conversations whose last activity was before `day`."""
        with self._db() as db:
            rows = db.execute("SELECT id FROM conversations WHERE last_activity < ?", (day,)).fetchall()
        return [r["id"] for r in rows]

    def conversations_for(self, name: str) -> list[Conversation]:
        """The conversations whose recipient list names `name`, and no other."""
        with self._db() as db:
            rows = db.execute("SELECT * FROM conversations ORDER BY created, id").fetchall()
        return [c for c in map(_conversation, rows) if any(r.name == name for r in c.recipients)]

    def find_by_lookup(self, lookup_id: str) -> Conversation | None:
        with self._db() as db:
            row = db.execute("SELECT * FROM conversations WHERE lookup_id = ?", (lookup_id,)).fetchone()
        return None if row is None else _conversation(row)

    def conversation(self, conversation_id: str) -> Conversation | None:
        with self._db() as db:
            row = db.execute("SELECT * FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        return None if row is None else _conversation(row)

    def items(self, conversation_id: str) -> list[Item]:
        with self._db() as db:
            rows = db.execute("SELECT * FROM items WHERE conversation_id = ? ORDER BY seq",
                              (conversation_id,)).fetchall()
        return [_item(r) for r in rows]

    def payload_path(self, item: Item) -> Path:
        return self.store_dir / item.conversation_id / item.id

    @contextmanager
    def envelope(self, item: Item) -> Iterator["EnvelopeStream"]:
        """The stored item as one envelope stream: header from its row, then the payload file."""
        with open(self.payload_path(item), "rb") as payload:
            yield EnvelopeStream(item.header, payload)

    def items_after(self, seq: int) -> dict[str, list[Item]]:
        """Items newer than `seq`, grouped by conversation, oldest first."""
        with self._db() as db:
            rows = db.execute("SELECT * FROM items WHERE seq > ? ORDER BY seq", (seq,)).fetchall()
        grouped: dict[str, list[Item]] = {}
        for row in rows:
            grouped.setdefault(row["conversation_id"], []).append(_item(row))
        return grouped

    def get_state(self, key: str, default: int = 0) -> int:
        with self._db() as db:
            row = db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return default if row is None else row["value"]

    def set_state(self, key: str, value: int) -> None:
        with self._db() as db:
            db.execute("INSERT INTO state VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = ?",
                       (key, value, value))

    # --- the responder desk ------------------------------------------------

    def add_account(self, name: str, password_hash: bytes, sealed_totp: bytes, email: str) -> None:
        with self._db() as db:
            try:
                db.execute("INSERT INTO desk_accounts (name, password_hash, sealed_totp, email)"
                           " VALUES (?, ?, ?, ?)", (name, password_hash, sealed_totp, email))
            except sqlite3.IntegrityError:
                raise StorageError(f"{name} has a desk account already") from None

    def reset_account(self, name: str, password_hash: bytes, sealed_totp: bytes) -> None:
        with self._db() as db:
            changed = db.execute(
                "UPDATE desk_accounts SET password_hash = ?, sealed_totp = ?, last_otp_step = 0,"
                " failures = 0, locked_until = 0 WHERE name = ?",
                (password_hash, sealed_totp, name)).rowcount
        if not changed:
            raise StorageError(f"{name} has no desk account")

    def remove_account(self, name: str) -> None:
        with self._db() as db:
            if db.execute("DELETE FROM desk_accounts WHERE name = ?", (name,)).rowcount == 0:
                raise StorageError(f"{name} has no desk account")
            db.execute("DELETE FROM desk_stars WHERE name = ?", (name,))

    def account(self, name: str) -> sqlite3.Row | None:
        with self._db() as db:
            return db.execute("SELECT * FROM desk_accounts WHERE name = ?", (name,)).fetchone()

    def accounts(self) -> list[sqlite3.Row]:
        with self._db() as db:
            return db.execute("SELECT * FROM desk_accounts ORDER BY name").fetchall()

    def update_account(self, name: str, **values: int | str) -> None:
        columns = {"last_otp_step", "failures", "locked_until", "email", "last_download_seq",
                   "notice_pending", "last_notice"}
        assert values and set(values) <= columns
        with self._db() as db:
            db.execute(f"UPDATE desk_accounts SET {', '.join(f'{k} = ?' for k in values)} WHERE name = ?",
                       (*values.values(), name))

    def claim_otp_step(self, name: str, step: int) -> bool:
        """Record `step` as used; False if it, or a later one, was used already."""
        with self._db() as db:
            return db.execute("UPDATE desk_accounts SET last_otp_step = ? WHERE name = ?"
                              " AND last_otp_step < ?", (step, name, step)).rowcount == 1

    def reserve_code_guess(self, name: str, now: int, limit: int, lock_seconds: int) -> bool:
        """Count one code guess before it is checked, in one statement, so that guesses
        arriving at once cannot all be checked before the count locks; False while locked.
        The guess that reaches `limit` sets the lock for the ones after it."""
        with self._db() as db:
            return db.execute(
                "UPDATE desk_accounts SET failures = (CASE WHEN failures >= :limit THEN 0"
                " ELSE failures END) + 1, locked_until = CASE WHEN (CASE WHEN failures >= :limit"
                " THEN 0 ELSE failures END) + 1 >= :limit THEN :until ELSE locked_until END"
                " WHERE name = :name AND locked_until <= :now",
                {"limit": limit, "until": now + lock_seconds, "name": name, "now": now}).rowcount == 1

    def designations(self, conversation_ids: list[str], new_designation) -> dict[str, tuple[str, bool]]:
        """Each conversation's designation and closed flag, giving new ones `new_designation()`."""
        with self._db() as db:
            known = {r["conversation_id"]: (r["designation"], bool(r["closed"])) for r in db.execute(
                "SELECT * FROM desk_conversations").fetchall()}
            for cid in conversation_ids:
                while cid not in known:
                    designation = new_designation()
                    if db.execute("INSERT OR IGNORE INTO desk_conversations (conversation_id, designation)"
                                  " VALUES (?, ?)", (cid, designation)).rowcount:
                        known[cid] = (designation, False)
        return {cid: known[cid] for cid in conversation_ids}

    def set_closed(self, conversation_id: str, closed: bool) -> None:
        with self._db() as db:
            db.execute("UPDATE desk_conversations SET closed = ? WHERE conversation_id = ?",
                       (int(closed), conversation_id))

    def stars(self, name: str) -> set[str]:
        with self._db() as db:
            rows = db.execute("SELECT conversation_id FROM desk_stars WHERE name = ?", (name,)).fetchall()
        return {r["conversation_id"] for r in rows}

    def toggle_star(self, name: str, conversation_id: str) -> None:
        with self._db() as db:
            if not db.execute("DELETE FROM desk_stars WHERE name = ? AND conversation_id = ?",
                              (name, conversation_id)).rowcount:
                db.execute("INSERT INTO desk_stars VALUES (?, ?)", (name, conversation_id))

    def audit(self, actor: str, action: str, about: tuple[Responder, ...] | None = None) -> None:
        with self._db() as db:
            self._audit(db, actor, action, about)

    def audit_entries(self) -> list[tuple[str, str, str, list[str] | None]]:
        """(day, actor, action, audience) newest first; audience None means the whole team."""
        with self._db() as db:
            rows = db.execute("SELECT * FROM desk_audit ORDER BY seq DESC").fetchall()
        return [(r["day"], r["actor"], r["action"],
                 None if r["audience"] is None else json.loads(r["audience"])) for r in rows]

    @staticmethod
    def _audit(db: sqlite3.Connection, actor: str, action: str,
               about: tuple[Responder, ...] | None) -> None:
        audience = None if about is None else json.dumps(sorted(r.name for r in about))
        db.execute("INSERT INTO desk_audit (day, actor, action, audience) VALUES (?, ?, ?, ?)",
                   (today(), actor, action, audience))

    @staticmethod
    def _note_activity(db: sqlite3.Connection, recipients: tuple[Responder, ...]) -> None:
        """Mark a notice due for each recipient with a desk account (and nobody else)."""
        db.executemany("UPDATE desk_accounts SET notice_pending = 1 WHERE name = ?",
                       [(r.name,) for r in recipients])

    @contextmanager
    def _placed(self, conversation_id: str, items: list[StagedItem]) -> Iterator[None]:
        """Payloads durably in place before the rows that point at them; gone again if the rows fail."""
        folder = self.store_dir / conversation_id
        folder.mkdir(mode=0o700, exist_ok=True)
        placed = []
        try:
            for item in items:
                with open(item.temp_path, "rb+") as payload:
                    os.fsync(payload.fileno())
                os.replace(item.temp_path, folder / item.id)
                placed.append(folder / item.id)
            _fsync_dir(folder)
            yield
        except BaseException:
            for path in placed:
                path.unlink(missing_ok=True)
            if not any(folder.iterdir()):
                folder.rmdir()
            raise

    @staticmethod
    def _insert_items(db: sqlite3.Connection, conversation_id: str, origin: str,
                      items: list[StagedItem]) -> None:
        db.executemany(
            "INSERT INTO items (id, conversation_id, origin, header, payload_size, created)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(i.id, conversation_id, origin, i.header, i.payload_size, today()) for i in items])
