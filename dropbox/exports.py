"""Moving envelopes across the air gap: exports out, signed reply files in.

An export is made for one responder and holds only the conversations whose
recipients name them (docs/FORMAT.md, "Bundle"): nothing about a conversation
that leaves them out reaches any file they handle. The team's export is a
folder of such bundles, one per responder; the desk's "my bundle" is one. A
bundle streams record by record, so it has no size limit a team can reach.

Nothing here can decrypt anything: an export copies ciphertext; an import
checks a reply's (and its files') or a note's signature against the team's
signing keys, its binding and its stanzas, and stores its ciphertext: a reply
for the reporter and the team, a note for the conversation's readers only.
"""
from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from keys.atomic_files import atomic_file
from keys.bundle import (MAX_ITEMS_PER_RECORD, BundleWriter, ConversationEntry, Head, InvitationEntry,
                         ItemEntry, Proof, ReplyFile, bundle_version, envelope_digest, read_reply_file,
                         readers_digest)
from keys.codename import desk_name
from keys.envelope import Binding, Origin, read_header
from keys.errors import FormatError
from keys.responder import Responder
from dropbox.config import Settings
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
    store.cases.acknowledge(list(conversations))  # the team has them: their reporters are told
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
    try:
        mine = _write_mine(store, out_path, member, ids, (since, up_to))
    except _NothingLeft:  # every one deleted meanwhile: no bundle
        return []
    store.desk.update_account(responder, last_download_seq=mine.newest)
    store.cases.acknowledge(mine.conversations)
    return mine.recipients


class _NothingLeft(Exception):
    pass


@dataclass
class _Written:
    """What one "my bundle" holds: the newest item's number, each conversation's recipients
    (one tuple for each distinct list, shared) and the conversations' ids."""
    newest: int
    recipients: list[tuple[Responder, ...]] = field(default_factory=list)
    conversations: list[str] = field(default_factory=list)


def _write_mine(store: Store, out_path: Path, member: Responder, ids: list[str],
                seqs: tuple[int, int]) -> _Written:
    """`export_bundle`'s file, a batch at a time, items numbered in `seqs` (after, up to)."""
    written = _Written(newest=seqs[0])
    audiences: dict[tuple[str, ...], tuple[Responder, ...]] = {}
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
                written.newest = max(written.newest, items[-1].seq)
                names = tuple(r.name for r in conversation.recipients)
                written.recipients.append(audiences.setdefault(names, conversation.recipients))
                written.conversations.append(cid)
        if not written.conversations:
            raise _NothingLeft
        writer.close(None)
    return written


def _write(store: Store, out_path: Path, member: Responder, conversations: list[Conversation],
           grouped: dict[str, list[Item]], designations: dict, excluded: int | None) -> None:
    with atomic_file(out_path, 0o600) as out:
        writer = BundleWriter(out, Head("export", today(), member))
        for conversation in conversations:
            _write_conversation(store, writer, conversation, grouped[conversation.id],
                                designations[conversation.id][0])
        writer.close(excluded)


def _with_report(store: Store, conversation: Conversation, items: list[Item]) -> list[Item]:
    """`items` with the conversation's report first: `keys reply` checks the reporter's key
    against the report, so a bundle holding only what is new (a colleague's reply) could not
    be answered without it."""
    report = store.conversations.report(conversation.id)
    return items if report is None or items[0].id == report.id else [report, *items]


def _write_conversation(store: Store, writer: BundleWriter, conversation: Conversation,
                        items: list[Item], designation: str) -> None:
    items = _with_report(store, conversation, items)
    for start in range(0, len(items), MAX_ITEMS_PER_RECORD):
        _write_record(store, writer, conversation, items[start:start + MAX_ITEMS_PER_RECORD], designation)


def _write_record(store: Store, writer: BundleWriter, conversation: Conversation,
                  items: list[Item], designation: str) -> None:
    recipients = store.team.current_recipients(conversation.recipients)
    # A handler is one of the readers the record names (a responder removed since is not).
    handlers = tuple(h for h in store.cases.handlers([conversation.id]).get(conversation.id, ())
                     if h in {r.name for r in recipients})
    # Every invitation of the conversation, in every record of it (FORMAT.md, "The person reported").
    invitations = tuple(InvitationEntry(i.id, i.public_key)
                        for i in store.invitations.of_conversation(conversation.id))
    writer.conversation(ConversationEntry(
        conversation.id, tuple(_entry(i) for i in items), recipients, conversation.reporter_key,
        designation, handlers, invitations))
    for item in items:
        writer.write(item.header)
        with open(store.conversations.payload_path(item), "rb") as payload:
            while chunk := payload.read(1 << 20):
                writer.write(chunk)


def _entry(item: Item) -> ItemEntry:
    binding = read_header(io.BytesIO(item.header)).binding  # None: stored by v0.1.0
    stored = json.loads(item.proof) if item.proof else None
    attached = None if stored is None else stored.pop("attached_to", None)
    return ItemEntry(item.id, item.envelope_size, item.origin,
                     None if binding is None else binding.position,
                     None if stored is None else Proof.from_json(stored), attached, item.invitation_id)


def signed_author(item: Item) -> str | None:
    """The author whose signature was verified when the reply was imported; None if unsigned."""
    return json.loads(item.proof)["author"] if item.proof else None


def attached_to(item: Item) -> str | None:
    """The reply a file the team sent goes with (FORMAT.md, "Reply files' attachments")."""
    return json.loads(item.proof).get("attached_to") if item.proof else None


def read_reply(path: Path, settings: Settings) -> ReplyFile:
    """A version 2 reply file (a reply with its files, or a note), read whole and checked
    against `settings`' limits; refuses a v0.1.0 one, saying why."""
    with open(path, "rb") as stream:
        if bundle_version(stream) == 1:
            raise FormatError(V1_REPLY)
        return read_reply_file(stream, settings.reply_file_max_mib << 20,
                               settings.reply_files_max_mib << 20)


def import_replies(store: Store, path: Path, settings: Settings) -> ReplyFile:
    """Store the reply (and the files sent with it) or the note in one reply file, if its author
    may write it; returns what was stored. Raises FormatError, storing nothing."""
    reply = read_reply(path, settings)
    cid, item = reply.conversation_id, reply.item
    what = "note" if item.origin == Origin.NOTE else "reply"
    conversation = store.conversations.conversation(cid)
    if conversation is None:
        raise FormatError(f"conversation {cid} does not exist on this server")
    recipients = store.team.current_recipients(conversation.recipients)
    # A note is for the conversation's readers today, and for nobody else: not the reporter. A
    # message to the person reported goes to their open invitation first (FORMAT.md, "The person
    # reported"), a reply to the reporter's key.
    readers = [*(r.public_key for r in recipients)]
    if item.origin == Origin.TO_RESPONDENT:
        invitation = store.invitations.get(item.invitation or "")
        # An expired invitation opens no page again: a message to it could never be read.
        if invitation is None or invitation.conversation_id != cid or not invitation.opens_on(today()):
            raise FormatError("the reply is to an invitation this conversation does not have open "
                              "(withdrawn, expired, or of another conversation); nothing was stored")
        readers.insert(0, invitation.public_key)
    elif what == "reply":
        readers.insert(0, conversation.reporter_key)
    signer = _signer(item, recipients, cid, what)
    known = {i.id for i in store.conversations.items(cid)}
    every = [(item, reply.envelope), *reply.attachments]
    for entry, sealed in every:  # all checked before anything is staged
        if entry is not item and entry.proof is not None and entry.proof.author != signer.name:
            raise FormatError(f"a file sent with the reply is signed by {entry.proof.author}, not by "
                              f"the reply's author; nothing was stored")
        _check_signed(store, entry, sealed, signer, cid, readers, known, what)
        known.add(entry.id)
    staged = []
    for entry, sealed in every:
        proof = entry.proof.to_json() if entry.proof is not None else {}
        if entry.attached_to is not None:
            proof["attached_to"] = entry.attached_to
        staged.append(_stage(store, sealed, read_header(io.BytesIO(sealed)).size, entry.id,
                             json.dumps(proof, sort_keys=True)))
    store.conversations.add_items(cid, item.origin, staged, invitation_id=item.invitation)
    return reply


def stored(reply: ReplyFile) -> str:
    """What an import stored, in words: "1 reply", "1 reply with 2 file(s)", "1 note"."""
    if reply.item.origin == Origin.NOTE:
        return "1 note"
    return "1 reply" + (f" with {len(reply.attachments)} file(s)" if reply.attachments else "")


def _signer(item: ItemEntry, recipients: tuple[Responder, ...], cid: str, what: str) -> Responder:
    """The author of a reply or note: a recipient of the conversation today, with a signing key."""
    assert item.proof is not None  # read_reply_file refuses an unsigned one
    signer = next((r for r in recipients if r.name == item.proof.author), None)
    if signer is None:
        raise FormatError(f"the {what} is signed as {item.proof.author}, who is not a current "
                          f"recipient of conversation {cid}; nothing was stored")
    if signer.signing_key is None:
        raise FormatError(f"{signer.name}'s team entry has no signing key: the operator runs "
                          f"`dropbox team replace {signer.name} NEW.pub` with their upgraded key")
    return signer


def _check_signed(store: Store, entry: ItemEntry, sealed: bytes, signer: Responder, cid: str,
                  readers: list, known: set[str], what: str) -> None:
    """One item of a reply file, checked as FORMAT.md says, without reading it: its signature,
    binding, place, readers (stanzas and the signed digest) and a new id."""
    name = "a file sent with the reply" if entry.attached_to else f"the {what}"
    assert entry.proof is not None and entry.position is not None and signer.signing_key is not None
    if not entry.proof.verify(signer.signing_key, cid, entry.id, entry.position,
                              envelope_digest(sealed), entry.signed, entry.attached_to):
        raise FormatError(f"the signature of {name} is not {signer.name}'s (forged, damaged, or "
                          "signed with a key the team has replaced); nothing was stored")
    header = read_header(io.BytesIO(sealed))
    if header.binding != Binding(cid, entry.origin, entry.position):
        raise FormatError(f"{name} is bound to another conversation or place")
    held = store.conversations.respondent_items(cid) if entry.origin == Origin.TO_RESPONDENT \
        else store.conversations.reporter_items(cid)
    if entry.position > held:
        raise FormatError(f"{name} answers items this server does not hold")
    # The author signed whom the envelope is sealed to (a SealedBox names no one): one written
    # from an export made before a key was replaced goes to the old key, and is refused.
    if len(header.stanzas) != len(readers) or entry.proof.readers != readers_digest(readers):
        whom = "this conversation's responders" if what == "note" else \
            "the person reported and the keys this conversation's responders have" \
            if entry.origin == Origin.TO_RESPONDENT else \
            "the reporter and the keys this conversation's responders have"
        raise FormatError(f"{name} ({entry.id}) is not sealed to {whom} today (a key was replaced, "
                          "the team changed, or it is sealed to someone else, since the export it "
                          "was written from): write it again from a fresh export; nothing was stored")
    if entry.id in known:
        raise FormatError(f"{what} {entry.id} has been imported already")


def _stage(store: Store, envelope: bytes, header_size: int, item_id: str, proof: str) -> StagedItem:
    temp = store.tmp_dir / f"{new_id()}.part"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(envelope[header_size:])
    return StagedItem(item_id, envelope[:header_size], temp, len(envelope) - header_size, proof)

