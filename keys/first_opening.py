"""What this machine learned when it first read each conversation: the point of trust.

Every bundle comes through the server, and the server can seal whatever it likes
to the responders' keys: envelopes are not signed by the reporter. So once a
responder has read a conversation, a later bundle must not be able to change
what they read then. The first time this machine reads a conversation (`keys
open`, or `keys reply`), it keeps the report's item id and a hash of its
contents, the reporter key (the one sealed in the report; for a report made by
v0.1.0, which seals none, the one the bundle listed), the reporter's item
places and the newest bundle version seen. Every later bundle of that
conversation is checked against it, whatever folder it is opened into, whatever
designation or bundle version it comes with; `keys reply` seals to this
reporter key and no other.

It is kept per conversation id in `first-opened/` inside the trusted folder
beside the key (docs/FORMAT.md, "First openings"), one small JSON file each,
written whole under a temporary name and renamed, 0600 in 0700 folders.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keys import ids, strict
from keys.atomic_files import fsync_folder, write_atomically
from keys.errors import FormatError
from keys.private_files import make_folder

FOLDER = "first-opened"
# Up to this many records saved in one run are made durable one by one (a fsync of each and of
# its folders); more at once with one sync(2) of the machine, which also writes everything else
# waiting for the disk -- a gigabyte of attachments just opened, say -- so it is kept for runs
# where thousands of fsyncs would cost more.
FEW_RECORDS = 32


class ReportDigest:
    """An item's plaintext chunks, hashed while the item may be a report: the hash kept of a
    report is BLAKE2b-32 of its item's plaintext (metadata and body), person "odbx-report".
    Set `hashing` to False once the item is known to be something else."""

    def __init__(self, chunks: Iterable[bytes]):
        self._chunks = chunks
        self.hash = hashlib.blake2b(digest_size=32, person=b"odbx-report")
        self.hashing = True

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            if self.hashing:
                self.hash.update(chunk)
            yield chunk


class Contradiction(FormatError):
    """A bundle says something other than what this machine learned at the first opening."""


@dataclass
class FirstOpening:
    """One conversation as first read here, and what later bundles added to it."""
    id: str
    bundle_version: int = 0
    designation: str = ""
    report_id: str = ""
    report_hash: str = ""  # hex
    report_sealed_key: bool = False  # False: a report made by v0.1.0, which seals no key
    reporter_key: str = ""  # Base64; "" while not known
    places: dict[int, str] = field(default_factory=dict)  # reporter position -> item id
    changed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"conversation": self.id, "bundle_version": self.bundle_version,
                "designation": self.designation, "reporter_key": self.reporter_key,
                "report": {"id": self.report_id, "blake2b": self.report_hash,
                           "sealed_key": self.report_sealed_key} if self.report_id else None,
                "places": {str(k): v for k, v in sorted(self.places.items())}}

    @classmethod
    def from_json(cls, record: dict[str, Any], conversation_id: str) -> FirstOpening:
        if set(record) != {"conversation", "bundle_version", "designation", "reporter_key",
                           "report", "places"} or record["conversation"] != conversation_id:
            raise ValueError
        report = record["report"]
        if report is not None and set(report) != {"id", "blake2b", "sealed_key"}:
            raise ValueError
        return cls(conversation_id, strict.size(record["bundle_version"], "first opening"),
                   strict.text(record["designation"], "first opening", 200),
                   ids.check_id(report["id"], "first opening") if report else "",
                   strict.text(report["blake2b"], "first opening", 64) if report else "",
                   bool(report and report["sealed_key"] is True),
                   strict.text(record["reporter_key"], "first opening", 64),
                   {int(k): ids.check_id(v, "first opening") for k, v in record["places"].items()})

    def check_bundle(self, version: int, designation: str) -> list[str]:
        """A bundle of this conversation: refused if older in version than one read before."""
        if version < self.bundle_version:
            raise Contradiction(f"this conversation was first opened on this machine from a version "
                                f"{self.bundle_version} bundle; a version {version} bundle of it "
                                "is refused (the server may be passing off a replaced report)")
        notes = []
        if self.designation and designation and designation != self.designation:
            notes.append(f"the server now names this conversation {designation}; it was "
                         f"{self.designation} when first opened here")
        if version > self.bundle_version:
            self.bundle_version, self.changed = version, True
        if designation and not self.designation:
            self.designation, self.changed = designation, True
        return notes

    def check_report(self, item_id: str, digest: str, sealed_key: str, envelope_version: int) -> None:
        """The conversation's report: the one first read here, unchanged, or (the first) kept."""
        if envelope_version >= 2 and not sealed_key:
            raise FormatError("a report of format 2 without the reporter key sealed in it: not "
                              "written (the server may be trying to choose where replies go)")
        if self.report_id and item_id != self.report_id:
            raise Contradiction(f"a second report for this conversation (the one first opened on "
                                f"this machine is {self.report_id}): not written, do not reply")
        if self.report_id and digest != self.report_hash:
            raise Contradiction("the report is not the one first opened on this machine (same id, "
                                "other contents: replaced by the server?): not written, do not reply")
        if sealed_key and self.reporter_key and sealed_key != self.reporter_key:
            raise Contradiction("the report seals a reporter key other than the one learned when "
                                "the conversation was first opened on this machine: not written, "
                                "do not reply")
        if not self.report_id:
            self.report_id, self.report_hash, self.changed = item_id, digest, True
            self.report_sealed_key = bool(sealed_key)
            if sealed_key:
                self.reporter_key = sealed_key

    def trusted_reporter_key(self, listed: str) -> str:
        """The reporter key to believe, given the one a bundle lists ("" if it lists none);
        "" while none is known. A report of v0.1.0 seals none: then the first one a bundle
        listed after the report was read is kept, and every later one must equal it."""
        if self.reporter_key:
            if listed and listed != self.reporter_key:
                raise Contradiction("the bundle names a reporter key other than the one learned "
                                    "when the conversation was first opened on this machine: do not "
                                    "reply to it (the server may be trying to read replies)")
            return self.reporter_key
        if self.report_id and not self.report_sealed_key and listed:
            self.reporter_key, self.changed = listed, True
        return self.reporter_key

    def check_place(self, position: int, item_id: str) -> None:
        """A reporter item: its place is the one it was first read in, and nobody else's."""
        known = self.places.get(position)
        if known is not None and known != item_id:
            raise Contradiction(f"a second item in the reporter's place {position} (this machine "
                                f"first opened {known} there): not written")

    def record_place(self, position: int, item_id: str) -> None:
        if self.places.get(position) != item_id:
            self.places[position], self.changed = item_id, True


class FirstOpenings:
    """The first openings kept in `folder` (None: in memory only, for this run)."""

    def __init__(self, folder: Path | None):
        self.folder = folder
        self._loaded: dict[str, FirstOpening] = {}
        self._made: set[Path] = set()  # folders found or made private this run
        self._unsynced: list[Path] = []  # saved this run, not yet made durable (`sync`)

    @classmethod
    def beside(cls, trusted: Path) -> FirstOpenings:
        return cls(Path(trusted) / FOLDER)

    @staticmethod
    def _path(folder: Path, conversation_id: str) -> Path:
        return folder / conversation_id[:2] / f"{conversation_id}.json"

    def get(self, conversation_id: str) -> FirstOpening:
        """What this machine knows of a conversation; a fresh record if it never read it."""
        ids.check_id(conversation_id, "conversation")
        if conversation_id in self._loaded:
            return self._loaded[conversation_id]
        found = FirstOpening(conversation_id)
        path = self._path(self.folder, conversation_id) if self.folder is not None else None
        if path is not None and path.exists():
            try:
                found = FirstOpening.from_json(
                    strict.load_json(path.read_bytes(), str(path), max_depth=3), conversation_id)
            except (FormatError, KeyError, ValueError, TypeError, AttributeError, OSError):
                raise FormatError(f"{path} is damaged: it is what this machine learned when it first "
                                  "opened the conversation; restore it from a copy") from None
        self._loaded[conversation_id] = found
        return found

    def save(self, first: FirstOpening) -> None:
        if self.folder is None or not first.changed:
            return
        path = self._path(self.folder, first.id)
        for folder in (self.folder.parent, self.folder, path.parent):  # trusted/ may be new
            if folder not in self._made:
                make_folder(folder)
                self._made.add(folder)
        # Whole or not at all at once; durable with the others in `sync`, so that opening
        # thousands of conversations waits for the disk once, not twice per conversation.
        write_atomically(path, json.dumps(first.to_json(), sort_keys=True).encode("utf-8"), durable=False)
        self._unsynced.append(path)
        first.changed = False

    def sync(self) -> None:
        """Every record saved since the last call made durable: a few by a fsync of each and of
        the folders holding them, many with one sync(2) of the machine's file systems (a fsync
        per record and per folder cost thousands of journal commits for a large bundle). A
        crash before it loses what the run learned and wrote alike (the opened files are not
        synced either), so the next run learns it again from the same bundle."""
        if len(self._unsynced) > FEW_RECORDS:
            os.sync()
        elif self._unsynced:
            for path in self._unsynced:
                descriptor = os.open(path, os.O_RDONLY)
                try:
                    os.fsync(descriptor)
                finally:
                    os.close(descriptor)
            # Each record's folder holds its new name; the folders above, any folder made.
            for folder in sorted({path.parent for path in self._unsynced}
                                 | {made.parent for made in self._made if made.parent.exists()}):
                fsync_folder(folder)
        self._unsynced.clear()
