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
from keys.bundle import (MAX_ITEMS_PER_RECORD, BundleWriter, ConversationEntry, Head, InvitationEntry,
                         ItemEntry, Proof, bundle_version, envelope_digest, read_reply_file, readers_digest)
from keys.codename import desk_name
from keys.envelope import Binding, Origin, read_header
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


def export_bundle(store: Store, out_path: Path, responder: str,
                  everything: bool = False) -> list[Conversation]:
    """The desk's "my bundle": `responder`'s conversations with items new since their last
    download (all, with `everything`); returns them. Its cost depends on their
    conversations only, and it tells nothing of those that leave them out."""
    member = next((r for r in store.team.members() if r.name == responder), None)
    account = store.desk.account(responder)
    if member is None or account is None:  # only a responder with a desk login downloads
        return []
    since = 0 if everything else account.last_download_seq
    grouped = store.conversations.items_after(since, recipient=responder)
    mine = sorted((c for cid in grouped if (c := store.conversations.conversation(cid)) is not None),
                  key=lambda c: (c.created, c.id))
    if not mine:
        return []
    grouped = {c.id: grouped[c.id] for c in mine}
    designations = store.desk.designations([c.id for c in mine], desk_name)
    _write(store, out_path, member, mine, grouped, designations, excluded=None)
    newest = max(i.seq for items in grouped.values() for i in items)
    store.desk.update_account(responder, last_download_seq=max(newest, since))
    return mine


def _write(store: Store, out_path: Path, member: Responder, conversations: list[Conversation],
           grouped: dict[str, list[Item]], designations: dict, excluded: int | None) -> None:
    with atomic_file(out_path, 0o600) as out:
        writer = BundleWriter(out, Head("export", today(), member))
        for conversation in conversations:
            items = grouped[conversation.id]
            for start in range(0, len(items), MAX_ITEMS_PER_RECORD):
                _write_record(store, writer, conversation, items[start:start + MAX_ITEMS_PER_RECORD],
                              designations[conversation.id][0])
        writer.close(excluded)


def _write_record(store: Store, writer: BundleWriter, conversation: Conversation,
                  items: list[Item], designation: str) -> None:
    # Every invitation of the conversation, in every record of it (FORMAT.md, "The person reported").
    invitations = tuple(InvitationEntry(i.id, i.public_key)
                        for i in store.invitations.of_conversation(conversation.id))
    writer.conversation(ConversationEntry(
        conversation.id, tuple(_entry(i) for i in items),
        store.team.current_recipients(conversation.recipients), conversation.reporter_key, designation,
        invitations))
    for item in items:
        writer.write(item.header)
        with open(store.conversations.payload_path(item), "rb") as payload:
            while chunk := payload.read(1 << 20):
                writer.write(chunk)


def _entry(item: Item) -> ItemEntry:
    binding = read_header(io.BytesIO(item.header)).binding  # None: stored by v0.1.0
    proof = Proof.from_json(json.loads(item.proof)) if item.proof else None
    return ItemEntry(item.id, item.envelope_size, item.origin,
                     None if binding is None else binding.position, proof, item.invitation_id)


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
    if header.binding != Binding(cid, item.origin, item.position):
        raise FormatError("the reply is bound to another conversation or place")
    # To the reporter, or to the person reported of one invitation: its first reader, and what
    # it answers up to (FORMAT.md, "Reply file" and "The person reported").
    if item.origin == Origin.TO_RESPONDENT:
        invitation = store.invitations.get(item.invitation or "")
        if invitation is None or invitation.conversation_id != cid or invitation.withdrawn:
            raise FormatError("the reply is to an invitation this conversation does not have open "
                              "(withdrawn, or of another conversation); nothing was stored")
        first, held, to = invitation.public_key, store.conversations.respondent_items(cid), "the person reported"
    else:
        first, held, to = conversation.reporter_key, store.conversations.reporter_items(cid), "the reporter"
    if item.position > held:
        raise FormatError("the reply answers items this server does not hold")
    # The author signed whom the envelope is sealed to (a SealedBox names no one): a reply
    # written from an export made before a key was replaced goes to the old key, and is refused.
    readers = [first, *(r.public_key for r in recipients)]
    if len(header.stanzas) != len(readers) or proof.readers != readers_digest(readers):
        raise FormatError(f"reply {item.id} is not sealed to {to} and the keys this "
                          "conversation's responders have today (a key was replaced, or the team "
                          "changed, since the export it was written from): write it again from a "
                          "fresh export; nothing was stored")
    if any(i.id == item.id for i in store.conversations.items(cid)):
        raise FormatError(f"reply {item.id} has been imported already")
    store.conversations.add_items(cid, item.origin, [_stage(store, reply.envelope, header.size, item.id,
                                         json.dumps(proof.to_json(), sort_keys=True))],
                                  invitation_id=item.invitation)
    return 1


def _stage(store: Store, envelope: bytes, header_size: int, item_id: str, proof: str) -> StagedItem:
    temp = store.tmp_dir / f"{new_id()}.part"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(envelope[header_size:])
    return StagedItem(item_id, envelope[:header_size], temp, len(envelope) - header_size, proof)

