"""Format version 2's costs: opening many same-name attachments, and what padding adds.

`keys open` must be linear in the number of items: a conversation of N attachments all
named the same is opened at N = 400 and N = 4,000 and the ratio of the times reported
(linear is about 10×; v0.1.0 was quadratic: 1,000 took 3 s, 8,000 took 153 s). Padding
is Padmé with a 1 KiB floor: its overhead is computed over every size from 1 KiB to
1 GiB on a fine logarithmic grid, and measured on real envelopes.

Runs in-process with the test helpers (PYTHONPATH=tests), or alone:
`PYTHONPATH=tests python -m bench.formats`.
"""
from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

from nacl.public import PrivateKey

from keys import envelope
from keys.offline import open_bundle
from keys.responder import ResponderKey
from keys_support import Conversation, item, report_item, write_export


def same_name_attachments(folder: Path, counts: tuple[int, ...] = (400, 4000)) -> dict:
    key, reporter = ResponderKey.generate("alexandra"), PrivateKey.generate()
    seconds = {}
    for count in counts:
        conv = Conversation([key], [report_item(reporter)]
                            + [item("file", b"%d" % n, "photo.jpg") for n in range(count)], reporter)
        bundle = write_export(folder / f"same-{count}.odbx", [conv])
        runs = []
        for _ in range(3):  # the best of three: the file system's own noise is large
            started = time.perf_counter()
            report = open_bundle(bundle, key, folder / f"opened-{count}")
            runs.append(time.perf_counter() - started)
            assert report.items == count + 1 and not report.failures
            shutil.rmtree(folder / f"opened-{count}")
        seconds[count] = round(min(runs), 3)
    low, high = counts
    return {"seconds": {str(k): v for k, v in seconds.items()},
            "ratio": round(seconds[high] / seconds[low], 1), "items_ratio": high // low}


def padding_overhead() -> dict:
    grid, size = set(), 1024.0
    while size <= 2 ** 30:  # a fine logarithmic grid, and just past each bucket (the worst case)
        grid |= {int(size), envelope.padded_size(int(size)) + 1}
        size *= 1.001
    sizes = sorted(grid)
    overheads = [(envelope.padded_size(s) - s) / s for s in sizes]
    measured = {}
    alice = PrivateKey.generate()
    for size in (1, 1000, 5_000, 70_000, 1_000_000, 10_000_000):
        sealed = envelope.seal(bytes(size), [alice.public_key], envelope.Binding("0" * 32, "reporter", 0))
        payload = len(sealed) - envelope.header_size(1, envelope.Binding("0" * 32, "reporter", 0))
        unpadded = size + (size // envelope.CHUNK_SIZE + 1) * 17
        measured[str(size)] = round(payload / unpadded - 1, 4)
    return {"max_from_1KiB": round(max(overheads), 4), "mean_from_1KiB": round(sum(overheads) / len(overheads), 4),
            "max_from_1MiB": round(max(o for s, o in zip(sizes, overheads, strict=True) if s >= 1 << 20), 4),
            "measured_on_envelopes": measured}


def measure() -> dict:
    folder = Path(tempfile.mkdtemp(prefix="odbx-formats-"))
    try:
        return {"same_name_attachments": same_name_attachments(folder), "padding": padding_overhead()}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
