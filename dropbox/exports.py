"""Moving envelopes across the air gap: export bundles out, reply bundles in.

Both directions use the bundle format of `keys.bundle`. Nothing here can
decrypt anything: an export copies ciphertext, an import checks a reply's
structure and stores its ciphertext for the reporter.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from keys.bundle import BundleReader, BundleWriter, check_bundle, ConversationEntry, ItemEntry, Manifest
from keys.envelope import read_header
from keys.errors import FormatError
from dropbox.storage import StagedItem, Store, new_id, today

LAST_EXPORT = "last_export_seq"


def export_bundle(store: Store, out_path: Path, everything: bool = False,
                  responder: str | None = None) -> int:
    """Write every conversation with new items (all, with `everything`); returns how many.

    With `responder`, only the conversations on whose recipient list they are, and
    "new" means since that responder's own last download (the desk's "my bundle").
    """
    if responder is None:
        since = store.get_state(LAST_EXPORT)
    else:
        since = store.account(responder)["last_download_seq"]
    grouped = store.items_after(0 if everything else since)
    conversations = {cid: store.conversation(cid) for cid in grouped}
    # A conversation deleted meanwhile is left out; a responder gets only their own.
    grouped = {cid: items for cid, items in grouped.items() if conversations[cid] is not None and (
        responder is None or any(r.name == responder for r in conversations[cid].recipients))}
    if not grouped:
        return 0
    manifest = Manifest("export", today(), tuple(
        ConversationEntry(cid, conversations[cid].recipients,
                          tuple(ItemEntry(i.id, i.envelope_size) for i in items),
                          conversations[cid].reporter_key)
        for cid, items in grouped.items()))
    temp = out_path.with_name(f".{out_path.name}.partial")
    try:
        with open(temp, "wb") as out:
            writer = BundleWriter(out, manifest)
            for items in grouped.values():
                for item in items:
                    writer.write(item.header)
                    with open(store.payload_path(item), "rb") as payload:
                        while chunk := payload.read(1 << 20):
                            writer.write(chunk)
            writer.close()
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, out_path)
    finally:
        temp.unlink(missing_ok=True)
    newest = max(i.seq for items in grouped.values() for i in items)
    if responder is None:
        store.set_state(LAST_EXPORT, newest)
    else:
        store.update_account(responder, last_download_seq=max(newest, since))
    return len(grouped)


def import_replies(store: Store, path: Path) -> int:
    """Store the replies in one reply bundle; all or nothing. Raises FormatError."""
    with open(path, "rb") as stream:
        check_bundle(stream)  # a damaged file is named as such, before any envelope is read
    staged: dict[str, list[StagedItem]] = {}
    try:
        with open(path, "rb") as stream:
            reader = BundleReader(stream)
            if reader.manifest.kind != "reply":
                raise FormatError(f"{path} is an {reader.manifest.kind} bundle, not a reply file")
            for entry, item, view in reader.envelopes():
                conversation = store.conversation(entry.id)
                if conversation is None:
                    raise FormatError(f"conversation {entry.id} does not exist on this server")
                if any(i.id == item.id for i in store.items(entry.id)):
                    raise FormatError(f"reply {item.id} has been imported already")
                staged.setdefault(entry.id, []).append(_stage_reply(store, conversation, view, item))
    except BaseException:
        for items in staged.values():
            for item in items:
                item.temp_path.unlink(missing_ok=True)
        raise
    for conversation_id, items in staged.items():
        store.add_items(conversation_id, "team", items)
    return sum(len(items) for items in staged.values())


def _stage_reply(store: Store, conversation, view, item: ItemEntry) -> StagedItem:
    header = read_header(view)
    if len(header.stanzas) != len(conversation.recipients) + 1:
        raise FormatError(f"reply {item.id} is not encrypted to the reporter and this "
                          "conversation's responders; write it again from a fresh export")
    temp = store.tmp_dir / f"{new_id()}.part"
    with open(temp, "wb") as out:
        shutil.copyfileobj(view, out)
    payload_size = item.size - header.size
    if temp.stat().st_size != payload_size:
        temp.unlink()
        raise FormatError(f"reply {item.id} is truncated")
    return StagedItem(item.id, header.signed_part + header.mac, temp, payload_size)
