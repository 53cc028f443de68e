"""Payload files: ciphertext placed durably before the rows that point at them.

A payload is fsynced and renamed into place before its row is committed, so
every row points at a complete file; a crash in between leaves at most an
orphan file in tmp/, which start-up removes.
"""
from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from dropbox.storage.database import Database
from dropbox.storage.records import EnvelopeStream, Item, StagedItem


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Payloads(Database):
    """Where each item's ciphertext lives: `store/<conversation>/<item>`."""

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

    def payload_path(self, item: Item) -> Path:
        return self.store_dir / item.conversation_id / item.id

    @contextmanager
    def envelope(self, item: Item) -> Iterator["EnvelopeStream"]:
        """The stored item as one envelope stream: header from its row, then the payload file."""
        with open(self.payload_path(item), "rb") as payload:
            yield EnvelopeStream(item.header, payload)

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
