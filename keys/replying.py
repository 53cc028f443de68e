"""`keys reply`: a message sealed to a conversation's reporter and team, and signed.

The bundle a reply is written from comes through the server, which could list
a key of its own among the recipients, or as the reporter's, to read what is
sent. So a reply is written only if every recipient is a key the responder
pinned (`keys.pinning`) and the reporter key the bundle lists is the one sealed
inside the report; its envelope is bound to the conversation and the place
after the reporter's last item, and signed with the responder's signing key.
The reply file is a bundle of kind "reply" holding that one item.
"""
from __future__ import annotations

import base64
import datetime
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from keys import bundle_v1, envelope
from keys.bundle import BundleReader, BundleWriter, ConversationEntry, Head, ItemEntry, Proof, bundle_version
from keys.errors import FormatError
from keys.items import ItemMeta, split_item
from keys.pinning import trusted_keys
from keys.private_files import create
from keys.responder import ResponderKey


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
        with create(temp) as out:
            writer = BundleWriter(out, Head("reply", meta.date))
            writer.conversation(ConversationEntry(conversation.id, (ItemEntry(
                item_id, len(sealed), "team", binding.position, proof),)))
            writer.write(sealed)
            writer.close()
        os.replace(temp, out_path)
    finally:
        temp.unlink(missing_ok=True)
    return item_id
