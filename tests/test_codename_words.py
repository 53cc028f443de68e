"""Words a reporter can keep: codenames and desk names come from the curated list.

The removal list (keys/removed_words.txt) is part of the repository; these
tests make sure no removed word can reach a reporter or a responder, that
the entropy stays at least 90 bits and is the figure FORMAT.md states, and
that codenames made before the curation still log in.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

from keys import codename
from keys.codename import desk_name, eff_wordlist, new_codename, normalize, removed_words, wordlist

ROOT = Path(__file__).parent.parent
# Words the issue named, given by the full list to people reporting harassment.
NAMED_IN_THE_ISSUE = {"womanhood", "oppressor", "grope", "predator", "strangle", "suffocate",
                      "drown", "mortality", "preacher"}


def test_the_removal_list_is_sorted_unique_and_made_of_eff_words():
    lines = [word for word in (ROOT / "keys" / "removed_words.txt").read_text("ascii").splitlines()
             if word and not word.startswith("#")]
    assert lines == sorted(set(lines))
    assert set(lines) <= set(eff_wordlist())
    assert len(lines) == len(removed_words()) == 911
    assert NAMED_IN_THE_ISSUE <= removed_words()


def test_no_removed_word_is_in_the_list_codenames_and_desk_names_are_drawn_from():
    assert not set(wordlist()) & removed_words()
    assert len(wordlist()) == len(eff_wordlist()) - len(removed_words())


def test_no_removed_word_appears_in_thousands_of_codenames_and_desk_names():
    seen = set()
    for n in range(3000):
        seen.update(new_codename().split())
        seen.update(desk_name(f"{n:032x}").split("-"))
        seen.update(desk_name(f"{n:032x}", tries=1).split("-"))
    assert not seen & removed_words()
    assert len(seen) > 5000  # the draw really covers the list


def test_codenames_keep_at_least_90_bits_and_format_md_states_the_figure():
    bits = codename.WORDS * math.log2(len(wordlist()))
    assert bits >= 90
    section = (ROOT / "docs" / "FORMAT.md").read_text("utf-8").split("## Codename")[1].split("\n## ")[0]
    assert f"{bits:.2f} bits" in section
    assert f"{len(wordlist()):,}" in section and f"{len(removed_words()):,}" in section


def test_a_codename_from_before_the_curation_still_normalizes_even_with_a_removed_word():
    # A v0.1.0 codename (tests/fixtures/v0.1.0): seven words of the full EFF list, "curse" among them.
    old = "symphony freezing entail crushing curse brush chalice"
    assert "curse" in removed_words()
    assert normalize(old.upper()) == old


def test_an_eight_word_codename_with_a_removed_word_is_refused():
    words = new_codename().split()
    assert normalize(" ".join(words)) == " ".join(words)
    assert normalize(" ".join(words[:7] + ["predator"])) is None
    assert normalize(" ".join(words[:7])) is not None  # seven curated words are seven EFF words


def test_desk_names_are_derived_from_the_conversation_id_and_grow_only_when_taken():
    cid = "c33ea8c30941078ca816034e6687c88d"
    assert desk_name(cid) == desk_name(cid)
    assert re.fullmatch(r"[a-z]+-[a-z]+", desk_name(cid))
    assert desk_name(cid, tries=1).startswith(desk_name(cid) + "-")
    assert desk_name(cid, tries=1).count("-") == 2
    assert desk_name(cid, tries=5) != desk_name(cid, tries=4)
    assert desk_name(cid) != desk_name("49ad2c06b35cbe0bbc84c5b06f78572c")
