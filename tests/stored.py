"""Many conversations at once, through the project's own `Store` API, with real envelopes.

What the reporter site does once a form is parsed (`create_conversation`, `add_items`),
without the pages and the codename stretch before it: for tests and benchmarks that need
thousands of conversations. Conversation n holds a report, a follow-up from the reporter if
n % 3 >= 1 and a reply from the team if n % 3 == 2; every fifth leaves two responders out.
"""
from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor

from nacl.public import PrivateKey

from dropbox.storage import StagedItem, Store, new_id
from keys.envelope import PayloadSealer
from keys.items import Answer, ItemMeta, Report

# Several at once, as reporters would send them: each mostly waits on fsync.
THREADS = 8


def populate(store: Store, count: int, rng: random.Random, lookups: dict[int, str] | None = None,
             replier: str = "alexandra") -> list[str]:
    """`count` new conversations, in order; `lookups` gives some a real codename's lookup id."""
    team = tuple(store.team())
    recipients = [team if n % 5 != 4 else _leaving_two_out(team, rng) for n in range(count)]
    with ThreadPoolExecutor(THREADS) as pool:
        made = [pool.submit(_conversation, store, n, recipients[n], (lookups or {}).get(n), replier)
                for n in range(count)]
        return [done.result() for done in made]


def _leaving_two_out(team, rng: random.Random):
    out = {r.name for r in rng.sample(team, 2)}
    return tuple(r for r in team if r.name not in out)


def _conversation(store: Store, n: int, recipients, lookup: str | None, replier: str) -> str:
    day = time.strftime("%Y-%m-%d")
    keys = [r.public_key for r in recipients]
    reporter = PrivateKey.generate()
    report = Report(False, "", (Answer("when", "When did it happen?", f"day {n}"),),
                    f"stored report {n}").encode()
    conversation = store.create_conversation(lookup or new_id(), reporter.public_key, recipients,
                                             [_stage(store, ItemMeta("report", day), report, keys)])
    if n % 3 >= 1:
        store.add_items(conversation, "reporter", [
            _stage(store, ItemMeta("message", day), f"a follow-up to {n}".encode(), keys)])
    if n % 3 == 2:
        store.add_items(conversation, "team", [_stage(store, ItemMeta("message", day, replier),
                                                      f"a reply to {n}".encode(), [reporter.public_key, *keys])])
    return conversation


def _stage(store: Store, meta: ItemMeta, body: bytes, keys) -> StagedItem:
    """A real envelope, sealed as the upload sink seals one, waiting in tmp/."""
    item_id = new_id()
    path = store.tmp_dir / f"{item_id}.part"
    with open(path, "wb") as out:
        sealer = PayloadSealer(out)
        sealer.write(meta.encode() + body)
        sealer.finish()
    return StagedItem(item_id, sealer.header(keys), path, sealer.ciphertext_size)
