"""`keys reply`: a message sealed to a conversation's reporter and team, and signed.

The bundle a reply is written from comes through the server, which could list
a key of its own among the recipients, or as the reporter's, to read what is
sent. So a reply is written only if every recipient is a key the responder
pinned (`keys.pinning`), and it is sealed to the reporter key this machine
learned when it first opened the conversation (`keys.first_opening`: the one
sealed inside the report), which the bundle must list; its envelope is bound to
the conversation and to the number of the reporter's items in the bundle, and
signed with the responder's signing key.
The reply file is a bundle of kind "reply" holding that one item.
"""
from __future__ import annotations

import base64
import datetime
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from nacl.public import PublicKey

from keys import bundle_v1, envelope
from keys.atomic_files import atomic_file
from keys.bundle import BundleReader, BundleWriter, ConversationEntry, Head, ItemEntry, Proof, bundle_version
from keys.codename import desk_name
from keys.errors import FormatError
from keys.first_opening import FirstOpening, FirstOpenings, ReportDigest
from keys.items import MAX_TEXT, ItemMeta, split_item
from keys.pinning import trusted_keys
from keys.responder import ResponderKey


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
    reports: list[_Report] = field(default_factory=list)
    places: dict[int, str] = field(default_factory=dict)


def _find_conversation(bundle_path: Path, conversation_id: str, key: ResponderKey) -> _Found:
    """The conversation's record, its report and reporter items, read from a whole, checked
    bundle: the reporter's items are counted, and only what may be the report is opened."""
    found = _Found()
    with open(bundle_path, "rb") as stream:
        found.version = bundle_version(stream)
        if found.version == 1:
            reader1 = bundle_v1.BundleReader(stream)
            for old, old_item, view in reader1.envelopes():
                if old.id == conversation_id:
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
            if entry.id != conversation_id:
                continue
            found.entry = entry
            for item, view in envelopes:
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


def write_reply(bundle_path: Path, conversation_id: str, key: ResponderKey,
                message: str, out_path: Path, trusted: Path) -> str:
    """Seal and sign `message` as a reply; returns the new item's id."""
    if key.signing_key is None:
        raise FormatError(f"{key.name}'s key file has no signing key (it was made by "
                          "onion-dropbox 0.1): run `keys upgrade-key` and give the server the new .pub")
    if not message.strip():
        raise FormatError("the reply is empty")
    if len(message.encode("utf-8")) > MAX_TEXT:
        raise FormatError("the reply is longer than 4 MiB")
    found = _find_conversation(bundle_path, conversation_id, key)
    conversation = found.entry
    if conversation is None:
        raise FormatError(f"conversation {conversation_id} is not in this bundle")
    if not any(bytes(r.public_key) == bytes(key.secret_key.public_key)
               for r in conversation.recipients):
        raise FormatError(f"{key.name} is not a recipient of conversation {conversation_id}")
    first_openings = FirstOpenings.beside(trusted)
    first = first_openings.get(conversation.id)
    reporter_key = _trusted_reporter_key(found, conversation, first)
    pinned = trusted_keys(trusted)
    pinned[key.name] = key.responder
    unpinned = [r.name for r in conversation.recipients
                if r.name not in pinned or bytes(pinned[r.name].public_key) != bytes(r.public_key)]
    if unpinned:
        raise FormatError(f"not replying: the bundle names keys you have not pinned for "
                          f"{', '.join(unpinned)}; check their fingerprints and run "
                          f"`keys trust NAME.pub --trusted {trusted}`")
    first_openings.save(first)
    first_openings.sync()
    meta = ItemMeta(kind="reply", date=datetime.date.today().isoformat(), name=key.name)
    binding = envelope.Binding(conversation.id, "team", found.reporter_items)
    readers = [reporter_key, *(r.public_key for r in conversation.recipients)]
    sealed = envelope.seal(meta.encode() + message.encode("utf-8"), readers, binding)
    item_id = secrets.token_hex(16)
    proof = Proof.sign(key.signing_key, key.name, conversation.id, item_id, binding.position, sealed,
                       readers)
    with atomic_file(Path(out_path)) as out:
        writer = BundleWriter(out, Head("reply", meta.date))
        writer.conversation(ConversationEntry(conversation.id, (ItemEntry(
            item_id, len(sealed), "team", binding.position, proof),)))
        writer.write(sealed)
        writer.close()
    return item_id
