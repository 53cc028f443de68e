"""`keys reply`: a message sealed to a conversation's reporter and team, and signed.

The bundle a reply is written from comes through the server, which could list
a key of its own among the recipients, or as the reporter's, to read what is
sent. So a reply is written only if every recipient is a key the responder
pinned (`keys.pinning`), and it is sealed to the reporter key this machine
learned when it first opened the conversation (`keys.first_opening`: the one
sealed inside the report), which the bundle must list; its envelope is bound to
the conversation and to the number of the reporter's items in the bundle, and
signed with the responder's signing key.
The reply file is a bundle of kind "reply" holding that one item, then the files
sent with it, each sealed to the same keys, bound to the same place and signed as
going with that reply.

A message to the person reported (`invitation`) is the same, sealed to the
invitation's key instead of the reporter's and bound to the number of the person
reported's items in the bundle (docs/FORMAT.md, "The person reported").

`keys note` writes a note the same way, sealed to the conversation's readers only:
never to the reporter, never to a key the bundle lists that is not pinned here.
"""
from __future__ import annotations

import base64
import datetime
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nacl.public import PublicKey

from keys import bundle_v1, envelope, ids
from keys.atomic_files import atomic_file
from keys.bundle import (MAX_ATTACHMENTS, BundleReader, BundleWriter, ConversationEntry, Head,
                         InvitationEntry,
                         ItemEntry, Proof, bundle_version)
from keys.codename import desk_name
from keys.errors import FormatError
from keys.first_opening import FirstOpening, FirstOpenings, ReportDigest
from keys.items import MAX_TEXT, ItemMeta, split_item
from keys.pinning import trusted_keys
from keys.responder import ResponderKey

ANSWER_PREFIX = 8  # the characters of a note's id that its file name shows
# What `keys reply` seals of one file: the server's own limit (a setting) is usually lower.
MAX_ATTACHMENT = 1 << 30


@dataclass
class _Report:
    id: str
    digest: str
    sealed_key: str
    envelope_version: int


@dataclass
class _Found:
    version: int = 2
    entry: ConversationEntry | None = None
    reporter_items: int = 0
    respondent_items: int = 0
    reports: list[_Report] = field(default_factory=list)
    places: dict[int, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # the ids of the notes the bundle lists


def _find_conversation(bundle_path: Path, conversation_id: str, key: ResponderKey) -> _Found:
    """The conversation's record, its report and reporter items, read from a whole, checked
    bundle: the reporter's items are counted, and only what may be the report is opened.
    `conversation_id` is its id or the designation `keys open` printed (the desk's name)."""
    found = _Found()
    with open(bundle_path, "rb") as stream:
        found.version = bundle_version(stream)
        if found.version == 1:
            reader1 = bundle_v1.BundleReader(stream)
            for old, old_item, view in reader1.envelopes():
                if conversation_id in (old.id, desk_name(old.id)):
                    found.entry = ConversationEntry(old.id, (), old.recipients, old.reporter_key,
                                                    desk_name(old.id))
                    meta = _read_item(found, view, key, old_item.id)
                    # v0.1.0 kept no origin: what is not a reply is the reporter's.
                    found.reporter_items += meta is not None and meta.kind != "reply"
            return found
        reader = BundleReader(stream)
        if reader.head.kind != "export":
            raise FormatError("this is a reply file, not an export: reply from an export")
        for entry, envelopes in reader.records():
            if conversation_id not in (entry.id, entry.designation or desk_name(entry.id)):
                continue
            found.entry = entry
            for item, view in envelopes:
                found.respondent_items += item.origin == envelope.Origin.RESPONDENT
                if item.origin == envelope.Origin.NOTE:
                    found.notes.append(item.id)
                if item.origin != "reporter":
                    continue
                found.reporter_items += 1
                if item.position is not None:
                    found.places[item.position] = item.id
                if item.position in (None, 0):  # the report is at place 0, or unbound (v0.1.0)
                    _read_item(found, view, key, item.id)
    return found


def _read_item(found: _Found, view: envelope.Readable, key: ResponderKey, item_id: str) -> ItemMeta | None:
    """An item's metadata, the report's hash kept; None if this key cannot open it."""
    try:
        header = envelope.read_header(view)
        plaintext = ReportDigest(envelope.open_payload(
            view, header, envelope.unwrap_file_key(header, key.secret_key)))
        meta, body = split_item(iter(plaintext))
        plaintext.hashing = meta.kind == "report"
        for _ in body:
            pass
    except FormatError:
        return None
    if meta.kind == "report":
        found.reports.append(_Report(item_id, plaintext.hash.hexdigest(), meta.reporter_key,
                                     header.version))
    return meta


def _trusted_reporter_key(found: _Found, conversation: ConversationEntry,
                          first: FirstOpening) -> PublicKey:
    """The reporter key to seal to: the one this machine learned at its first opening of the
    conversation (now, if this is it), never one the bundle alone names."""
    first.check_bundle(found.version, conversation.designation)
    if conversation.reporter_key is None:
        raise FormatError("this bundle does not carry the reporter's key; export it again")
    if not found.reports:
        raise FormatError("this bundle does not hold the conversation's report, so the reporter's "
                          "key cannot be checked: reply from a bundle of everything "
                          "(`dropbox export --all`, or the desk's full bundle)")
    listed = base64.b64encode(bytes(conversation.reporter_key)).decode("ascii")
    for report in found.reports:
        first.check_report(report.id, report.digest, report.sealed_key, report.envelope_version)
        if report.sealed_key and listed and report.sealed_key != listed:
            raise FormatError("the bundle names a reporter key other than the one sealed in the "
                              "report: refusing to reply (the server may be trying to read replies)")
    for position, item_id in sorted(found.places.items()):
        first.check_place(position, item_id)
        first.record_place(position, item_id)
    return PublicKey(base64.b64decode(first.trusted_reporter_key(listed)))


def _checked(bundle_path: Path, conversation_id: str, key: ResponderKey, text: str, what: str,
             trusted: Path, to_reporter: bool) -> tuple[_Found, ConversationEntry, PublicKey | None]:
    """The conversation `key` writes to, from a bundle checked against the first opening and the
    pinned keys; with `to_reporter`, also the reporter key to seal to (else None)."""
    if key.signing_key is None:
        raise FormatError(f"{key.name}'s key file has no signing key (it was made by "
                          "onion-dropbox 0.1): run `keys upgrade-key` and give the server the new .pub")
    if not text.strip():
        raise FormatError(f"the {what} is empty")
    if len(text.encode("utf-8")) > MAX_TEXT:
        raise FormatError(f"the {what} is longer than 4 MiB")
    found = _find_conversation(bundle_path, conversation_id, key)
    conversation = found.entry
    if conversation is None:
        raise FormatError(f"conversation {conversation_id} is not in this bundle")
    if not any(bytes(r.public_key) == bytes(key.secret_key.public_key)
               for r in conversation.recipients):
        raise FormatError(f"{key.name} is not a recipient of conversation {conversation_id}")
    first_openings = FirstOpenings.beside(trusted)
    first = first_openings.get(conversation.id)
    if to_reporter:
        reporter_key: PublicKey | None = _trusted_reporter_key(found, conversation, first)
    else:
        reporter_key = None
        _check_first_opening(found, conversation, first)
    pinned = trusted_keys(trusted)
    pinned[key.name] = key.responder
    unpinned = [r.name for r in conversation.recipients
                if r.name not in pinned or bytes(pinned[r.name].public_key) != bytes(r.public_key)]
    if unpinned:
        raise FormatError(f"not writing the {what}: the bundle names keys you have not pinned for "
                          f"{', '.join(unpinned)}; check their fingerprints and run "
                          f"`keys trust NAME.pub --trusted {trusted}`")
    first_openings.save(first)
    first_openings.sync()
    return found, conversation, reporter_key


def _check_first_opening(found: _Found, conversation: ConversationEntry, first: FirstOpening) -> None:
    """A note is sealed to the team only: the bundle must agree with what this machine first
    learned of the conversation, but need not hold its report."""
    first.check_bundle(found.version, conversation.designation)
    listed = "" if conversation.reporter_key is None else \
        base64.b64encode(bytes(conversation.reporter_key)).decode("ascii")
    for report in found.reports:
        first.check_report(report.id, report.digest, report.sealed_key, report.envelope_version)
    first.trusted_reporter_key(listed)
    for position, item_id in sorted(found.places.items()):
        first.check_place(position, item_id)
        first.record_place(position, item_id)


def _attachment(path: Path) -> tuple[str, bytes]:
    """A file to send with a reply: its name and bytes."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(f"cannot read the file {path}: {exc.strerror}") from None
    if len(data) > MAX_ATTACHMENT:
        raise FormatError(f"{path} is larger than a file sent with a reply may be "
                          f"({MAX_ATTACHMENT >> 20} MiB)")
    return path.name, data


def write_reply(bundle_path: Path, conversation_id: str, key: ResponderKey,
                message: str, out_path: Path, trusted: Path,
                files: Sequence[Path] = (), invitation: str | None = None) -> str:
    """Seal and sign `message` as a reply, and each of `files` as a file sent with it (FORMAT.md,
    "Reply files' attachments"), to the reporter or, with `invitation`, to the person reported
    of that invitation ("The person reported"; no files); returns the reply's item id."""
    if len(files) > MAX_ATTACHMENTS:
        raise FormatError(f"a reply carries at most {MAX_ATTACHMENTS} files")
    if files and invitation is not None:
        raise FormatError("a message to the person reported carries no files")
    attachments = [_attachment(Path(f)) for f in files]
    found, conversation, reporter_key = _checked(bundle_path, conversation_id, key, message, "reply",
                                                 trusted, to_reporter=invitation is None)
    to = conversation.invitation(invitation)
    if invitation is not None and to is None:
        raise FormatError(f"invitation {invitation} is not one of conversation {conversation_id}'s "
                          "in this bundle (export it again after the invitation was made)")
    reader_key = reporter_key if to is None else to.public_key
    assert reader_key is not None and key.signing_key is not None  # _checked says so
    meta = ItemMeta(kind="reply", date=datetime.date.today().isoformat(), name=key.name)
    binding = (envelope.Binding(conversation.id, envelope.Origin.TEAM, found.reporter_items) if to is None
               else envelope.Binding(conversation.id, envelope.Origin.TO_RESPONDENT, found.respondent_items))
    readers = [reader_key, *(r.public_key for r in conversation.recipients)]
    sealed = envelope.seal(meta.encode() + message.encode("utf-8"), readers, binding)
    item_id = secrets.token_hex(16)
    items = [(ItemEntry(item_id, len(sealed), binding.origin, binding.position, Proof.sign(
        key.signing_key, key.name, conversation.id, item_id, binding.position, sealed, readers),
        invitation=None if to is None else to.id), sealed)]
    for name, data in attachments:
        file_meta = ItemMeta(kind="file", date=meta.date, name=name)
        file_sealed = envelope.seal(file_meta.encode() + data, readers, binding)
        file_id = secrets.token_hex(16)
        items.append((ItemEntry(file_id, len(file_sealed), envelope.Origin.TEAM, binding.position, Proof.sign(
            key.signing_key, key.name, conversation.id, file_id, binding.position, file_sealed,
            readers, "reply-file", item_id), item_id), file_sealed))
    _write_reply_file(out_path, meta.date, conversation.id, items, () if to is None else (to,))
    return item_id


def write_note(bundle_path: Path, conversation_id: str, key: ResponderKey, text: str,
               out_path: Path, trusted: Path, answers: str = "") -> str:
    """Seal `text` as a note to the conversation's readers only (never the reporter) and sign it
    (FORMAT.md, "Notes"); returns its item id."""
    found, conversation, _ = _checked(bundle_path, conversation_id, key, text, "note", trusted,
                                      to_reporter=False)
    assert key.signing_key is not None  # _checked says so
    if answers:
        answers = _answered(answers, found.notes)
    meta = ItemMeta(kind="note", date=datetime.date.today().isoformat(), name=key.name,
                    answers=answers)
    binding = envelope.Binding(conversation.id, envelope.Origin.NOTE, found.reporter_items)
    readers = [r.public_key for r in conversation.recipients]
    sealed = envelope.seal(meta.encode() + text.encode("utf-8"), readers, binding)
    item_id = secrets.token_hex(16)
    proof = Proof.sign(key.signing_key, key.name, conversation.id, item_id, binding.position,
                       sealed, readers, "note")
    _write_reply_file(out_path, meta.date, conversation.id,
                      [(ItemEntry(item_id, len(sealed), envelope.Origin.NOTE, binding.position, proof), sealed)])
    return item_id


def _answered(answers: str, notes: list[str]) -> str:
    """The id of the note a note answers: given whole, or as the 8 characters `keys open` shows
    in its file name and index line, which must name one note the bundle lists."""
    if re.fullmatch(f"[a-z0-9]{{{ANSWER_PREFIX}}}", answers, re.ASCII):
        matching = [note for note in notes if note.startswith(answers)]
        if len(matching) != 1:
            raise FormatError(f"--answers {answers}: {'no' if not matching else 'more than one'} "
                              "note of this conversation in the bundle starts so; give its whole id")
        return matching[0]
    return ids.check_id(answers, "--answers")


def _write_reply_file(out_path: Path, date: str, conversation_id: str,
                      items: list[tuple[ItemEntry, bytes]],
                      invitations: tuple[InvitationEntry, ...] = ()) -> None:
    with atomic_file(Path(out_path)) as out:
        writer = BundleWriter(out, Head("reply", date))
        writer.conversation(ConversationEntry(conversation_id, tuple(entry for entry, _ in items),
                                              invitations=invitations))
        for _, sealed in items:
            writer.write(sealed)
        writer.close()
