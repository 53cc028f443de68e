"""Writes the test vectors in this folder and their index (docs/FORMAT.md, "Test vectors").

Run once, from the repository root:

    .venv/bin/python -m tests.vectors.make_vectors

Secret keys, peppers and plaintexts are fixed bytes, so keys.json and every
expected digest come out the same on each run. Envelopes and bundles hold a
fresh random file key, ephemeral keys and secretstream header, so they differ
on each run: they are generated once and committed, and tests only read them.

Good envelopes come from `keys.envelope.seal`. The damaged ones are made from
good ones, except two whose chunk tags `seal` never writes; those, and one
good envelope, come from `spec_envelope` below, which is written from
docs/FORMAT.md and not from keys/, so the two are checked against each other.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path

from nacl import bindings as sodium
from nacl.public import PrivateKey, PublicKey, SealedBox

from keys import envelope
from keys.bundle import BundleWriter, ConversationEntry, ItemEntry, Manifest
from keys.codename import Peppers, StretchCost, derive
from keys.items import ItemMeta
from keys.responder import ResponderKey

HERE = Path(__file__).resolve().parent
KiB = 1024
CHUNK = 64 * KiB
SEALED_CHUNK = CHUNK + 17
DATE = "2024-05-01"
PASSPHRASE = "correct horse battery staple"
SMALL_COST = {"opslimit": 1, "memlimit": 8 * 1024 * 1024}
NAMES = ("alice", "bob", "carol", "mallory", "reporter")
TAG_MESSAGE, TAG_FINAL = 0, 3


def secret_key(name: str) -> bytes:
    return hashlib.blake2b(b"onion-dropbox test vector key: " + name.encode(), digest_size=32).digest()


KEYS = {name: PrivateKey(secret_key(name)) for name in NAMES}


def pub(*names: str) -> list[PublicKey]:
    return [KEYS[n].public_key for n in names]


def plaintext(label: str, size: int) -> bytes:
    return hashlib.shake_256(label.encode()).digest(size)


def header_size(count: int) -> int:
    return 7 + 1 + 1 + 80 * count + 24 + 32


# --- An envelope writer made from docs/FORMAT.md alone -----------------------------

def _spec_subkey(file_key: bytes, purpose: bytes) -> bytes:
    return hashlib.blake2b(purpose, key=file_key, digest_size=32, person=b"odbx-envelope").digest()


def spec_envelope(recipients: list[PublicKey], chunks: list[tuple[bytes, int]]) -> bytes:
    """An envelope whose payload is exactly `chunks`, each (plaintext, tag)."""
    file_key = os.urandom(32)
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    ss_header = sodium.crypto_secretstream_xchacha20poly1305_init_push(
        state, _spec_subkey(file_key, b"payload"))
    signed = (b"ODBXENV" + bytes([1, len(recipients)])
              + b"".join(SealedBox(key).encrypt(file_key) for key in recipients) + ss_header)
    mac = hmac.new(_spec_subkey(file_key, b"header"), signed, "sha256").digest()
    payload = b"".join(sodium.crypto_secretstream_xchacha20poly1305_push(state, data, None, tag)
                       for data, tag in chunks)
    return signed + mac + payload


# --- Index entries ------------------------------------------------------------------

index: list[dict] = []


def write(name: str, data: bytes) -> str:
    (HERE / name).write_bytes(data)
    return name


def good_envelope(name: str, data: bytes, keys: list[str], comment: str) -> None:
    index.append({"file": name, "type": "envelope", "expect": "good", "keys": keys,
                  "plaintext_size": len(data),
                  "plaintext_sha256": hashlib.sha256(data).hexdigest(), "comment": comment})


def bad(kind: str, name: str, keys: list[str], error: str, comment: str, **extra) -> None:
    entry = {"file": name, "type": kind, "expect": "bad", "keys": keys, **extra}
    index.append({**entry, "error": error, "comment": comment})


def swap(data: bytes, a: int, b: int, size: int) -> bytes:
    first, second = data[a:a + size], data[b:b + size]
    return data[:a] + second + data[a + size:b] + first + data[b + size:]


def envelopes() -> None:
    for label, size, comment in [
        ("empty", 0, "empty payload: one final chunk of 0 bytes"),
        ("1-byte", 1, "one final chunk of 1 byte"),
        ("64KiB", CHUNK, "one full chunk, then an empty final chunk"),
        ("64KiB+1", CHUNK + 1, "one full chunk, then a final chunk of 1 byte"),
        ("200KB", 200_000, "three full chunks and a final chunk of 3392 bytes"),
    ]:
        data = plaintext(label, size)
        name = write(f"envelope-good-{label}.bin", envelope.seal(data, pub("alice")))
        good_envelope(name, data, ["alice"], comment)

    data = plaintext("three", 1000)
    name = write("envelope-good-3-recipients.bin", envelope.seal(data, pub("alice", "bob", "carol")))
    good_envelope(name, data, ["alice", "bob", "carol"], "each of three recipients opens it")
    bad("envelope", name, ["mallory"], "not among the envelope's recipients",
        "a key that is not a recipient")

    data = plaintext("spec", CHUNK + 5)
    name = write("envelope-good-from-spec.bin", spec_envelope(
        pub("bob", "alice"), [(data[:CHUNK], TAG_MESSAGE), (data[CHUNK:], TAG_FINAL)]))
    good_envelope(name, data, ["alice", "bob"], "written from docs/FORMAT.md, not by keys/")

    # Header damage, on a small envelope to bob then alice (alice's stanza is the second).
    two = envelope.seal(plaintext("two", 100), pub("bob", "alice"))
    one = envelope.seal(plaintext("one", 100), pub("alice"))
    stanzas = 9
    header_cases = [
        ("bad-magic", b"ODBXENW" + two[7:], "not an onion-dropbox envelope", "magic is not ODBXENV"),
        ("unknown-version", two[:7] + b"\x02" + two[8:], "envelope version 2 is not supported",
         "version byte 2"),
        ("zero-recipients", two[:8] + b"\x00" + two[stanzas + 160:], "envelope has no recipients",
         "count 0, stanzas removed"),
        ("flipped-stanza", two[:stanzas + 40] + bytes([two[stanzas + 40] ^ 1]) + two[stanzas + 41:],
         "envelope header has been altered", "a byte of bob's stanza flipped; alice opens"),
        ("flipped-own-stanza", one[:stanzas + 40] + bytes([one[stanzas + 40] ^ 1]) + one[stanzas + 41:],
         "not among the envelope's recipients",
         "alice's only stanza flipped: it no longer opens, so alice is told she is not a recipient"),
        ("removed-stanza", two[:8] + b"\x01" + two[stanzas + 80:], "envelope header has been altered",
         "bob's stanza removed and the count lowered"),
        ("added-stanza", one[:8] + b"\x02" + one[stanzas:stanzas + 80]
         + SealedBox(KEYS["mallory"].public_key).encrypt(os.urandom(32)) + one[stanzas + 80:],
         "envelope header has been altered", "a stanza for mallory (holding a random key) added"),
        ("swapped-stanzas", swap(two, stanzas, stanzas + 80, 80), "envelope header has been altered",
         "the two stanzas swapped"),
        ("flipped-stream-header", two[:stanzas + 160] + bytes([two[stanzas + 160] ^ 1])
         + two[stanzas + 161:], "envelope header has been altered",
         "a byte of the secretstream header flipped"),
        ("flipped-mac", two[:stanzas + 184 + 31] + bytes([two[stanzas + 184 + 31] ^ 0x80])
         + two[stanzas + 184 + 32:], "envelope header has been altered", "last byte of the MAC flipped"),
        ("truncated-header", two[:stanzas + 100], "envelope header is truncated",
         "cut inside the second stanza"),
        ("no-payload", two[:header_size(2)], "envelope payload is truncated",
         "the header alone, no chunk at all"),
    ]
    for label, data, error, comment in header_cases:
        bad("envelope", write(f"envelope-bad-{label}.bin", data), ["alice"], error, comment)

    # Payload damage, on an envelope to alice of two full chunks and a final one.
    base = envelope.seal(plaintext("payload", 2 * CHUNK + 10), pub("alice"))
    h = header_size(1)
    payload_cases = [
        ("flipped-payload", one[:-20] + bytes([one[-20] ^ 1]) + one[-19:],
         "envelope payload is damaged or out of order", "a byte of the only chunk flipped"),
        ("reordered-chunks", swap(base, h, h + SEALED_CHUNK, SEALED_CHUNK),
         "envelope payload is damaged or out of order", "first two (full) chunks swapped"),
        ("truncated-at-chunk-boundary", base[:h + SEALED_CHUNK], "envelope payload is truncated",
         "ends after the first full chunk"),
        ("truncated-mid-chunk", base[:h + SEALED_CHUNK + 1000],
         "envelope payload is damaged or out of order",
         "ends 1000 bytes into the second chunk, which then fails to authenticate"),
        # Chunks carry no length: a reader takes up to one sealed chunk, so bytes after
        # the final chunk become part of it and it fails to authenticate.
        ("trailing-byte", one + b"\x00", "envelope payload is damaged or out of order",
         "one zero byte after the final chunk"),
    ]
    for label, data, error, comment in payload_cases:
        bad("envelope", write(f"envelope-bad-{label}.bin", data), ["alice"], error, comment)

    data = plaintext("crafted", CHUNK)
    bad("envelope", write("envelope-bad-final-tag-on-full-chunk.bin",
                          spec_envelope(pub("alice"), [(data, TAG_FINAL)])),
        ["alice"], "envelope payload has an unexpected final chunk",
        "a full 64 KiB chunk tagged TAG_FINAL: the last chunk must be shorter")
    bad("envelope", write("envelope-bad-short-chunk-without-final-tag.bin",
                          spec_envelope(pub("alice"), [(b"last", TAG_MESSAGE)])),
        ["alice"], "envelope payload is truncated",
        "a short chunk tagged TAG_MESSAGE: the stream never ends")


# --- Bundles ------------------------------------------------------------------------

CONV_A = "a" * 16 + "0123456789abcdef"
CONV_B = "b" * 16 + "0123456789abcdef"
ITEMS_A = [("1" * 32, "message", b"Someone kept interrupting me at the meetup.\n", ""),
           ("2" * 32, "file", plaintext("attachment", 3000), "photo.jpg"),
           ("3" * 32, "reply", b"Thank you for telling us. We are looking into it.\n", "bob")]
ITEMS_B = [("4" * 32, "message", b"This one is not for alice.\n", "")]


def export_bundle(manifest_id: str = CONV_A) -> bytes:
    """An export of two conversations: A to alice and bob, B to bob only."""
    import io
    conversations, blobs = [], []
    for conv_id, recipients, items in [(manifest_id, ("alice", "bob"), ITEMS_A),
                                       (CONV_B, ("bob",), ITEMS_B)]:
        entries = []
        for item_id, kind, body, name in items:
            # Replies are sealed to the reporter too, as write_reply does.
            readers = pub(*recipients) + (pub("reporter") if kind == "reply" else [])
            blob = envelope.seal(ItemMeta(kind, DATE, name).encode() + body, readers)
            blobs.append(blob)
            entries.append(ItemEntry(item_id, len(blob)))
        conversations.append(ConversationEntry(
            conv_id, tuple(ResponderKey(n, KEYS[n]).responder for n in recipients),
            tuple(entries), KEYS["reporter"].public_key))
    out = io.BytesIO()
    writer = BundleWriter(out, Manifest("export", DATE, tuple(conversations)))
    for blob in blobs:
        writer.write(blob)
    writer.close()
    return out.getvalue()


def bundles() -> None:
    good = export_bundle()
    name = write("bundle-good-export.bin", good)
    # The names open_bundle gives: messages and replies by date, kind and id prefix.
    files = {
        f"{CONV_A}/{DATE}-message-11111111.txt": ITEMS_A[0][2],
        f"{CONV_A}/attachments/photo.jpg": ITEMS_A[1][2],
        f"{CONV_A}/{DATE}-reply-33333333.txt": ITEMS_A[2][2],
        f"{CONV_A}/index.txt": (
            f"conversation {CONV_A}\nrecipients: alice, bob\n\n"
            f"{DATE}  message  {DATE}-message-11111111.txt\n"
            f"{DATE}  file     attachments/photo.jpg\n"
            f"{DATE}  reply    {DATE}-reply-33333333.txt (from bob)\n").encode(),
    }
    index.append({"file": name, "type": "bundle", "expect": "good", "keys": ["alice"],
                  "opened": 3, "excluded": 1,
                  "files": {k: hashlib.sha256(v).hexdigest() for k, v in sorted(files.items())},
                  "comment": "alice reads conversation A (3 items) and is excluded from B"})

    manifest_end = 7 + 1 + 4 + int.from_bytes(good[8:12], "big")
    first_envelope = manifest_end + 32
    bad("bundle", write("bundle-bad-truncated.bin", good[:first_envelope + 500]), ["alice"],
        "bundle is truncated", "cut 500 bytes into the first envelope")
    tampered = good.replace(b'"name": "bob"', b'"name": "eve"', 1)
    assert tampered != good
    bad("bundle", write("bundle-bad-manifest-tampered.bin", tampered), ["alice"],
        "manifest checksum does not match", "a recipient renamed in the manifest")
    bad("bundle", write("bundle-bad-envelope-tampered.bin",
                        good[:first_envelope + 200] + bytes([good[first_envelope + 200] ^ 1])
                        + good[first_envelope + 201:]), ["alice"],
        "its checksum does not match|envelope header has been altered", "a byte of the first envelope flipped")
    bad("bundle", write("bundle-bad-trailing-garbage.bin", good + b"\n"), ["alice"],
        "bundle has bytes after its end", "a newline after the final checksum")
    bad("bundle", write("bundle-bad-path-traversal-id.bin", export_bundle("../" + "x" * 16)),
        ["alice"], "bundle manifest holds an invalid id",
        "a conversation id of ../xxxxxxxxxxxxxxxx, with both checksums recomputed")


# --- Key files and codenames ---------------------------------------------------------

def key_files() -> None:
    alice = ResponderKey("alice", KEYS["alice"])
    name = write("responder-alice.key", alice.seal(PASSPHRASE, **SMALL_COST))
    index.append({"file": name, "type": "secret-key", "expect": "good", "passphrase": PASSPHRASE,
                  "name": "alice", "secret_key": bytes(KEYS["alice"]).hex(),
                  "comment": "sealed with opslimit 1, memlimit 8 MiB to keep tests fast"})
    bad("secret-key", name, [], "wrong passphrase", "opened with another passphrase",
        passphrase="correct horse battery stapler")
    name = write("responder-alice.pub", alice.responder.to_pub_text().encode("ascii"))
    index.append({"file": name, "type": "public-key", "expect": "good", "name": "alice",
                  "public_key": bytes(KEYS["alice"].public_key).hex(),
                  "fingerprint": alice.responder.fingerprint, "comment": "alice's public key file"})


def codenames() -> list[dict]:
    peppers = Peppers(lookup=bytes(range(32)), key=bytes(range(32, 64)))
    cost = StretchCost(**SMALL_COST)
    vectors = []
    for codename in ["abacus abdomen abdominal abide abiding ability ablaze",
                     "zoom zone zoologist zoology zookeeper yo-yo t-shirt"]:
        identity = derive(codename, peppers, cost)
        vectors.append({"codename": codename, "lookup_pepper": peppers.lookup.hex(),
                        "key_pepper": peppers.key.hex(), **SMALL_COST,
                        "lookup_id": identity.lookup_id, "public_key": identity.public_key.hex()})
    return vectors


def main() -> None:
    for old in HERE.glob("*.bin"):
        old.unlink()
    keys = {name: {"secret_key": bytes(k).hex(), "public_key": bytes(k.public_key).hex()}
            for name, k in KEYS.items()}
    (HERE / "keys.json").write_text(json.dumps(keys, indent=2) + "\n")
    envelopes()
    bundles()
    key_files()
    document = {"comment": "docs/FORMAT.md, 'Test vectors'. Keys are in keys.json.",
                "vectors": index, "codenames": codenames()}
    (HERE / "index.json").write_text(json.dumps(document, indent=2) + "\n")
    total = sum(p.stat().st_size for p in HERE.iterdir() if p.is_file())
    print(f"wrote {len(index)} vectors, {total // 1024} KiB in {HERE}")


if __name__ == "__main__":
    main()
