"""`keys open`: read a bundle and write out, verified, each item this key may read.

Each item is written through a temporary name renamed only once its envelope
has verified to its last chunk (and, for a reply, its signature), so nothing
half-verified is ever left behind. Before that it is checked against its
binding (its conversation and place), what its folder was given before, and
what this machine learned when it first opened the conversation
(`keys.first_opening`: the report, the reporter key, the reporter's places),
whatever folder it goes to now; a report against the reporter key the bundle
lists; a reply against its author's signing key, pinned on this machine where
it is (`keys.pinning`). What could not be checked is said in a note. Bundles
and envelopes of version 1 (v0.1.0) open too, with the checks their format
allows; an item of format 2 missing what format 2 requires is refused, never
taken for an old one. Where things go is `keys.opened_folder`.
"""
from __future__ import annotations

import base64
import hashlib
import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Iterable
from typing import BinaryIO

from nacl.public import PublicKey

from keys import bundle_v1, envelope
from keys.bundle import BundleReader, ConversationEntry, ItemEntry, bundle_version
from keys.envelope import INVITED_ORIGINS, SIGNED_ORIGINS, Origin
from keys.codename import desk_name
from keys.errors import FormatError
from keys.first_opening import FirstOpening, FirstOpenings, ReportDigest
from keys.items import MAX_REPORT, MAX_TEXT, ItemMeta, Report, split_item
from keys.opened_folder import ConversationFolder, Opened, OpenedFolders
from keys.private_files import create
from keys.responder import Responder, ResponderKey
from keys.safe_text import render_report, sanitise_name, visible



class _Skip(Exception):
    """An item that is not written, and is no fault: it was opened here before."""


@dataclass
class OpenReport:
    conversations: list[Opened] = field(default_factory=list)
    items: int = 0
    excluded: int | None = 0
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def summary(self, name: str) -> str:
        text = f"{name}: opened {self.items} item(s) in {len(self.conversations)} conversation(s)"
        if self.excluded is not None:
            text += f"; excluded from {self.excluded} conversation(s)"
        if self.failures:
            text += f"; {len(self.failures)} item(s) failed to verify and were not written"
        return text


class _Hashing:
    """Reads through to `stream`, hashing what passes (a reply's signature covers its envelope)."""

    def __init__(self, stream: envelope.Readable):
        self._stream = stream
        self.hash = hashlib.blake2b(digest_size=32, person=b"odbx-reply")

    def read(self, size: int = -1, /) -> bytes:
        data = self._stream.read(size)
        self.hash.update(data)
        return data


def _b64(key: PublicKey | None) -> str:
    return "" if key is None else base64.b64encode(bytes(key)).decode("ascii")


def _read_at_most(chunks: Iterable[bytes], limit: int) -> bytes:
    """All of `chunks`, verified to the last one, or FormatError past `limit` bytes."""
    data = bytearray()
    for chunk in chunks:
        data += chunk
        if len(data) > limit:
            raise FormatError("item is too large for its kind")
    return bytes(data)


# A file's body is written this many bytes at a time by a thread of its own.
WRITE_BEHIND_BYTES = 1 << 20


def _write_behind(out: BinaryIO, chunks: Iterable[bytes]) -> None:
    """Write `chunks` to `out` while the next ones are decrypted: libsodium and the disk both
    work without the GIL, so a large attachment's decryption and its writing overlap on two
    cores. At most one batch waits for the disk (memory stays at two batches); a write's error
    is raised here, before the next batch or at the end."""
    with ThreadPoolExecutor(1, thread_name_prefix="write-behind") as writer:
        writing: Future[None] | None = None
        batch: list[bytes] = []
        size = 0
        for chunk in chunks:
            batch.append(chunk)
            size += len(chunk)
            if size >= WRITE_BEHIND_BYTES:
                if writing is not None:
                    writing.result()
                writing, batch, size = writer.submit(_write_all, out, batch), [], 0
        if writing is not None:
            writing.result()
        _write_all(out, batch)


def _write_all(out: BinaryIO, chunks: list[bytes]) -> None:
    for chunk in chunks:
        out.write(chunk)

class _Opener:
    def __init__(self, key: ResponderKey, out_dir: Path, report: OpenReport,
                 trusted: dict[str, Responder], first_openings: FirstOpenings, bundle_version: int):
        self.key, self.report, self.trusted = key, report, trusted
        self.mine = bytes(key.secret_key.public_key)
        self.folders = OpenedFolders(out_dir, report.conversations)
        self.first_openings, self.bundle_version = first_openings, bundle_version
        self.first: FirstOpening | None = None
        self.refused: str | None = None  # the conversation being skipped, contradicting the first opening

    def conversation(self, entry: ConversationEntry) -> ConversationFolder | None:
        """The folder of `entry`'s conversation, or None (and a failure said once) if the bundle
        contradicts what this machine learned when it first opened it: nothing of it is written."""
        if self.first is not None and self.first.id == entry.id:
            return None if self.refused == entry.id else self.folders.conversation(entry)
        self._save_first()
        self.first, self.refused = self.first_openings.get(entry.id), None
        try:
            notes = self.first.check_bundle(self.bundle_version, entry.designation)
            self.first.trusted_reporter_key(_b64(entry.reporter_key))
        except FormatError as exc:
            self.refused = entry.id
            self.report.failures.append(f"{entry.id}: {exc}; nothing of it was written")
            return None
        self.report.warnings += [f"{entry.id}: {note}" for note in notes]
        return self.folders.conversation(entry)

    @property
    def opening(self) -> FirstOpening:
        """The first opening of the conversation `conversation` last returned a folder for."""
        if self.first is None:
            raise ValueError("an item is opened only after its conversation")
        return self.first

    def _save_first(self) -> None:
        if self.first is not None:
            self.first_openings.save(self.first)

    def close(self) -> None:
        self.folders.close()
        self._save_first()
        self.first_openings.sync()

    def item(self, conversation: ConversationFolder | None, item: ItemEntry | None, item_id: str,
             view: envelope.Readable) -> None:
        if conversation is None:
            return
        try:
            line, notes = self._open_item(conversation, item, item_id, view)
        except _Skip as skipped:
            self.report.warnings.append(f"{conversation.entry.id}/{item_id}: {skipped}")
            return
        except FormatError as exc:
            self.report.failures.append(f"{conversation.entry.id}/{item_id}: {exc}")
            return
        for note in notes:
            self.report.warnings.append(f"{conversation.entry.id}/{item_id}: {note}")
        conversation.add_to_index(line, notes)
        self.report.items += 1

    def _open_item(self, conversation: ConversationFolder, item: ItemEntry | None, item_id: str,
                   view: envelope.Readable) -> tuple[str, list[str]]:
        entry, notes = conversation.entry, list[str]()
        # Only a team item or a note is signed over its envelope: hashing every reporter
        # attachment too would cost about as much as decrypting it.
        hashing = _Hashing(view) if item is not None and item.origin in (*SIGNED_ORIGINS, Origin.NOTE) else None
        if hashing is not None:
            view = hashing
        header = envelope.read_header(view)
        file_key = envelope.unwrap_file_key(header, self.key.secret_key)
        self._check_place(conversation, item, item_id, header.binding, notes)
        temp = conversation.partial(item_id)
        try:
            with create(temp) as out:
                plaintext = ReportDigest(envelope.open_payload(view, header, file_key))
                meta, body = split_item(iter(plaintext))
                notes += _check_kind(item, meta)
                plaintext.hashing = meta.kind == "report"
                if meta.kind != "report" and item_id in conversation.state.opened:
                    raise _Skip("opened before into this folder; not written again")
                if meta.kind == "report":
                    out.write(render_report(meta.date, Report.decode(_read_at_most(body, MAX_REPORT))))
                    self._check_report(conversation, meta, item_id, header,
                                       plaintext.hash.hexdigest(), notes)
                    if item_id in conversation.state.opened:
                        raise _Skip("opened before into this folder (and unchanged); not written again")
                elif meta.kind in ("message", "reply", "note"):
                    text = _read_at_most(body, MAX_TEXT).decode("utf-8", errors="replace")
                    out.write(visible(text).encode("utf-8"))
                _write_behind(out, body)  # a file's body; the others are read to their end already
            expected = _expected_kind(item)
            if meta.kind == "reply" and item is not None and item.origin not in SIGNED_ORIGINS:
                raise FormatError("a reply that the bundle lists as the reporter's")
            if meta.kind == "note" and (item is None or item.origin != Origin.NOTE):
                raise FormatError("a note that the bundle does not list as a note; not written")
            if expected is not None and meta.kind != expected:
                raise FormatError(f"an item the bundle lists as a {expected} that is a "
                                  f"{meta.kind}; not written")
            if meta.kind in ("reply", "note") or expected == "file":
                notes += self._check_signed(entry, item, item_id, meta, header,
                                            None if hashing is None else hashing.hash.digest())
            author = "" if item is None or item.proof is None else item.proof.author
            final, line = conversation.place(meta, item_id, author,
                                             None if item is None else item.attached_to,
                                             Origin.REPORTER if item is None else item.origin)
            os.replace(temp, final)
            conversation.state.record(item_id, header.binding)
            if header.binding is not None and header.binding.origin == "reporter":
                self.opening.record_place(header.binding.position, item_id)
            return line, notes
        finally:
            temp.unlink(missing_ok=True)

    def _check_place(self, conversation: ConversationFolder, item: ItemEntry | None, item_id: str,
                     binding: envelope.Binding | None, notes: list[str]) -> None:
        """An item must be in the conversation and place it was sealed for, and new; the place
        is also checked against the first opening, whatever folder that went to."""
        state = conversation.state
        # A report opened before is read again all the same: a replaced one must not pass unseen.
        may_be_report = binding is None or (binding.origin, binding.position) == ("reporter", 0)
        if item_id in state.opened and not (
                may_be_report and self.opening.report_id in ("", item_id)):
            raise _Skip("opened before into this folder; not written again")
        if binding is None:
            if item is not None and item.position is not None:
                raise FormatError("the bundle gives a place to an item sealed without one; not written")
            notes.append("made before binding: its place cannot be checked")
            return
        if binding.conversation_id != conversation.entry.id:
            raise FormatError("this item was sealed for another conversation; not written")
        if item is None or item.origin != binding.origin or item.position != binding.position:
            raise FormatError("this item is not in the place it was sealed for; not written")
        if binding.origin != "reporter":
            return
        self.opening.check_place(binding.position, item_id)
        if item_id in state.opened:
            return  # the report, read again only to be checked
        if binding.position in state.positions:
            raise FormatError(f"a second item in the reporter's place {binding.position} "
                              "(repeated or replaced); not written")
        highest = state.highest
        if highest is not None and binding.position < highest:
            notes.append("arrived out of order: the reporter sent it before items already shown")
        elif highest is not None and binding.position > highest + 1:
            # A bundle of new items opened into a fresh folder starts wherever it starts.
            notes.append(f"{binding.position - highest - 1} earlier item(s) of the reporter are "
                         "missing: withheld or dropped by the server")

    def _check_report(self, conversation: ConversationFolder, meta: ItemMeta, item_id: str,
                      header: envelope.Header, digest: str, notes: list[str]) -> None:
        """The report: the one first opened here (or now the first), sealing the reporter key
        the bundle lists; only a version 1 envelope (v0.1.0) may seal none."""
        self.opening.check_report(item_id, digest, meta.reporter_key, header.version)
        sealed, listed = meta.reporter_key, _b64(conversation.entry.reporter_key)
        if sealed and listed and listed != sealed:
            raise FormatError("the bundle names a reporter key other than the one sealed in the "
                              "report: do not reply to this conversation; the report was not written")
        self.opening.trusted_reporter_key(listed)
        if sealed:
            conversation.state.reporter_key = sealed
        else:
            notes.append("report made before the reporter key was sealed in it")

    def _check_signed(self, entry: ConversationEntry, item: ItemEntry | None, item_id: str,
                      meta: ItemMeta, header: envelope.Header, digest: bytes | None) -> list[str]:
        """A reply, a reply's file or a note: signed by its author, a recipient, with the key
        pinned here for them (else the bundle's, and said so)."""
        what = "reply" if item is None else {"reply": "reply", "note": "note",
                                             "reply-file": "file sent with a reply"}[item.signed]
        if header.version >= 2 and (item is None or item.proof is None):
            raise FormatError(f"a {what} of format 2 without its author's signature; not written")
        if item is None or item.proof is None:
            return ["unsigned: written before replies were signed, its author cannot be checked"]
        author = next((r for r in entry.recipients if r.name == item.proof.author), None)
        if author is None or author.signing_key is None:
            raise FormatError(f"{what} signed by {item.proof.author}, who is not a recipient with a "
                              "signing key; not written")
        # A key pinned here is the one to trust: the bundle's list comes from the server.
        pinned = self.trusted.get(author.name)
        if pinned is not None and pinned.signing_key is None:
            raise FormatError(f"the key pinned for {author.name} is a v0.1.0 key without a signing "
                              f"key: pin their new .pub (`keys trust NEW.pub --replace`); not written")
        signing_key = pinned.signing_key if pinned is not None else author.signing_key
        if signing_key is None or item.position is None or digest is None:
            raise FormatError("a signed reply without its place or its key; not written")
        if not item.proof.verify(signing_key, entry.id, item_id, item.position, digest, item.signed,
                                 item.attached_to):
            raise FormatError(f"{what} signature does not verify" + (
                f" with the key pinned for {author.name}" if pinned is not None else "") + "; not written")
        if item.signed != "reply-file" and meta.name != item.proof.author:
            raise FormatError(f"{what} claims to be from {sanitise_name(meta.name)!r} but is signed "
                              f"by {item.proof.author}; not written")
        if pinned is None:
            return [f"signature by {author.name} verified with the key the bundle names "
                    f"({author.name} is not pinned here)"]
        return [f"signature by {author.name} verified"]
def _check_kind(item: ItemEntry | None, meta: ItemMeta) -> list[str]:
    """The person reported adds messages and files only, checked before a report is acted on;
    their items, and the team's to them, are named as such (docs/FORMAT.md, "The person
    reported")."""
    if item is None or item.origin not in INVITED_ORIGINS or item.invitation is None:
        return []  # a version 1 bundle lists no origins
    if item.origin == Origin.RESPONDENT and meta.kind not in ("message", "file"):
        raise FormatError("the person reported cannot send a report or a reply; not written")
    if item.origin == Origin.RESPONDENT:
        return [f"response from the person reported (invitation {item.invitation})"]
    return [f"to the person reported (invitation {item.invitation})"]


def _expected_kind(item: ItemEntry | None) -> str | None:
    """The kind an item's origin requires: a team item is a reply or, tied to one, a file; a
    note is a note; a message to the person reported is a reply; the reporter's and the person
    reported's may be others (None: not told, or checked by `_check_kind`)."""
    if item is None or item.origin in (Origin.REPORTER, Origin.RESPONDENT):
        return None
    return {"reply": "reply", "note": "note", "reply-file": "file"}[item.signed]


def open_bundle(bundle_path: Path, key: ResponderKey, out_dir: Path,
                trusted: dict[str, Responder] | None = None,
                first_openings: FirstOpenings | None = None) -> OpenReport:
    """Open what `key` may read of a bundle (version 1 or 2) into `out_dir`; reply signatures
    are checked with the `trusted` (pinned) keys where there is one, else the bundle's, and
    each conversation against its `first_openings` (kept in memory only if not given)."""
    trusted = {key.name: key.responder, **(trusted or {})}
    first_openings = first_openings or FirstOpenings(None)
    report = OpenReport()
    with open(bundle_path, "rb") as stream:
        version = bundle_version(stream)
        if version == 1:
            _open_v1(stream, key, out_dir, report, trusted, first_openings)
            return report
        # Every envelope we write out verifies itself; the rest are none of this key's business.
        reader = BundleReader(stream, whole_checksum=False)
        if reader.head.kind != "export":
            raise FormatError("this is a reply file, not an export: the server imports it")
        if reader.head.recipient is not None \
                and bytes(reader.head.recipient.public_key) != bytes(key.secret_key.public_key):
            raise FormatError(f"this bundle was made for {reader.head.recipient.name}, not for "
                              f"this key ({key.name})")
        opener = _Opener(key, out_dir, report, trusted, first_openings, 2)
        others = set()
        try:
            for entry, envelopes in reader.records():
                if not any(bytes(r.public_key) == opener.mine for r in entry.recipients):
                    others.add(entry.id)  # a bundle made for someone else, or for several
                    continue
                conversation = opener.conversation(entry)
                for item, view in envelopes:
                    opener.item(conversation, item, item.id, view)
            told = reader.end.excluded
            report.excluded = None if told is None and not others else (told or 0) + len(others)
        except FormatError as exc:
            # Items written before the fault verified on their own; say what was opened.
            report.failures.append(f"bundle: {exc}")
        finally:
            opener.close()
    return report


def _open_v1(stream: BinaryIO, key: ResponderKey, out_dir: Path, report: OpenReport,
             trusted: dict[str, Responder], first_openings: FirstOpenings) -> None:
    """A v0.1.0 bundle: unbound items, unsigned replies, a team-wide manifest."""
    reader = bundle_v1.BundleReader(stream, whole_checksum=False)
    if reader.manifest.kind != "export":
        raise FormatError("this is a reply file, not an export: the server imports it")
    mine = bytes(key.secret_key.public_key)
    readable = {c.id for c in reader.manifest.conversations
                if any(bytes(r.public_key) == mine for r in c.recipients)}
    report.excluded = len(reader.manifest.conversations) - len(readable)
    opener = _Opener(key, out_dir, report, trusted, first_openings, 1)
    try:
        for old, item, view in reader.envelopes():
            if old.id in readable:
                # v0.1.0 bundles carry no designation; the desk's is derived from the id (Codename).
                entry = ConversationEntry(old.id, (), old.recipients, old.reporter_key, desk_name(old.id))
                opener.item(opener.conversation(entry), None, item.id, view)
    except FormatError as exc:
        report.failures.append(f"bundle: {exc}")
    finally:
        opener.close()
