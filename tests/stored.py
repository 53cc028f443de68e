"""Many conversations at once, through the project's own `Store` API, with real envelopes.

What the reporter site does once a form is parsed (`create_conversation`, `add_items`),
without the pages and the codename stretch before it: for tests and benchmarks that need
thousands of conversations, and the ages a steady retention leaves them at. Conversation n holds a report, a follow-up from the reporter if
n % 3 >= 1 and a second one if n % 3 == 2; every fifth leaves two responders out.
"""
from __future__ import annotations

import base64
import random
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor

from nacl.public import PrivateKey

from dropbox.storage import StagedItem, Store, new_id
from keys.envelope import Binding, Origin, PayloadSealer
from keys.items import Answer, ItemMeta, Report

# Several at once, as reporters would send them: each mostly waits on fsync.
THREADS = 8


def populate(store: Store, count: int, rng: random.Random, lookups: dict[int, str] | None = None) -> list[str]:
    """`count` new conversations, in order; `lookups` gives some a real codename's lookup id."""
    team = tuple(store.team.members())
    recipients = [team if n % 5 != 4 else _leaving_two_out(team, rng) for n in range(count)]
    with ThreadPoolExecutor(THREADS) as pool:
        made = [pool.submit(_conversation, store, n, recipients[n], (lookups or {}).get(n))
                for n in range(count)]
        return [done.result() for done in made]


def _leaving_two_out(team, rng: random.Random):
    out = {r.name for r in rng.sample(team, 2)}
    return tuple(r for r in team if r.name not in out)


def _conversation(store: Store, n: int, recipients, lookup: str | None) -> str:
    """Bound to its place as the reporter site binds it (docs/FORMAT.md, "Envelope")."""
    day = time.strftime("%Y-%m-%d")
    keys = [r.public_key for r in recipients]
    reporter = PrivateKey.generate().public_key
    conversation = store.conversations.new_conversation_id()
    report = Report(False, "", (Answer("when", "When did it happen?", f"day {n}"),),
                    f"stored report {n}").encode()
    meta = ItemMeta("report", day, reporter_key=base64.b64encode(bytes(reporter)).decode())
    store.conversations.create_conversation(lookup or new_id(), reporter, recipients,
                              [_stage(store, meta, report, keys, Binding(conversation, Origin.REPORTER, 0))],
                              conversation)
    for position in range(1, 1 + n % 3):
        store.conversations.add_items(conversation, Origin.REPORTER, [_stage(
            store, ItemMeta("message", day), f"follow-up {position} to {n}".encode(), keys,
            Binding(conversation, Origin.REPORTER, position))], first_position=position)
    return conversation


def _stage(store: Store, meta: ItemMeta, body: bytes, keys, binding: Binding) -> StagedItem:
    """A real envelope, sealed as the upload sink seals one, waiting in tmp/."""
    item_id = new_id()
    path = store.tmp_dir / f"{item_id}.part"
    with open(path, "wb") as out:
        sealer = PayloadSealer(out)
        sealer.write(meta.encode() + body)
        sealer.finish()
    return StagedItem(item_id, sealer.header(keys, binding), path, sealer.ciphertext_size)


def steady_retention(database, retention_days: int) -> None:
    """Ages as a steady retention leaves them: items in the order they arrived, their days
    falling evenly from `retention_days` - 1 days ago to today; each conversation made on its
    first item's day and last active on its last one's."""
    with sqlite3.connect(database) as db:
        count = db.execute("SELECT count(*) FROM items").fetchone()[0]
        db.execute("UPDATE items SET created = date('now', '-' || ((:n - r.rank) * :days / :n) || ' days')"
                   " FROM (SELECT seq, row_number() OVER (ORDER BY seq) AS rank FROM items) AS r"
                   " WHERE r.seq = items.seq", {"n": count, "days": retention_days})
        db.execute("UPDATE conversations SET"
                   " created = (SELECT min(created) FROM items i WHERE i.conversation_id = conversations.id),"
                   " last_activity = (SELECT max(created) FROM items i WHERE i.conversation_id = conversations.id)")
