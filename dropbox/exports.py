"""Moving envelopes across the air gap: exports out, signed reply files in.

An export is made for one responder and holds only the conversations whose
recipients name them (docs/FORMAT.md, "Bundle"): nothing about a conversation
that leaves them out reaches any file they handle. The team's export is a
folder of such bundles, one per responder; the desk's "my bundle" is one. A
bundle streams record by record, so it has no size limit a team can reach.

Nothing here can decrypt anything: an export copies ciphertext; an import
checks a reply's signature against the team's signing keys, its binding and
its stanzas, and stores its ciphertext for the reporter.
"""
from __future__ import annotations

import io
import json
import os
from pathlib import Path

from keys.atomic_files import atomic_file
from keys.bundle import (MAX_ITEMS_PER_RECORD, BundleWriter, ConversationEntry, Head, ItemEntry,
                         Proof, bundle_version, envelope_digest, read_reply_file, readers_digest)
from keys.codename import desk_name
from keys.envelope import Binding, read_header
from keys.errors import FormatError
from keys.responder import Responder
from dropbox.storage import Conversation, Item, StagedItem, Store, new_id, today

BUNDLE_SUFFIX = ".odbx"
V1_REPLY = ("this reply file was written by onion-dropbox 0.1 and is not signed, so nothing shows "
            "who wrote it (a responder left out of the conversation could have): ask its author "
            "to write it again with `keys reply`, after `keys upgrade-key`")


def export_team(store: Store, out_dir: Path, everything: bool = False) -> dict[str, int]:
    """One bundle per responder in `out_dir` (NAME.odbx) with what is new since the last team
    export (everything, with `everything`); returns how many conversations each got."""
    since = 0 if everything else store.state.last_export()
    grouped = store.conversations.items_after(since)
    conversations = {cid: c for cid in grouped if (c := store.conversations.conversation(cid)) is not None}
    if not conversations:
        return {}
    out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    designations = store.desk.designations(list(conversations), desk_name)
    counts = {}
    for member in store.team.members():
        mine = [c for c in conversations.values() if any(r.name == member.name for r in c.recipients)]
        _write(store, out_dir / f"{member.name}{BUNDLE_SUFFIX}", member, mine, grouped,
               designations, excluded=len(conversations) - len(mine))
        counts[member.name] = len(mine)
    store.state.set_last_export(max(i.seq for items in grouped.values() for i in items))
    return counts


# "My bundle" is written this many conversations at a time: the server's memory stays the same
# however many a responder has.
BUNDLE_BATCH = 500


def export_bundle(store: Store, out_path: Path, responder: str,
                  everything: bool = False) -> list[tuple[Responder, ...]]:
    """The desk's "my bundle": `responder`'s conversations with items new since their last
    download (all, with `everything`); returns each one's recipients (one tuple for each
    distinct list), for the audit. Its cost depends on their conversations only, it tells
    nothing of those that leave them out, and it holds one batch of conversations in memory."""
    member = next((r for r in store.team.members() if r.name == responder), None)
    account = store.desk.account(responder)
    if member is None or account is None:  # only a responder with a desk login downloads
        return []
    since = 0 if everything else account.last_download_seq
    ids, up_to = store.conversations.with_items_after(since, responder)
    if not ids:
        return []
    audiences: dict[tuple[str, ...], tuple[Responder, ...]] = {}
    recipients: list[tuple[Responder, ...]] = []
    newest = since
    try:
        newest = _write_mine(store, out_path, member, ids, (since, up_to), audiences, recipients)
    except _NothingLeft:  # every one deleted meanwhile: no bundle
        return []
    store.desk.update_account(responder, last_download_seq=newest)
    return recipients


class _NothingLeft(Exception):
    pass


def _write_mine(store: Store, out_path: Path, member: Responder, ids: list[str], seqs: tuple[int, int],
                audiences: dict[tuple[str, ...], tuple[Responder, ...]],
                recipients: list[tuple[Responder, ...]]) -> int:
    """`export_bundle`'s file, a batch at a time, items numbered in `seqs` (after, up to);
    returns the newest item it holds."""
    newest = seqs[0]
    with atomic_file(out_path, 0o600) as out:
        writer = BundleWriter(out, Head("export", today(), member))
        for start in range(0, len(ids), BUNDLE_BATCH):
            batch = ids[start:start + BUNDLE_BATCH]
            found = store.conversations.conversations_of(batch)
            grouped = store.conversations.items_of(batch, *seqs)
            designations = store.desk.designations([cid for cid in batch if cid in found], desk_name)
            for cid in batch:
                if cid not in found or not grouped[cid]:  # deleted meanwhile
                    continue
                conversation, items = found[cid], grouped[cid]
                _write_conversation(store, writer, conversation, items, designations[cid][0])
                newest = max(newest, items[-1].seq)
                names = tuple(r.name for r in conversation.recipients)
                recipients.append(audiences.setdefault(names, conversation.recipients))
        if not recipients:
            raise _NothingLeft
        writer.close(None)
    return newest


def _write(store: Store, out_path: Path, member: Responder, conversations: list[Conversation],
           grouped: dict[str, list[Item]], designations: dict, excluded: int | None) -> None:
    with atomic_file(out_path, 0o600) as out:
        writer = BundleWriter(out, Head("export", today(), member))
        for conversation in conversations:
            _write_conversation(store, writer, conversation, grouped[conversation.id],
                                designations[conversation.id][0])
        writer.close(excluded)


def _write_conversation(store: Store, writer: BundleWriter, conversation: Conversation,
                        items: list[Item], designation: str) -> None:
    for start in range(0, len(items), MAX_ITEMS_PER_RECORD):
        _write_record(store, writer, conversation, items[start:start + MAX_ITEMS_PER_RECORD], designation)


def _write_record(store: Store, writer: BundleWriter, conversation: Conversation,
                  items: list[Item], designation: str) -> None:
    writer.conversation(ConversationEntry(
        conversation.id, tuple(_entry(i) for i in items),
        store.team.current_recipients(conversation.recipients), conversation.reporter_key, designation))
    for item in items:
        writer.write(item.header)
        with open(store.conversations.payload_path(item), "rb") as payload:
            while chunk := payload.read(1 << 20):
                writer.write(chunk)


def _entry(item: Item) -> ItemEntry:
    binding = read_header(io.BytesIO(item.header)).binding  # None: stored by v0.1.0
    proof = Proof.from_json(json.loads(item.proof)) if item.proof else None
    return ItemEntry(item.id, item.envelope_size, item.origin,
                     None if binding is None else binding.position, proof)


def signed_author(item: Item) -> str | None:
    """The author whose signature was verified when the reply was imported; None if unsigned."""
    return json.loads(item.proof)["author"] if item.proof else None


def read_reply(path: Path):
    """A version 2 reply file, read whole and checked; refuses a v0.1.0 one, saying why."""
    with open(path, "rb") as stream:
        if bundle_version(stream) == 1:
            raise FormatError(V1_REPLY)
        return read_reply_file(stream)


def import_replies(store: Store, path: Path) -> int:
    """Store the reply in one reply file, if its author may write it. Raises FormatError."""
    reply = read_reply(path)
    cid, item, proof = reply.conversation_id, reply.item, reply.item.proof
    conversation = store.conversations.conversation(cid)
    if conversation is None:
        raise FormatError(f"conversation {cid} does not exist on this server")
    recipients = store.team.current_recipients(conversation.recipients)
    signer = next((r for r in recipients if r.name == proof.author), None)
    if signer is None:
        raise FormatError(f"the reply is signed as {proof.author}, who is not a current "
                          f"recipient of conversation {cid}; nothing was stored")
    if signer.signing_key is None:
        raise FormatError(f"{signer.name}'s team entry has no signing key: the operator runs "
                          f"`dropbox team replace {signer.name} NEW.pub` with their upgraded key")
    if not proof.verify(signer.signing_key, cid, item.id, item.position,
                        envelope_digest(reply.envelope)):
        raise FormatError(f"the reply's signature is not {signer.name}'s (forged, damaged, or "
                          "signed with a key the team has replaced); nothing was stored")
    header = read_header(io.BytesIO(reply.envelope))
    if header.binding != Binding(cid, "team", item.position):
        raise FormatError("the reply is bound to another conversation or place")
    if item.position > store.conversations.reporter_items(cid):
        raise FormatError("the reply answers items this server does not hold")
    # The author signed whom the envelope is sealed to (a SealedBox names no one): a reply
    # written from an export made before a key was replaced goes to the old key, and is refused.
    readers = [conversation.reporter_key, *(r.public_key for r in recipients)]
    if len(header.stanzas) != len(readers) or proof.readers != readers_digest(readers):
        raise FormatError(f"reply {item.id} is not sealed to the reporter and the keys this "
                          "conversation's responders have today (a key was replaced, or the team "
                          "changed, since the export it was written from): write it again from a "
                          "fresh export; nothing was stored")
    if any(i.id == item.id for i in store.conversations.items(cid)):
        raise FormatError(f"reply {item.id} has been imported already")
    store.conversations.add_items(cid, "team", [_stage(store, reply.envelope, header.size, item.id,
                                         json.dumps(proof.to_json(), sort_keys=True))])
    return 1


def _stage(store: Store, envelope: bytes, header_size: int, item_id: str, proof: str) -> StagedItem:
    temp = store.tmp_dir / f"{new_id()}.part"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(envelope[header_size:])
    return StagedItem(item_id, envelope[:header_size], temp, len(envelope) - header_size, proof)

