"""The figures the documents quote are the figures the code and the benchmarks give.

Each figure is read from the text and compared with what the code computes (a codename's
bits, a tag's, a fingerprint's) or what `make bench` last wrote to bench/results.json (page
weight, upload speed, concurrency), so a change of either side that leaves the other behind
fails here instead of misleading an operator. A figure the documents stop quoting is not an
error; one they quote wrongly is.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

from dropbox.ratelimit import TAG_BYTES
from keys.codename import DESK_NAME_WORDS, LEGACY_WORDS, WORDS, _name_words, eff_wordlist, wordlist
from keys.responder import ResponderKey

ROOT = Path(__file__).parent.parent
BENCH = json.loads((ROOT / "bench" / "results.json").read_text())
README, OPERATING, THREAT_MODEL, FORMAT = (
    ROOT / "README.md", ROOT / "docs" / "OPERATING.md", ROOT / "docs" / "THREAT-MODEL.md",
    ROOT / "docs" / "FORMAT.md")
BITS_QUOTED_IN = (README, OPERATING, THREAT_MODEL, FORMAT, ROOT / "dropbox" / "ratelimit.py",
                  ROOT / "keys" / "codename.py")


def _text(path: Path) -> str:
    """The file's words with line breaks folded, as a reader takes them in."""
    return " ".join(path.read_text().split())


def _printed(value: float, like: str) -> str:
    """`value` printed with as many decimals as the document's `like`."""
    decimals = len(like.partition(".")[2])
    return f"{value:.{decimals}f}"


def _bits() -> dict[str, float]:
    curated, full = len(wordlist()), len(eff_wordlist())
    fingerprint = ResponderKey.generate("someone").responder.fingerprint.replace(" ", "")
    return {
        "a codename": WORDS * math.log2(curated),
        "a codename made before the curated list": LEGACY_WORDS * math.log2(full),
        "seven curated words": LEGACY_WORDS * math.log2(curated),
        "a desk name": DESK_NAME_WORDS * math.log2(len(_name_words())),
        "a codename tag": TAG_BYTES * 8,
        "a fingerprint": len(fingerprint) * 5,  # base32
    }


def test_every_count_of_bits_the_documents_quote_is_one_the_code_gives():
    """"90-bit codenames" survived the move to eight curated words (101.96 bits): every
    "N bits" or "N-bit" in the documents must be one of the figures the code gives, at the
    precision printed."""
    known = _bits()
    for path in BITS_QUOTED_IN:
        for quoted in re.findall(r"(\d[\d,.]*)[ -]bits?\b", _text(path)):
            # A figure that is not whole is quoted with its decimals: "90-bit" is no codename's.
            assert any(_printed(value, quoted) == quoted and (value == int(value) or "." in quoted)
                       for value in known.values()), (
                f"{path.name} quotes {quoted} bits; the code gives "
                + ", ".join(f"{name}: {value:.2f}" for name, value in known.items()))


def test_a_codename_is_never_called_weaker_or_stronger_than_it_is():
    """Phrasings that compare a codename with a round figure ("over 90") say its real one."""
    bits = _bits()["a codename"]
    for path in BITS_QUOTED_IN:
        for bound in re.findall(r"codename(?:s)?[^.|]{0,40}?(?:over|at least) (\d+)\b",
                                _text(path)):
            assert int(bound) in (round(bits), math.floor(bits)), (path.name, bound)
    readme = _text(README)
    assert f"{len(wordlist()):,} words, {bits:.2f} bits" in readme


def test_the_landing_page_weight_quoted_is_the_one_measured():
    measured = BENCH["pages"]["landing page"]["kb"]
    for path in (README, OPERATING, THREAT_MODEL):
        for bound, quoted in re.findall(r"landing page[^.|]{0,40}?\|?[^.|0-9]{0,30}?(under |≤ )?"
                                        r"(\d+(?:\.\d+)?) KB", _text(path)):
            if bound:
                assert measured < float(quoted), (path.name, quoted, measured)
            else:
                assert float(quoted) == measured, (path.name, f"{quoted} KB", f"measured {measured} KB")


def test_the_upload_speeds_quoted_are_the_ones_measured():
    speeds = BENCH["upload"]["mb_per_s"]
    ours = speeds["onion_dropbox"]
    operating = _text(OPERATING)
    about = re.findall(r"uploads at about (\d+) MB/s \(a 1 GiB report in ~(\d+) s\)", operating)
    assert about, "OPERATING.md no longer quotes the upload speed as this test reads it"
    for speed, seconds in about:
        assert abs(int(speed) - ours) <= 0.1 * ours, (speed, ours)
        assert int(seconds) == round(BENCH["upload"]["file_mib"] * 1.048576 / ours), (seconds, ours)
    readme = _text(README)
    for name, label in (("raw_floor", "raw secretstream floor"),
                        ("plain_flask_waitress", "unencrypted default Flask\\+waitress"),
                        ("securedrop_gzip_gpg", "SecureDrop's `gzip -9 \\\\\\| gpg`"),
                        ("age", "`age` to one recipient")):
        for quoted in re.findall(rf"upload vs {label} \(([^)]*) MB/s\)", readme):
            figures = re.findall(r"\d+(?:\.\d+)?", quoted)
            expected = [ours, speeds[name]] if len(figures) == 2 else [speeds[name]]
            for figure, value in zip(figures, expected, strict=True):
                assert figure == _printed(value, figure), (label, figure, value)


def test_the_concurrency_figures_quoted_are_the_ones_measured():
    large, reporters = BENCH["concurrency"]["large_uploads"], BENCH["concurrency"]["reporters"]
    operating = _text(OPERATING)
    for count, size in re.findall(r"(\d+) uploads of (\d+) MiB at once with no memory growth", operating):
        assert (int(count), int(size), large["growth_mib"]) == (large["uploads"], large["file_mib"], 0)
    for count in re.findall(r"(\d+) reporters at once all stored and logged back in", operating):
        assert int(count) == reporters["reporters"] == reporters["stored"] == reporters["logged_back_in"]
