"""Payload files: ciphertext placed durably before the rows that point at them.

A payload lives in `store/<bucket>/<conversation>/<item>`, the bucket being
the conversation id's first two hex digits: 256 folders, none holding more
than a few thousand conversations below a million (v0.1.0's flat
`store/<conversation>/` is moved by the `payloads_in_buckets` migration).

A payload is fsynced and renamed into place before its row is committed, so
every row points at a complete file. A crash in between would leave an
orphan in store/ that no row names; so before placing anything, the paths
about to be placed are written to a small journal in tmp/ and removed once
the rows are committed. Start-up reads only the journals, never the whole
store: its cost does not grow with what is stored.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dropbox.storage.database import Database
from dropbox.storage.records import EnvelopeStream, Item, StagedItem, new_id
from keys.atomic_files import fsync_folder
from keys.ids import ID_PATTERN, id_path

JOURNAL = ".placing"


class Payloads:
    """Where each item's ciphertext lives: beside the database, in its store/ and tmp/ folders."""

    def __init__(self, database: Database):
        self._database = database
        self.store_dir, self.tmp_dir = database.store_dir, database.tmp_dir

    def recover(self) -> None:
        """Drop what a crash left half-written. Only at server start: never under a running server."""
        for journal in self.tmp_dir.glob(f"*{JOURNAL}"):
            self._drop_unrecorded(journal)
        for leftover in self.tmp_dir.iterdir():
            leftover.unlink() if leftover.is_file() else shutil.rmtree(leftover)

    def conversation_folder(self, conversation_id: str) -> Path:
        return id_path(self.store_dir, conversation_id[:2], conversation_id)

    def payload_path(self, item: Item) -> Path:
        return id_path(self.store_dir, item.conversation_id[:2], item.conversation_id, item.id)

    @contextmanager
    def envelope(self, item: Item) -> Iterator[EnvelopeStream]:
        """The stored item as one envelope stream: header from its row, then the payload file."""
        with open(self.payload_path(item), "rb") as payload:
            yield EnvelopeStream(item.header, payload)

    def _remove_folder(self, conversation_id: str) -> None:
        shutil.rmtree(self.conversation_folder(conversation_id), ignore_errors=True)

    @contextmanager
    def _placed(self, conversation_id: str, items: list[StagedItem]) -> Iterator[None]:
        """Payloads durably in place before the rows that point at them; gone again if the rows fail."""
        folder = self.conversation_folder(conversation_id)
        journal = self._journal(conversation_id, items)
        placed = []
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            for item in items:
                with open(item.temp_path, "rb+") as payload:
                    os.fsync(payload.fileno())
                target = id_path(folder, item.id)
                os.replace(item.temp_path, target)
                placed.append(target)
            fsync_folder(folder)
            yield
        except BaseException:
            for path in placed:
                path.unlink(missing_ok=True)
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
            raise
        finally:
            journal.unlink(missing_ok=True)

    def _journal(self, conversation_id: str, items: list[StagedItem]) -> Path:
        """The payloads about to be placed, durably noted (ids only: nothing about their content)."""
        journal = self.tmp_dir / f"{new_id()}{JOURNAL}"
        with open(journal, "w", encoding="ascii") as out:
            out.write("".join(f"{conversation_id} {item.id}\n" for item in items))
            out.flush()
            os.fsync(out.fileno())
        fsync_folder(self.tmp_dir)
        return journal

    def _drop_unrecorded(self, journal: Path) -> None:
        """Remove each payload a journal names that no committed row points at."""
        # Only well-formed ids become paths: a torn last line is simply skipped.
        entries = [e for e in (line.split() for line in journal.read_text("ascii", "replace").splitlines())
                   if len(e) == 2 and all(ID_PATTERN.fullmatch(part) for part in e)]
        with self._database.transaction() as db:
            for conversation_id, item_id in entries:
                if db.execute("SELECT 1 FROM items WHERE id = ? AND conversation_id = ?",
                              (item_id, conversation_id)).fetchone() is None:
                    id_path(self.conversation_folder(conversation_id), item_id).unlink(missing_ok=True)
        for conversation_id in {e[0] for e in entries}:
            folder = self.conversation_folder(conversation_id)
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
