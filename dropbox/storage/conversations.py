"""Conversations and their items: what reporters and the team have sent, as ciphertext."""
from __future__ import annotations

import sqlite3

from nacl.public import PublicKey

from dropbox.storage.desk import record_audit
from dropbox.storage.figures import keep_counts_of_deleted
from dropbox.storage.payloads import Payloads
from dropbox.storage.records import (REPORTER_SEES, Conversation, Item, StagedItem, StorageError,
                                     _conversation, _item, _recipients, _recipients_json, batches, new_id, row_id,
                                     today)
from keys.codename import desk_name
from keys.envelope import INVITED_ORIGINS, ITEM_ORIGINS, Origin
from keys.responder import Responder

NO_SEQ_AFTER = 2 ** 63 - 1  # SQLite's largest integer: above every item's number
REPORTER = "the reporter"  # how the audit names a conversation's reporter: never otherwise
_MINE = "EXISTS (SELECT 1 FROM conversation_recipients r WHERE r.name = :name AND r.conversation_id = c.id)"
_INACTIVE_MINE = f"c.last_activity < :day AND {_MINE}"
# The items from the reporter in `name`'s conversations, numbered between :after and :before
# and made before :day, in the order they arrived, each with how far its conversation's own
# readers have downloaded (`taken`). A conversation waits unread if one of its items is past
# `taken`; the first such item stands for it.
_WAITING = """
SELECT * FROM (SELECT i.seq, i.conversation_id AS id, i.created AS since, max(:after, coalesce(
    (SELECT max(a.last_download_seq) FROM conversation_recipients r JOIN desk_accounts a ON a.name = r.name
     WHERE r.conversation_id = i.conversation_id), 0)) AS taken
  FROM items i NOT INDEXED WHERE i.seq > :after AND i.seq < :before AND i.origin = 'reporter'
  AND i.created < :day AND EXISTS (SELECT 1 FROM conversation_recipients r
                                   WHERE r.name = :name AND r.conversation_id = i.conversation_id)) AS w
"""
_FIRST_WAITING = ("w.seq > w.taken AND NOT EXISTS (SELECT 1 FROM items j WHERE j.conversation_id = w.id"
                  " AND j.origin = 'reporter' AND j.seq > w.taken AND j.seq < w.seq)")


class Conversations(Payloads):
    """Conversations and their items, rows and payload files together."""

    def new_conversation_id(self) -> str:
        """An id for a new conversation whose desk name (`keys.codename.desk_name`, two words
        derived from the id) no conversation holds. Names are then unique without a third
        word, which would tell a responder that a conversation they cannot see holds the
        two-word one."""
        with self._database.transaction() as db:
            while True:
                conversation_id = new_id()
                if db.execute("SELECT 1 FROM desk_conversations WHERE designation = ?",
                              (desk_name(conversation_id),)).fetchone() is None:
                    return conversation_id

    def create_conversation(self, lookup_id: str, reporter_key: PublicKey,
                            recipients: tuple[Responder, ...], items: list[StagedItem],
                            conversation_id: str | None = None, codename_tag: bytes | None = None) -> str:
        """`conversation_id` is chosen by the caller when the items are bound to it already
        (`new_conversation_id`); the conversation is named in the same transaction, and
        StorageError stores nothing if another conversation took its name meanwhile.
        `codename_tag`: see `dropbox.ratelimit`."""
        conversation_id = conversation_id or self.new_conversation_id()
        with self._placed(conversation_id, items), self._database.transaction() as db:
            db.execute("INSERT INTO conversations (id, lookup_id, reporter_key, recipients, created,"
                       " last_activity, codename_tag) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (conversation_id, lookup_id, bytes(reporter_key),
                        _recipients_json(recipients), today(), today(), codename_tag))
            if not db.execute("INSERT OR IGNORE INTO desk_conversations (conversation_id, designation)"
                              " VALUES (?, ?)", (conversation_id, desk_name(conversation_id))).rowcount:
                raise StorageError("another conversation has this one's name; nothing was stored")
            db.executemany("INSERT INTO conversation_recipients (name, conversation_id) VALUES (?, ?)",
                           [(r.name, conversation_id) for r in recipients])
            self._insert_items(db, conversation_id, Origin.REPORTER, items)
            self._note_activity(db, recipients)
        return conversation_id

    def add_items(self, conversation_id: str, origin: Origin, items: list[StagedItem],
                  first_position: int | None = None, invitation_id: str | None = None) -> None:
        """`first_position`: the place among `origin`'s items the items were bound to; if another
        submission took it meanwhile, nothing is stored (StorageError) rather than two items in
        one place. `invitation_id`: the invitation of an item of the person reported, or to them."""
        with self._placed(conversation_id, items), self._database.transaction() as db:
            db.execute("BEGIN IMMEDIATE")  # the count and the insert, with no writer between them
            if first_position is not None and self._count_items(db, conversation_id, origin) != first_position:
                raise StorageError("another submission to this conversation came first")
            self._insert_items(db, conversation_id, origin, items, invitation_id)
            if origin == Origin.RESPONDENT:
                db.execute("UPDATE invitations SET last_response = ? WHERE id = ?", (today(), invitation_id))
            if origin in REPORTER_SEES:  # the reporter's page shows the deletion day it sets
                db.execute("UPDATE conversations SET last_activity = ? WHERE id = ?",
                           (today(), conversation_id))
            row = db.execute("SELECT recipients FROM conversations WHERE id = ?",
                             (conversation_id,)).fetchone()
            recipients = _recipients(row["recipients"])
            self._note_activity(db, recipients)
            # A reporter who writes again still wants the conversation: a deletion a responder
            # asked for ends, and its readers see why in the desk's audit.
            if origin == "reporter" and db.execute("DELETE FROM desk_deletions WHERE conversation_id = ?",
                                                   (conversation_id,)).rowcount:
                record_audit(db, REPORTER, "wrote again, which cancelled the deletion", recipients)

    def delete_conversation(self, conversation_id: str, actor: str) -> None:
        """Remove a conversation's rows and ciphertext at once; the audit keeps only who and when."""
        self.delete_conversations([conversation_id], actor)

    def delete_conversations(self, conversation_ids: list[str], actor: str) -> None:
        """`delete_conversation` for many, a batch per transaction: each deletion costs the same
        however many conversations are stored (every table it touches is indexed by conversation).
        When it returns, no database file holds what it deleted (`Database.forget_deleted`)."""
        for batch, marks in batches(conversation_ids):
            with self._database.transaction() as db:
                found = [(row_id(row["id"]), _recipients(row["recipients"])) for row in db.execute(
                    f"SELECT id, recipients FROM conversations WHERE id IN ({marks})", batch)]
                keep_counts_of_deleted(db, [cid for cid, _ in found])  # figures without content
                db.executemany("DELETE FROM conversations WHERE id = ?", [(cid,) for cid, _ in found])
                for _, recipients in found:
                    record_audit(db, actor, "deleted a conversation", recipients)
            for conversation_id, _ in found:
                self._remove_folder(conversation_id)
        if conversation_ids:
            self._database.forget_deleted()

    def inactive_since(self, day: str) -> dict[str, str]:
        """Conversation id → last activity, for those whose last activity was before `day`."""
        with self._database.transaction() as db:
            rows = db.execute("SELECT id, last_activity FROM conversations WHERE last_activity < ?",
                              (day,)).fetchall()
        return {row_id(r["id"]): r["last_activity"] for r in rows}

    def inactive_for(self, name: str, day: str, limit: int = -1, offset: int = 0) -> tuple[int, list[tuple[str, str]]]:
        """How many of `name`'s conversations were last active before `day`, and `limit` of them
        from `offset`, least recently active first: (id, last activity). One walk of the
        activity index up to `day`: the desk shows the count on every page, the rows a page at
        a time."""
        with self._database.transaction() as db:
            rows = db.execute(
                "SELECT c.id, c.last_activity, count(*) OVER () AS total FROM conversations c"
                f" WHERE c.last_activity < :day AND {_MINE} ORDER BY c.last_activity, c.created, c.id"
                " LIMIT :limit OFFSET :offset",
                {"day": day, "name": name, "limit": limit, "offset": offset}).fetchall()
            total = rows[0]["total"] if rows else self._count_conversations(db, _INACTIVE_MINE, day=day, name=name)
        return total, [(row_id(r["id"]), r["last_activity"]) for r in rows]

    def waiting_for(self, name: str, after_seq: int, created_before: str, limit: int,
                    after: str | None = None) -> list[tuple[str, str]]:
        """`limit` of `name`'s conversations with a report or follow-up older than
        `created_before`, newer than `after_seq` and past every download of every one of its
        readers (`last_download_seq`), longest waiting first, from the one after conversation
        `after`: (id, the day its first such item came). Items are walked in the order they
        arrived and the walk stops when the page is full, so a page costs the same however many
        wait (a cursor, not an offset: no page walks the ones before it)."""
        with self._database.transaction() as db:
            marks = {"name": name, "after": after_seq, "day": created_before, "limit": limit,
                     "before": self._first_on_or_after(db, created_before), "from": 0}
            if after is not None:
                row = db.execute(f"{_WAITING} WHERE w.id = :cursor AND w.seq > w.taken ORDER BY w.seq LIMIT 1",
                                 {**marks, "cursor": after}).fetchone()
                marks["from"] = row["seq"] if row else 0
            rows = db.execute(f"{_WAITING} WHERE w.seq > :from AND {_FIRST_WAITING} ORDER BY w.seq LIMIT :limit",
                              marks).fetchall()
        return [(row_id(r["id"]), r["since"]) for r in rows]

    def count_waiting_for(self, name: str, after_seq: int, created_before: str, up_to: int) -> int:
        """How many conversations `waiting_for` would list, counted up to `up_to` and no further."""
        with self._database.transaction() as db:
            marks = {"name": name, "after": after_seq, "day": created_before, "limit": up_to,
                     "before": self._first_on_or_after(db, created_before)}
            return int(db.execute(f"SELECT count(*) FROM ({_WAITING} WHERE {_FIRST_WAITING} LIMIT :limit)",
                                  marks).fetchone()[0])

    @staticmethod
    def _count_conversations(db: sqlite3.Connection, where: str, **marks: str) -> int:
        return int(db.execute(f"SELECT count(*) FROM conversations c WHERE {where}", marks).fetchone()[0])

    @staticmethod
    def _first_on_or_after(db: sqlite3.Connection, day: str) -> int:
        """The number of the first item made on or after `day` (items are numbered in the order
        they arrive), or one past every number."""
        first = db.execute("SELECT seq FROM items INDEXED BY items_by_day WHERE created >= ?"
                           " ORDER BY created, seq LIMIT 1", (day,)).fetchone()
        return int(first["seq"]) if first else NO_SEQ_AFTER

    def waiting_reports(self, after_seq: int, created_before: str) -> set[str]:
        """Conversations with an item from the reporter newer than `after_seq` and made before
        `created_before`.

        Items are numbered in the order they arrive, so those made before a day come before
        the first one made on or after it (found in the `items_by_day` index): only the
        items both untaken and old are walked, never all that are untaken or all that are
        old. (Were the clock set back a day, an item stamped with the earlier day would
        wait for the boundary to pass it: a late warning, never a false one.)"""
        with self._database.transaction() as db:
            before = self._first_on_or_after(db, created_before)
            return {row_id(r["conversation_id"]) for r in db.execute(
                "SELECT DISTINCT conversation_id FROM items NOT INDEXED WHERE seq > ? AND seq < ?"
                " AND origin = 'reporter' AND created < ?", (after_seq, before, created_before))}

    def recipient_of(self, name: str, conversation_ids: list[str]) -> set[str]:
        """Those of `conversation_ids` whose recipient list names `name`."""
        mine: set[str] = set()
        with self._database.transaction() as db:
            for batch, marks in batches(conversation_ids):
                mine.update(row_id(r["conversation_id"]) for r in db.execute(
                    "SELECT conversation_id FROM conversation_recipients WHERE name = ? AND"
                    f" conversation_id IN ({marks})", (name, *batch)))
        return mine

    def count_for(self, name: str) -> int:
        """How many conversations name `name` as a recipient."""
        with self._database.transaction() as db:
            return self._count_for(db, name)

    @staticmethod
    def _count_for(db: sqlite3.Connection, name: str) -> int:
        return int(db.execute("SELECT count(*) FROM conversation_recipients WHERE name = ?",
                              (name,)).fetchone()[0])

    def find_by_lookup(self, lookup_id: str) -> Conversation | None:
        with self._database.transaction() as db:
            row = db.execute("SELECT * FROM conversations WHERE lookup_id = ?", (lookup_id,)).fetchone()
        return None if row is None else _conversation(row)

    def has_codename_tag(self, tag: bytes) -> bool:
        """Whether some conversation's codename has this tag (`dropbox.ratelimit`)."""
        with self._database.transaction() as db:
            return db.execute("SELECT 1 FROM conversations WHERE codename_tag = ? LIMIT 1",
                              (tag,)).fetchone() is not None

    def tag_codename(self, conversation_id: str, tag: bytes) -> None:
        """Give a conversation its codename's tag: one made before tags were stored gains it
        at its reporter's next login (written only when it differs)."""
        with self._database.transaction() as db:
            db.execute("UPDATE conversations SET codename_tag = ? WHERE id = ? AND codename_tag IS NOT ?",
                       (tag, conversation_id, tag))

    def conversation(self, conversation_id: str) -> Conversation | None:
        with self._database.transaction() as db:
            row = db.execute("SELECT * FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        return None if row is None else _conversation(row)

    def items(self, conversation_id: str, reporter_sees: bool = False) -> list[Item]:
        """The conversation's items in the order they came; with `reporter_sees`, only those the
        reporter's pages may show (never a note)."""
        origins = REPORTER_SEES if reporter_sees else ITEM_ORIGINS
        with self._database.transaction() as db:
            rows = db.execute("SELECT * FROM items WHERE conversation_id = ? AND origin IN"
                              f" ({', '.join('?' * len(origins))}) ORDER BY seq",
                              (conversation_id, *origins)).fetchall()
        return [_item(r) for r in rows]

    def report(self, conversation_id: str) -> Item | None:
        """The conversation's report: its first item, made with it."""
        with self._database.transaction() as db:
            row = db.execute("SELECT * FROM items WHERE conversation_id = ? ORDER BY seq LIMIT 1",
                             (conversation_id,)).fetchone()
        return None if row is None else _item(row)

    def reporter_items(self, conversation_id: str) -> int:
        """How many items the reporter has added: the place of their next one."""
        with self._database.transaction() as db:
            return self._reporter_items(db, conversation_id)

    def respondent_items(self, conversation_id: str) -> int:
        """How many items the person reported has added (every invitation): the place of the next."""
        with self._database.transaction() as db:
            return self._count_items(db, conversation_id, Origin.RESPONDENT)

    @classmethod
    def _reporter_items(cls, db: sqlite3.Connection, conversation_id: str) -> int:
        return cls._count_items(db, conversation_id, Origin.REPORTER)

    @staticmethod
    def _count_items(db: sqlite3.Connection, conversation_id: str, origin: Origin) -> int:
        return int(db.execute("SELECT COUNT(*) FROM items WHERE conversation_id = ? AND origin = ?",
                              (conversation_id, origin)).fetchone()[0])

    def items_after(self, seq: int, recipient: str | None = None) -> dict[str, list[Item]]:
        """Items newer than `seq`, grouped by conversation, oldest first; with `recipient`, only
        in the conversations on whose recipient list they are."""
        with self._database.transaction() as db:
            if recipient is None:
                rows = db.execute("SELECT * FROM items WHERE seq > ? ORDER BY seq", (seq,)).fetchall()
            else:
                rows = db.execute(self._shorter_walk(db, recipient, seq), (recipient, seq)).fetchall()
        grouped: dict[str, list[Item]] = {}
        for row in rows:
            grouped.setdefault(row["conversation_id"], []).append(_item(row))
        return grouped

    def with_items_after(self, seq: int, recipient: str) -> tuple[list[str], int]:
        """The ids of `recipient`'s conversations holding items newer than `seq`, oldest made
        first, and the newest item then stored: what "my bundle" takes, named without reading a
        single item's header, so that the bundle can be written a batch of conversations at a
        time (`items_of` up to that item: one arriving meanwhile waits for the next bundle)."""
        with self._database.transaction() as db:
            walk = self._shorter_walk(db, recipient, seq).replace("SELECT i.*", "SELECT i.conversation_id")
            walk = walk.rpartition(" ORDER BY")[0]
            # The walk first, then its conversations: with nothing new, nothing is read (an IN
            # made SQLite scan every conversation in the order wanted, 85 ms at 100,000).
            ids = [row_id(r["id"]) for r in db.execute(
                f"SELECT c.id FROM (SELECT DISTINCT conversation_id AS id FROM ({walk})) AS w"
                " CROSS JOIN conversations c ON c.id = w.id ORDER BY c.created, c.id",
                (recipient, seq))]
            newest = int(db.execute("SELECT coalesce(max(seq), 0) FROM items").fetchone()[0])
        return ids, newest

    def items_of(self, conversation_ids: list[str], after_seq: int, up_to_seq: int = NO_SEQ_AFTER
                 ) -> dict[str, list[Item]]:
        """The items of these conversations numbered after `after_seq` and up to `up_to_seq`,
        grouped, oldest first."""
        grouped: dict[str, list[Item]] = {cid: [] for cid in conversation_ids}
        with self._database.transaction() as db:
            for batch, marks in batches(conversation_ids):
                # By conversation, then number: the index, not a walk of every item in the range.
                for row in db.execute(f"SELECT * FROM items INDEXED BY items_by_conversation WHERE"
                                      f" conversation_id IN ({marks}) AND seq > ? AND seq <= ?"
                                      " ORDER BY conversation_id, seq", (*batch, after_seq, up_to_seq)):
                    grouped[row["conversation_id"]].append(_item(row))
        return grouped

    def conversations_of(self, conversation_ids: list[str]) -> dict[str, Conversation]:
        """These conversations, those still stored, by id."""
        found: dict[str, Conversation] = {}
        with self._database.transaction() as db:
            for batch, marks in batches(conversation_ids):
                found.update((row_id(r["id"]), _conversation(r)) for r in db.execute(
                    f"SELECT * FROM conversations WHERE id IN ({marks})", batch))
        return found

    @classmethod
    def _shorter_walk(cls, db: sqlite3.Connection, recipient: str, seq: int) -> str:
        """The query for `items_after` that walks the shorter list: the items newer than `seq`
        (few, when a responder downloads often: "my bundle" with nothing new costs nothing), or
        the responder's own conversations (fewer, when much is new elsewhere: the cost never
        grows with conversations that leave them out). CROSS JOIN makes SQLite walk the first
        table named first."""
        newest = db.execute("SELECT coalesce(max(seq), 0) FROM items").fetchone()[0]
        if newest - seq <= cls._count_for(db, recipient):
            return ("SELECT i.* FROM items i CROSS JOIN conversation_recipients r"
                    " ON r.name = ?1 AND r.conversation_id = i.conversation_id"
                    " WHERE i.seq > ?2 ORDER BY i.seq")
        return ("SELECT i.* FROM conversation_recipients r CROSS JOIN items i"
                " ON i.conversation_id = r.conversation_id"
                " WHERE r.name = ?1 AND i.seq > ?2 ORDER BY i.seq")

    @staticmethod
    def _note_activity(db: sqlite3.Connection, recipients: tuple[Responder, ...]) -> None:
        """Mark a notice due for each recipient with a desk account (and nobody else)."""
        db.executemany("UPDATE desk_accounts SET notice_pending = 1 WHERE name = ?",
                       [(r.name,) for r in recipients])

    @staticmethod
    def _insert_items(db: sqlite3.Connection, conversation_id: str, origin: Origin,
                      items: list[StagedItem], invitation_id: str | None = None) -> None:
        if origin not in ITEM_ORIGINS:  # the table holds any text: the origins are declared in keys
            raise ValueError(f"not an origin of a conversation's item: {origin!r}")
        if (invitation_id is None) != (origin not in INVITED_ORIGINS):
            raise ValueError("an item names an invitation if and only if it is of the person reported")
        db.executemany(
            "INSERT INTO items (id, conversation_id, origin, header, payload_size, created, proof,"
            " receipt, invitation_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(i.id, conversation_id, origin, i.header, i.payload_size, today(), i.proof, i.receipt,
              invitation_id)
             for i in items])
