"""What a responder sees of a conversation on the desk, and nothing of the others.

Every lookup starts from the responder's name and goes through
`Store.conversations_for`, so a conversation they were left out of cannot
be reached by any page: not listed, not counted, not found by designation.
A designation is two words from the curated list derived from the conversation's
id (`keys.codename.desk_name`), so `keys open` can print the same name offline;
it has nothing to do with the reporter's codename.
"""
from __future__ import annotations

from dataclasses import dataclass

from keys.codename import desk_name
from keys.responder import Responder
from dropbox.exports import LAST_EXPORT
from dropbox.storage import Store


@dataclass(frozen=True)
class DeskConversation:
    id: str
    designation: str
    recipients: tuple[Responder, ...]
    first_activity: str
    last_activity: str
    items: int
    size: int
    new_items: int
    status: str  # new, downloaded, replied or closed
    starred: bool
    deletion: tuple[str, str] | None = None  # (who asked, day due) while a deletion waits


new_designation = desk_name


def conversations_for(store: Store, name: str) -> list[DeskConversation]:
    """The responder's conversations, most recently active first."""
    account = store.account(name)
    if account is None:
        return []
    mine = store.conversations_for(name)
    designations = store.designations([c.id for c in mine], new_designation)
    stars = store.stars(name)
    waiting = store.pending_deletions()
    # A command-line export (`dropbox export`) is opened on the team's air-gapped machine: it
    # counts as a download for every reader. My own uploaded replies are never new to me.
    seen = max(account["last_download_seq"], store.get_state(LAST_EXPORT))
    mine_uploaded = store.uploaded_by(name)
    shown = []
    for conversation in mine:
        items = store.items(conversation.id)
        designation, closed = designations[conversation.id]
        new = sum(1 for i in items if i.seq > seen and i.id not in mine_uploaded)
        if closed:
            status = "closed"
        elif items and items[-1].origin == "team":
            status = "replied"
        else:
            status = "new" if new else "downloaded"
        shown.append(DeskConversation(
            conversation.id, designation, conversation.recipients, conversation.created,
            conversation.last_activity, len(items), sum(i.envelope_size for i in items), new,
            status, conversation.id in stars, waiting.get(conversation.id)))
    return sorted(shown, key=lambda c: (c.last_activity, c.first_activity), reverse=True)


def find(store: Store, name: str, designation: str) -> DeskConversation | None:
    """The responder's conversation with that designation; None for any other."""
    return next((c for c in conversations_for(store, name) if c.designation == designation), None)
