"""What a responder sees of a conversation on the desk, and nothing of the others.

Every lookup starts from the responder's name and goes through the
recipients the conversation was sent to (`conversation_recipients`), so a
conversation they were left out of cannot be reached by any page: not
listed, not counted, not found by designation. A designation is two words
from the curated list derived from the conversation's id
(`keys.codename.desk_name`), so `keys open` can print the same name offline;
it has nothing to do with the reporter's codename. It is given when the
conversation is made, whose id is drawn until its name is free
(`store.conversations.new_conversation_id`): no name grows a word because of a conversation
someone cannot see.

The list comes a page at a time, each page one query, so what a responder
waits for does not grow with the number of conversations stored.
"""
from __future__ import annotations

from dataclasses import dataclass

from keys.codename import desk_name
from keys.envelope import Origin
from keys.responder import Responder
from dropbox.storage import Account, Store, Summary


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


@dataclass(frozen=True)
class Page:
    """One page of a responder's conversations, and where it is among the others."""
    conversations: list[DeskConversation]
    number: int
    pages: int
    total: int


new_designation = desk_name


def page_for(store: Store, name: str, number: int, size: int, handled_only: bool = False) -> Page:
    """Page `number` (from 1) of the responder's conversations (`handled_only`: those whose case
    they handle), most recently active first; a number past the end gives the last page."""
    account = store.desk.account(name)
    count = store.cases.count_handled if handled_only else store.conversations.count_for
    total = count(name) if account is not None else 0
    pages = max(1, -(-total // size))
    number = min(max(1, number), pages)
    if account is None or not total:
        return Page([], number, pages, total)
    rows = store.desk.page(name, _seen(store, account), size, (number - 1) * size, handled_only, total)
    named = store.desk.designations([r.id for r in rows if r.designation is None], new_designation)
    return Page([_shown(row, named) for row in rows], number, pages, total)


def find(store: Store, name: str, designation: str) -> DeskConversation | None:
    """The responder's conversation with that designation; None for any other."""
    account = store.desk.account(name)
    row = account and store.desk.summary(name, _seen(store, account), designation)
    return _shown(row, {}) if row else None


def _seen(store: Store, account: Account) -> int:
    # What is new is each responder's own: only their downloads move it, never a command-line
    # export someone else ran. (My own uploaded replies are never new to me.)
    return account.last_download_seq


def _shown(row: Summary, named: dict[str, tuple[str, bool]]) -> DeskConversation:
    designation, closed = named[row.id] if row.designation is None else (row.designation, row.closed)
    if closed:
        status = "closed"
    elif row.last_origin == Origin.TEAM:
        status = "replied"
    else:
        status = "new" if row.new_items else "downloaded"
    return DeskConversation(row.id, designation, row.recipients, row.created, row.last_activity,
                            row.items, row.size, row.new_items, status, row.starred,
                            row.deletion)
