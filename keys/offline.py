"""The air-gapped side's two jobs: open a bundle into folders, and write a signed reply.

`open_bundle` writes each item a responder may read into a folder per
conversation, through a temporary name renamed only once the envelope has
verified to its last chunk (and, for a reply, its signature), so nothing
half-verified is ever left behind. It checks each item's binding (its
conversation and place), the reporter key sealed in the report, and every
reply's signature, and says what it could not check. Everything it writes is
for its user alone (folders 0700, files 0600), and free text from a bundle
is shown with control and bidi characters escaped.

`write_reply` seals a message to the conversation's reporter and recipients,
only if every recipient is a key the responder pinned (`keys trust`) and the
reporter key is the one sealed inside the report, and signs it.
"""
from __future__ import annotations

import base64
import datetime
import hashlib
import json
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TextIO

from keys import bundle_v1, envelope, strict
from keys.bundle import (BundleReader, BundleWriter, ConversationEntry, Head, ItemEntry, Proof,
                         bundle_version)
from keys.codename import desk_name
from keys.errors import FormatError
from keys.items import MAX_REPORT, ItemMeta, Report, split_item
from keys.responder import Responder, ResponderKey

ATTACHMENTS = "attachments"
FILES_PER_FOLDER = 1000  # then attachments-2/, attachments-3/, …: no directory grows past a few thousand
INDEX = "index.txt"
STATE = ".opened.json"
MAX_NAME_BYTES = 200
MAX_TEXT = 4 << 20
REPORT = "report.txt"
# Characters that change how text around them is shown: line and paragraph separators, and
# the bidi marks, embeddings, overrides and isolates (Unicode category Cf holds most of them).
_SHOWN_ESCAPED = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


class _Skip(Exception):
    """An item that is not written, and is no fault: it was opened here before."""


@dataclass
class Opened:
    """One conversation this key opened."""
    id: str
    designation: str
    folder: str
    items: int = 0


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


def visible(text: str, keep_newlines: bool = True) -> str:
    """`text` with every control, format (bidi) and separator character shown as \\uXXXX."""
    shown = []
    for char in text:
        if (char == "\n" and keep_newlines) or char == "\t" \
                or unicodedata.category(char) not in _SHOWN_ESCAPED:
            shown.append(char)
        else:
            shown.append(f"\\u{ord(char):04x}" if ord(char) < 0x10000 else f"\\U{ord(char):08x}")
    return "".join(shown)


def sanitise_name(name: str) -> str:
    """A file name that stays inside its folder, is not a dot-file and shows no control characters."""
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(c for c in unicodedata.normalize("NFC", name)
                   if unicodedata.category(c) not in _SHOWN_ESCAPED)
    name = re.sub(r"^[\s.]+", "", name).strip()  # ". .hidden" must not become ".hidden"
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext) > 16:
        stem, dot, ext = name, "", ""
    # File systems count bytes, not characters: keep well under 255 bytes, and the extension.
    while len((stem + dot + ext).encode("utf-8")) > MAX_NAME_BYTES:
        stem = stem[:-1]
    name = (stem + dot + ext).strip()
    return name if name and stem.strip() else "attachment" + (dot + ext if dot else "")


class _Names:
    """Free names in one folder, found in time linear in the number of files it gets."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._taken = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
        self._next: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._taken)

    def take(self, name: str) -> Path:
        if name in self._taken:
            stem, suffix = Path(name).stem, Path(name).suffix
            count = self._next.get(name, 2)
            while f"{stem} ({count}){suffix}" in self._taken:
                count += 1
            self._next[name] = count + 1
            name = f"{stem} ({count}){suffix}"
        self._taken.add(name)
        return self.folder / name


def _mkdir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def _create(path: Path):
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")


def _append(path: Path):
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "a",
                     encoding="utf-8")


class _Hashing:
    """Reads through to `stream`, hashing what passes (a reply's signature covers its envelope)."""

    def __init__(self, stream):
        self._stream = stream
        self.hash = hashlib.blake2b(digest_size=32, person=b"odbx-reply")

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.hash.update(data)
        return data


def _read_at_most(chunks, limit: int) -> bytes:
    """All of `chunks`, verified to the last one, or FormatError past `limit` bytes."""
    data = bytearray()
    for chunk in chunks:
        data += chunk
        if len(data) > limit:
            raise FormatError("item is too large for its kind")
    return bytes(data)


def render_report(date: str, report: Report) -> bytes:
    """The report as a responder reads it: the content warning before anything else."""
    if report.content_warning:
        lines = ["CONTENT WARNING: the reporter says this report may be distressing to read."]
        if report.content_warning_note.strip():
            lines.append(f"Their note: {visible(report.content_warning_note.strip(), False)}")
        lines += ["Take a moment before you read on.", ""]
    else:
        lines = ["No content warning was given.", ""]
    lines += [f"Report sent on {date}", ""]
    for answer in report.answers:
        question = visible(answer.question, False)
        if isinstance(answer.answer, tuple):
            lines.append(f"{question}:")
            lines += [f"  - {visible(choice, False)}" for choice in answer.answer] or ["  (none)"]
        else:
            text = visible(answer.answer.strip()).replace("\n", "\n  ")  # stays indented
            lines.append(f"{question}: {text or '(no answer)'}")
    lines += ["", "Message", "-------", visible(report.message), ""]
    return "\n".join(lines).encode("utf-8")


@dataclass
class _FolderState:
    """What a conversation's folder was given before (`.opened.json`): item ids, the reporter's
    places and the reporter key sealed in its report. Kept as a set and a dict, so each item's
    checks take the same time however many came before."""
    opened: set[str] = field(default_factory=set)
    positions: dict[int, str] = field(default_factory=dict)
    reporter_key: str = ""
    highest: int | None = None

    @classmethod
    def load(cls, path: Path) -> "_FolderState":
        if not path.exists():
            return cls()
        try:
            record = strict.load_json(path.read_bytes(), str(path), max_depth=2)
            positions = {int(k): strict.text(v, str(path)) for k, v in record["positions"].items()}
            state = cls(set(map(str, record["opened"])), positions, strict.text(record["reporter_key"], str(path)))
        except (FormatError, KeyError, ValueError, TypeError, AttributeError, OSError):
            raise FormatError(f"{path} is damaged: open the bundle into a new folder") from None
        state.highest = max(positions, default=None)
        return state

    def save(self, path: Path) -> None:
        record = {"opened": sorted(self.opened), "reporter_key": self.reporter_key,
                  "positions": {str(k): v for k, v in sorted(self.positions.items())}}
        with _create(path) as out:
            out.write(json.dumps(record, sort_keys=True).encode("utf-8"))


@dataclass
class _Conversation:
    """What the opener keeps about the conversation it is writing: one at a time."""
    entry: ConversationEntry
    folder: Path
    files: _Names
    attachments: _Names
    state: _FolderState
    opened: Opened
    index: TextIO | None = None


def _attachments_folder(number: int) -> str:
    return ATTACHMENTS if number == 1 else f"{ATTACHMENTS}-{number}"


def _attachments_number(name: str) -> int:
    return 1 if name == ATTACHMENTS else int(name.rpartition("-")[2])


def _attachments(folder: Path) -> _Names:
    """The attachments folder files go to next: the last one opened into, or the first."""
    numbers = [_attachments_number(p.name) for p in folder.glob(f"{ATTACHMENTS}*")
               if re.fullmatch(rf"{ATTACHMENTS}(-[1-9][0-9]*)?", p.name)]
    return _Names(folder / _attachments_folder(max(numbers, default=1)))


def _folder_name(conversation_id: str, designation: str) -> str:
    return f"{designation}_{conversation_id}" if designation else conversation_id


class _Opener:
    def __init__(self, key: ResponderKey, out_dir: Path, report: OpenReport,
                 trusted: dict[str, Responder]):
        self.key, self.out, self.report, self.trusted = key, Path(out_dir), report, trusted
        self.mine = bytes(key.secret_key.public_key)
        self.current: _Conversation | None = None
        _mkdir(self.out)

    def conversation(self, entry: ConversationEntry) -> _Conversation:
        if self.current is not None and self.current.entry.id == entry.id:
            self.current.entry = entry  # the next slice of a long conversation
            return self.current
        self.close()
        # Shards of at most 36² folders keep every directory to a few thousand entries.
        relative = Path(entry.id[:2]) / _folder_name(entry.id, entry.designation)
        folder = self.out / relative
        _mkdir(folder.parent)  # each level itself: parents=True would give the shard 0755
        _mkdir(folder)
        state = _FolderState.load(folder / STATE)
        opened = Opened(entry.id, entry.designation, str(relative))
        self.report.conversations.append(opened)
        with _append(self.out / INDEX) as index:
            index.write(f"{entry.designation or '-'}\t{entry.id}\t{relative}\n")
        self.current = _Conversation(entry, folder, _Names(folder), _attachments(folder),
                                     state, opened)
        return self.current

    def close(self) -> None:
        if self.current is not None:
            if self.current.index is not None:
                self.current.index.close()
            self.current.state.save(self.current.folder / STATE)
            self.current = None

    def item(self, conversation: _Conversation, item: ItemEntry | None, item_id: str, view) -> None:
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
        if conversation.index is None:  # opened once per conversation, with its first item
            conversation.index = _append(conversation.folder / INDEX)
            if conversation.index.tell() == 0:
                names = ", ".join(r.name for r in conversation.entry.recipients)
                conversation.index.write(f"conversation {conversation.entry.id}\n"
                                         f"designation: {conversation.entry.designation or '-'}\n"
                                         f"recipients: {names}\n\n")
        conversation.index.write(line + "".join(f" [{n}]" for n in notes) + "\n")
        conversation.opened.items += 1
        self.report.items += 1

    def _open_item(self, conversation: _Conversation, item: ItemEntry | None, item_id: str,
                   view) -> tuple[str, list[str]]:
        entry, notes = conversation.entry, []
        # Only a team item can be a reply whose signature covers its envelope: hashing every
        # attachment too would cost about as much as decrypting it.
        hashing = _Hashing(view) if item is not None and item.origin == "team" else None
        view = hashing or view
        header = envelope.read_header(view)
        file_key = envelope.unwrap_file_key(header, self.key.secret_key)
        self._check_place(conversation, item, item_id, header.binding, notes)
        temp = conversation.folder / f".partial-{item_id}"
        try:
            with _create(temp) as out:
                meta, body = split_item(envelope.open_payload(view, header, file_key))
                if meta.kind == "report":
                    out.write(render_report(meta.date, Report.decode(_read_at_most(body, MAX_REPORT))))
                    self._pin_reporter(conversation, meta, header.binding, notes)
                elif meta.kind in ("message", "reply"):
                    text = _read_at_most(body, MAX_TEXT).decode("utf-8", errors="replace")
                    out.write(visible(text).encode("utf-8"))
                for chunk in body:  # a file's body; the others are read to their end already
                    out.write(chunk)
            if meta.kind == "reply" and item is not None and item.origin != "team":
                raise FormatError("a reply that the bundle lists as the reporter's")
            if meta.kind == "reply":
                notes += self._check_reply(entry, item, item_id, meta, hashing and hashing.hash.digest())
            elif item is not None and item.origin == "team":
                raise FormatError("an item from the team that is not a reply")
            final, line = self._place(conversation, meta, item_id)
            os.replace(temp, final)
            self._opened(conversation, item_id, header.binding)
            return line, notes
        finally:
            temp.unlink(missing_ok=True)

    def _place(self, conversation: _Conversation, meta: ItemMeta, item_id: str) -> tuple[Path, str]:
        if meta.kind == "report":
            final = conversation.files.take(REPORT)
            return final, f"{meta.date}  report   {final.name}"
        if meta.kind == "file":
            if len(conversation.attachments) >= FILES_PER_FOLDER:
                conversation.attachments = _Names(conversation.folder / _attachments_folder(
                    _attachments_number(conversation.attachments.folder.name) + 1))
            _mkdir(conversation.attachments.folder)
            final = conversation.attachments.take(sanitise_name(meta.name))
            return final, f"{meta.date}  file     {final.parent.name}/{final.name}"
        final = conversation.files.take(f"{meta.date}-{meta.kind}-{item_id[:8]}.txt")
        author = f" (from {sanitise_name(meta.name)})" if meta.kind == "reply" and meta.name else ""
        return final, f"{meta.date}  {meta.kind:<8} {final.name}{author}"

    @staticmethod
    def _check_place(conversation: _Conversation, item: ItemEntry | None, item_id: str,
                     binding: envelope.Binding | None, notes: list[str]) -> None:
        """An item must be in the conversation and place it was sealed for, and new."""
        state = conversation.state
        if item_id in state.opened:
            raise _Skip("opened before into this folder; not written again")
        if binding is None:
            notes.append("made before binding: its place cannot be checked")
            return
        if binding.conversation_id != conversation.entry.id:
            raise FormatError("this item was sealed for another conversation; not written")
        if item is None or item.origin != binding.origin or item.position != binding.position:
            raise FormatError("this item is not in the place it was sealed for; not written")
        if binding.origin != "reporter":
            return
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

    @staticmethod
    def _opened(conversation: _Conversation, item_id: str, binding: envelope.Binding | None) -> None:
        state = conversation.state
        state.opened.add(item_id)
        if binding is not None and binding.origin == "reporter":
            state.positions[binding.position] = item_id
            state.highest = max(binding.position, -1 if state.highest is None else state.highest)

    @staticmethod
    def _pin_reporter(conversation: _Conversation, meta: ItemMeta,
                      binding: envelope.Binding | None, notes: list[str]) -> None:
        sealed = meta.reporter_key
        listed = conversation.entry.reporter_key
        if not sealed:
            notes.append("report made before the reporter key was sealed in it")
            return
        if listed is not None and base64.b64encode(bytes(listed)).decode("ascii") != sealed:
            raise FormatError("the bundle names a reporter key other than the one sealed in the "
                              "report: do not reply to this conversation; the report was not written")
        conversation.state.reporter_key = sealed

    def _check_reply(self, entry: ConversationEntry, item: ItemEntry | None, item_id: str,
                     meta: ItemMeta, digest: bytes | None) -> list[str]:
        if item is None or item.proof is None:
            return ["unsigned: written before replies were signed, its author cannot be checked"]
        author = next((r for r in entry.recipients if r.name == item.proof.author), None)
        if author is None or author.signing_key is None:
            raise FormatError(f"reply signed by {item.proof.author}, who is not a recipient with a "
                              "signing key; not written")
        # A key pinned here is the one to trust: the bundle's list comes from the server.
        pinned = self.trusted.get(author.name)
        if pinned is not None and pinned.signing_key is None:
            raise FormatError(f"the key pinned for {author.name} is a v0.1.0 key without a signing "
                              f"key: pin their new .pub (`keys trust NEW.pub --replace`); not written")
        signing_key = pinned.signing_key if pinned is not None else author.signing_key
        if not item.proof.verify(signing_key, entry.id, item_id,
                                                        item.position, digest):
            raise FormatError("reply signature does not verify" + (
                f" with the key pinned for {author.name}" if pinned is not None else "") + "; not written")
        if meta.name != item.proof.author:
            raise FormatError(f"reply claims to be from {sanitise_name(meta.name)!r} but is signed "
                              f"by {item.proof.author}; not written")
        if pinned is None:
            return [f"signature by {author.name} verified with the key the bundle names "
                    f"({author.name} is not pinned here)"]
        return [f"signature by {author.name} verified"]


def open_bundle(bundle_path: Path, key: ResponderKey, out_dir: Path,
                trusted: dict[str, Responder] | None = None) -> OpenReport:
    """Open what `key` may read of a bundle (version 1 or 2) into `out_dir`; reply signatures
    are checked with the `trusted` (pinned) keys where there is one, else the bundle's."""
    trusted = {key.name: key.responder, **(trusted or {})}
    report = OpenReport()
    with open(bundle_path, "rb") as stream:
        version = bundle_version(stream)
        if version == 1:
            _open_v1(stream, key, out_dir, report, trusted)
            return report
        # Every envelope we write out verifies itself; the rest are none of this key's business.
        reader = BundleReader(stream, whole_checksum=False)
        if reader.head.kind != "export":
            raise FormatError("this is a reply file, not an export: the server imports it")
        if reader.head.recipient is not None \
                and bytes(reader.head.recipient.public_key) != bytes(key.secret_key.public_key):
            raise FormatError(f"this bundle was made for {reader.head.recipient.name}, not for "
                              f"this key ({key.name})")
        opener = _Opener(key, out_dir, report, trusted)
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
             trusted: dict[str, Responder]) -> None:
    """A v0.1.0 bundle: unbound items, unsigned replies, a team-wide manifest."""
    reader = bundle_v1.BundleReader(stream, whole_checksum=False)
    mine = bytes(key.secret_key.public_key)
    readable = {c.id for c in reader.manifest.conversations
                if any(bytes(r.public_key) == mine for r in c.recipients)}
    report.excluded = len(reader.manifest.conversations) - len(readable)
    opener = _Opener(key, out_dir, report, trusted)
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


# --- replies -------------------------------------------------------------------------


def trusted_keys(folder: Path) -> dict[str, Responder]:
    """The team keys a responder pinned on this machine (`keys trust`), by name."""
    pinned: dict[str, Responder] = {}
    if folder.is_dir():
        for path in sorted(folder.glob("*.pub")):
            responder = Responder.load(path)
            pinned[responder.name] = responder
    return pinned


@dataclass
class _Found:
    entry: ConversationEntry | None = None
    reporter_items: int = 0
    sealed_reporter_key: str | None = None
    report_seen: bool = False


def _find_conversation(bundle_path: Path, conversation_id: str, key: ResponderKey) -> _Found:
    """The conversation's record, and what its report says, read from a whole, checked bundle."""
    found = _Found()
    with open(bundle_path, "rb") as stream:
        if bundle_version(stream) == 1:
            reader1 = bundle_v1.BundleReader(stream)
            for old, item, view in reader1.envelopes():
                if old.id == conversation_id:
                    found.entry = ConversationEntry(old.id, (), old.recipients, old.reporter_key)
                    _read_found(found, view, key, None)
            return found
        reader = BundleReader(stream)
        for entry, envelopes in reader.records():
            if entry.id != conversation_id:
                continue
            found.entry = entry
            for item, view in envelopes:
                _read_found(found, view, key, item)
    return found


def _read_found(found: _Found, view, key: ResponderKey, item: ItemEntry | None) -> None:
    if item is not None and item.origin == "reporter" and item.position is not None:
        found.reporter_items = max(found.reporter_items, item.position + 1)
        if item.position != 0:
            return
    try:
        header = envelope.read_header(view)
        meta, body = split_item(envelope.open_payload(view, header,
                                                      envelope.unwrap_file_key(header, key.secret_key)))
        for _ in body:
            pass
    except FormatError:
        return
    if item is None and meta.kind != "reply":
        found.reporter_items += 1
    if meta.kind == "report":
        found.report_seen = True
        found.sealed_reporter_key = meta.reporter_key


def write_reply(bundle_path: Path, conversation_id: str, key: ResponderKey,
                message: str, out_path: Path, trusted: Path) -> str:
    """Seal and sign `message` as a reply; returns the new item's id."""
    if key.signing_key is None:
        raise FormatError(f"{key.name}'s key file has no signing key (it was made by "
                          "onion-dropbox 0.1): run `keys upgrade-key` and give the server the new .pub")
    if not message.strip():
        raise FormatError("the reply is empty")
    found = _find_conversation(bundle_path, conversation_id, key)
    conversation = found.entry
    if conversation is None:
        raise FormatError(f"conversation {conversation_id} is not in this bundle")
    if conversation.reporter_key is None:
        raise FormatError("this bundle does not carry the reporter's key; export it again")
    if not any(bytes(r.public_key) == bytes(key.secret_key.public_key)
               for r in conversation.recipients):
        raise FormatError(f"{key.name} is not a recipient of conversation {conversation_id}")
    if not found.report_seen:
        raise FormatError("this bundle does not hold the conversation's report, so the reporter's "
                          "key cannot be checked: reply from a bundle of everything "
                          "(`dropbox export --all`, or the desk's full bundle)")
    listed = base64.b64encode(bytes(conversation.reporter_key)).decode("ascii")
    if found.sealed_reporter_key and found.sealed_reporter_key != listed:
        raise FormatError("the bundle names a reporter key other than the one sealed in the "
                          "report: refusing to reply (the server may be trying to read replies)")
    pinned = trusted_keys(trusted)
    pinned[key.name] = key.responder
    unpinned = [r.name for r in conversation.recipients
                if r.name not in pinned or bytes(pinned[r.name].public_key) != bytes(r.public_key)]
    if unpinned:
        raise FormatError(f"not replying: the bundle names keys you have not pinned for "
                          f"{', '.join(unpinned)}; check their fingerprints and run "
                          f"`keys trust NAME.pub --trusted {trusted}`")
    meta = ItemMeta(kind="reply", date=datetime.date.today().isoformat(), name=key.name)
    binding = envelope.Binding(conversation.id, "team", found.reporter_items)
    sealed = envelope.seal(meta.encode() + message.encode("utf-8"),
                           [conversation.reporter_key, *(r.public_key for r in conversation.recipients)],
                           binding)
    item_id = secrets.token_hex(16)
    proof = Proof.sign(key.signing_key, key.name, conversation.id, item_id, binding.position, sealed)
    temp = Path(out_path).with_name(f".{Path(out_path).name}.partial")
    try:
        with _create(temp) as out:
            writer = BundleWriter(out, Head("reply", meta.date))
            writer.conversation(ConversationEntry(conversation.id, (ItemEntry(
                item_id, len(sealed), "team", binding.position, proof),)))
            writer.write(sealed)
            writer.close()
        os.replace(temp, out_path)
    finally:
        temp.unlink(missing_ok=True)
    return item_id
