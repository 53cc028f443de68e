"""Codenames: the words a reporter writes down, and what the server derives from them."""
from __future__ import annotations

import pytest
from nacl.public import PrivateKey, PublicKey
from nacl.pwhash import argon2id

from keys import envelope
from keys.codename import (Peppers, StretchCost, derive, new_codename, normalize, unknown_words,
                           wordlist)

FAST = StretchCost(opslimit=1, memlimit=8 * 1024 * 1024)
PEPPERS = Peppers(lookup=b"L" * 32, key=b"K" * 32)
CODENAME = "abacus yo-yo zoom t-shirt ablaze zookeeper felt-tip"


def test_wordlist_is_the_curated_list_of_6865_unique_words():
    words = wordlist()
    assert len(words) == 6865 == len(set(words))
    assert all(w.isascii() and w == w.lower() and " " not in w for w in words)


def test_new_codename_is_eight_words_from_the_list():
    known = set(wordlist())
    for _ in range(50):
        words = new_codename().split(" ")
        assert len(words) == 8
        assert all(w in known for w in words)


def test_new_codenames_are_not_repeated():
    assert len({new_codename() for _ in range(200)}) == 200


def test_new_codename_is_already_normalized():
    codename = new_codename()
    assert normalize(codename) == codename


@pytest.mark.parametrize("typed", [
    "Abacus YO-YO zoom T-shirt ablaze zookeeper felt-tip",
    "  abacus  yo-yo\tzoom t-shirt\nablaze zookeeper   felt-tip  ",
    "ABACUS YO-YO ZOOM T-SHIRT ABLAZE ZOOKEEPER FELT-TIP",
    "abacus,yo-yo,zoom,t-shirt,ablaze,zookeeper,felt-tip",
    "Abacus, yo-yo; zoom. T-shirt / ablaze - zookeeper, felt-tip.",
    "abacus-yo-yo-zoom-t-shirt-ablaze-zookeeper-felt-tip",
    "1. abacus 2. yo-yo 3. zoom 4. t-shirt 5. ablaze 6. zookeeper 7. felt-tip",
    "abacus، yo-yo، zoom t-shirt ablaze zookeeper felt-tip",  # the Arabic comma
])
def test_normalize_forgives_case_spacing_punctuation_and_numbering(typed):
    assert normalize(typed) == CODENAME


@pytest.mark.parametrize("typed", [
    "abacus yo-yo zoom t-shirt ablaze zookeeper",                     # six words
    "abacus yo-yo zoom t-shirt ablaze zookeeper felt-tip abacus zoom",  # nine words
    "abacus yo-yo zoom t-shirt ablaze zookeeper feltip",              # a typo
    "abacus yo-yo zoom t-shirt ablaze zookeeper felt tip",            # a word split in two
    "",
    ", - .",
    "ábacus yo-yo zoom t-shirt ablaze zookeeper felt-tip",
])
def test_normalize_refuses_what_cannot_be_a_codename(typed):
    assert normalize(typed) is None


def test_words_not_in_the_list_are_named_by_their_place_in_what_was_typed():
    words = new_codename().split()
    typed = ", ".join(words[:2] + ["bananna"] + words[3:6] + ["Zz9"] + words[7:])
    assert normalize(typed) is None
    assert unknown_words(typed) == [(3, "bananna"), (7, "zz")]  # "9" only separates, as "1." does
    assert unknown_words(" ".join(words)) == []
    # Seven words are read against the full list, as codenames made before the curation were.
    assert unknown_words("abacus yo-yo zoom t-shirt ablaze zookeeper felt-tip") == []
    assert unknown_words("abacus yo-yo zoom t-shirt ablaze zookeeper feltip") == [(7, "feltip")]
    assert unknown_words("") == []


def test_derive_is_deterministic_for_the_same_peppers_and_cost():
    first, second = derive(CODENAME, PEPPERS, FAST), derive(CODENAME, PEPPERS, FAST)
    assert first.lookup_id == second.lookup_id
    assert first.public_key == second.public_key
    assert bytes(first.secret_key) == bytes(second.secret_key)


def test_lookup_id_is_64_hex_characters_and_reveals_no_key():
    identity = derive(CODENAME, PEPPERS, FAST)
    assert len(identity.lookup_id) == 64
    int(identity.lookup_id, 16)
    assert identity.lookup_id != identity.public_key.hex()
    assert identity.lookup_id != bytes(identity.secret_key).hex()


def test_another_codename_gives_another_identity():
    one = derive(CODENAME, PEPPERS, FAST)
    other = derive("abacus yo-yo zoom t-shirt ablaze zookeeper drop-down", PEPPERS, FAST)
    assert one.lookup_id != other.lookup_id
    assert one.public_key != other.public_key


def test_another_instance_with_other_peppers_gives_another_identity():
    here = derive(CODENAME, PEPPERS, FAST)
    elsewhere = derive(CODENAME, Peppers.generate(), FAST)
    assert here.lookup_id != elsewhere.lookup_id
    assert here.public_key != elsewhere.public_key


def test_lookup_pepper_alone_changes_lookup_id_and_key_pepper_alone_changes_only_the_key():
    base = derive(CODENAME, PEPPERS, FAST)
    new_lookup = derive(CODENAME, Peppers(lookup=b"l" * 32, key=PEPPERS.key), FAST)
    new_key = derive(CODENAME, Peppers(lookup=PEPPERS.lookup, key=b"k" * 32), FAST)
    assert new_lookup.lookup_id != base.lookup_id
    assert new_key.lookup_id == base.lookup_id
    assert new_key.public_key != base.public_key


def test_changing_the_stretch_cost_changes_every_identity():
    # Why the cost lives in the instance config: changing it would lock every reporter out.
    slower = StretchCost(opslimit=2, memlimit=FAST.memlimit)
    assert derive(CODENAME, PEPPERS, slower).lookup_id != derive(CODENAME, PEPPERS, FAST).lookup_id


def test_default_stretch_cost_is_argon2id_interactive():
    assert StretchCost() == StretchCost(argon2id.OPSLIMIT_INTERACTIVE, argon2id.MEMLIMIT_INTERACTIVE)


def test_reporter_opens_replies_sealed_to_the_derived_public_key():
    identity = derive(CODENAME, PEPPERS, FAST)
    reply = envelope.seal(b"We have read your report.", [PublicKey(identity.public_key)],
                          envelope.Binding("0" * 32, "team", 1))
    again = derive(normalize(CODENAME.upper()), PEPPERS, FAST)
    assert envelope.open_bytes(reply, again.secret_key) == b"We have read your report."
    with pytest.raises(envelope.NotARecipient):
        envelope.open_bytes(reply, PrivateKey.generate())
