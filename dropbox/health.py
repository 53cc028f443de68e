"""What needs someone's attention: the operator's `dropbox status` and the desk's warnings.

Each check returns what it found; `dropbox status` (dropbox/cli/status.py) turns it into one
line per problem, for monitoring (exiting non-zero when there is any), and the desk into warnings. Retention is stated as the day a
conversation will be deleted if nothing more happens, so responders and the reporter are
told before, never after.
"""
from __future__ import annotations

import datetime
import shutil
from dataclasses import dataclass

from dropbox.config import Config
from dropbox.storage import Store


def deletion_day(last_activity: str, retention_days: int) -> str | None:
    """The day `purge` deletes a conversation last active on `last_activity` if nothing more
    happens; None when retention is off (0)."""
    if retention_days <= 0:
        return None
    day = datetime.date.fromisoformat(last_activity) + datetime.timedelta(days=retention_days + 1)
    return day.isoformat()


def deletions_within(store: Store, retention_days: int, days: int,
                     today: datetime.date | None = None) -> dict[str, str]:
    """Conversation id → deletion day, for those deleted within `days` days from today."""
    if retention_days <= 0:
        return {}
    today = today or datetime.date.today()
    cutoff = (today + datetime.timedelta(days=days - retention_days)).isoformat()
    return {conversation_id: day for conversation_id, last_activity in store.conversations.inactive_since(cutoff).items()
            if (day := deletion_day(last_activity, retention_days)) is not None}


# The desk counts reports waiting unread up to this many and says "or more" past it: the count
# is on every page, and its cost must not grow with the conversations stored.
UNREAD_COUNTED_UP_TO = 1000


@dataclass(frozen=True)
class Warned:
    """How many of a responder's conversations a warning is about (`or_more`: at least that
    many), and one page of them: (conversation id, the day it names: its deletion day, or the
    day its oldest report waits from)."""
    total: int
    rows: list[tuple[str, str]]
    or_more: bool = False


def deletions_for(store: Store, name: str, retention_days: int, days: int, limit: int = -1,
                  offset: int = 0, today: datetime.date | None = None) -> Warned:
    """`deletions_within` for `name`'s conversations only, soonest first, a page at a time."""
    if retention_days <= 0:
        return Warned(0, [])
    today = today or datetime.date.today()
    cutoff = (today + datetime.timedelta(days=days - retention_days)).isoformat()
    total, rows = store.conversations.inactive_for(name, cutoff, limit, offset)
    return Warned(total, [(cid, str(deletion_day(last, retention_days))) for cid, last in rows])


def unread_of(store: Store, name: str, days: int, limit: int = 0, after: str | None = None,
              today: datetime.date | None = None) -> Warned:
    """`unread_for` for `name`'s conversations only, longest waiting first, `limit` of them from
    the one after conversation `after`; counted up to UNREAD_COUNTED_UP_TO."""
    today = today or datetime.date.today()
    oldest = (today - datetime.timedelta(days=days)).isoformat()
    # What `name` downloaded is taken in every conversation `name` reads, and these are all
    # such: the walk starts past it, so a responder who has downloaded everything walks nothing
    # (from the start it walked every item: 0.7 s at 100,000 conversations).
    account = store.desk.account(name)
    floor = max(_taken_by_all(store), account.last_download_seq if account else 0)
    total = store.conversations.count_waiting_for(name, floor, oldest, UNREAD_COUNTED_UP_TO)
    rows = store.conversations.waiting_for(name, floor, oldest, limit, after) if limit else []
    return Warned(total, rows, total >= UNREAD_COUNTED_UP_TO)


def _taken_by_all(store: Store) -> int:
    """The newest item every reader has taken: the last `dropbox export` (for every reader), or
    the download of the reader who downloaded least (every conversation has a reader on the
    team, so what all of them have taken is taken)."""
    downloaded = {a.name: a.last_download_seq for a in store.desk.accounts()}
    readers = {r.name for r in store.team.members()} | set(downloaded)
    return max(store.state.last_export(), min((downloaded.get(name, 0) for name in readers), default=0))


def unread_for(store: Store, days: int, today: datetime.date | None = None) -> set[str]:
    """Conversations with a report or follow-up older than `days` days that none of its own
    readers has downloaded yet (nor a `dropbox export`, which is for every reader): reports
    waiting unread. Counted per reader, so one responder's downloads say nothing of a
    conversation that leaves them out."""
    today = today or datetime.date.today()
    oldest = (today - datetime.timedelta(days=days)).isoformat()
    downloaded = {a.name: a.last_download_seq for a in store.desk.accounts()}
    floor = _taken_by_all(store)
    conversations = store.conversations
    waiting = conversations.waiting_reports(floor, oldest)
    # How far each conversation's own readers have taken it.
    taken = dict.fromkeys(waiting, floor)
    for name, seq in downloaded.items():
        if seq > floor:
            for conversation_id in conversations.recipient_of(name, list(waiting)):
                taken[conversation_id] = max(taken[conversation_id], seq)
    return {conversation_id for mark in set(taken.values())
            for conversation_id in conversations.waiting_reports(mark, oldest) if taken.get(conversation_id) == mark}


def free_disk(config: Config) -> int:
    """Free bytes where the store lives; too few when below `config.max_request_bytes`, the
    largest upload the settings allow."""
    return shutil.disk_usage(config.data_dir).free


def mib(size: int) -> str:
    return f"{size / (1024 * 1024):,.0f} MiB"
