"""Writes the version 2 test vectors in this folder and their index (docs/FORMAT.md, "Test vectors").

Run once, from the repository root:

    .venv/bin/python -m tests.vectors.make_vectors

Secret keys, signing keys, peppers and plaintexts are fixed bytes, so keys.json and
every expected digest come out the same on each run. Envelopes and bundles hold a
fresh random file key, ephemeral keys and secretstream header, so they differ on
each run: they are generated once and committed, and tests only read them.

Everything a vector is made of is written here from docs/FORMAT.md with libsodium
(PyNaCl's raw bindings), hashlib and hmac, not with keys/: envelopes, padding,
bindings, bundles, records, reply signatures, key files and public key files. The
one exception, `envelope-good-by-keys-*`, comes from `keys.envelope.seal`, so each
side is checked against the other. The expected files of the good bundle (names,
`index.txt`, `report.txt`) are written out literally from the spec as well.

The version 1 vectors (`v1-*`, listed in v1-index.json) were written by version 1
of this script and are kept as they are: a version 2 reader still reads them.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from pathlib import Path
from typing import Any

from nacl import bindings as sodium
from nacl.public import PublicKey

from keys import envelope as keys_envelope
from keys.codename import Peppers, StretchCost, derive

HERE = Path(__file__).resolve().parent
CHUNK = 64 * 1024
SEALED_CHUNK = CHUNK + 17
DATE = "2024-05-01"
PASSPHRASE = "correct horse battery staple"
SMALL_COST = {"opslimit": 1, "memlimit": 8 * 1024 * 1024}
NAMES = ("alice", "bob", "carol", "mallory", "reporter", "respondent")
TAG_MESSAGE, TAG_FINAL = 0, 3
CONV_A = "a" * 16 + "0123456789abcdef"
CONV_B = "b" * 16 + "0123456789abcdef"
INVITATION = "e" * 16 + "0123456789abcdef"  # an invitation to the person reported, of conversation A


def b2b(data: bytes, size: int, key: bytes = b"", person: bytes = b"") -> bytes:
    return hashlib.blake2b(data, digest_size=size, key=key, person=person).digest()


def secret_key(name: str) -> bytes:
    return b2b(b"onion-dropbox test vector key: " + name.encode(), 32)


def signing_seed(name: str) -> bytes:
    return b2b(b"onion-dropbox test vector signing key: " + name.encode(), 32)


SECRET = {name: secret_key(name) for name in NAMES}
PUBLIC = {name: sodium.crypto_scalarmult_base(k) for name, k in SECRET.items()}
SIGNING = {name: sodium.crypto_sign_seed_keypair(signing_seed(name)) for name in NAMES}  # (pk, sk)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def plaintext(label: str, size: int) -> bytes:
    return hashlib.shake_256(label.encode()).digest(size)


# --- Envelopes, from the spec ---------------------------------------------------------

def subkey(file_key: bytes, purpose: bytes) -> bytes:
    return b2b(purpose, 32, key=file_key, person=b"odbx-envelope")


def padded_size(length: int) -> int:
    """Padmé, at least 1024 (FORMAT.md, "Padding")."""
    length = max(length, 1024)
    e = length.bit_length() - 1
    s = e.bit_length()
    mask = (1 << (e - s)) - 1
    return (length + mask) & ~mask


def sealed_box(public: bytes, message: bytes) -> bytes:
    return sodium.crypto_box_seal(message, public)


def spec_envelope(recipients: list[bytes], chunks: list[tuple[bytes, int]], context: bytes,
                  length: int, version: int = 2, file_key: bytes | None = None) -> bytes:
    """An envelope whose payload is exactly `chunks`, each (plaintext, tag)."""
    file_key = file_key or os.urandom(32)
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    ss_header = sodium.crypto_secretstream_xchacha20poly1305_init_push(state, subkey(file_key, b"payload"))
    mask = b2b(b"length", 8, key=file_key, person=b"odbx-envelope")
    masked = bytes(a ^ b for a, b in zip(length.to_bytes(8, "big"), mask, strict=True))
    signed = (b"ODBXENV" + bytes([version, len(recipients)])
              + b"".join(sealed_box(k, file_key) for k in recipients) + ss_header
              + masked + bytes([len(context)]) + context)
    mac = hmac.new(subkey(file_key, b"header"), signed, "sha256").digest()
    payload = b"".join(sodium.crypto_secretstream_xchacha20poly1305_push(state, data, None, tag)
                       for data, tag in chunks)
    return signed + mac + payload


def spec_chunks(data: bytes) -> list[tuple[bytes, int]]:
    """Full 64 KiB chunks, then always one shorter final chunk."""
    chunks = [(data[i:i + CHUNK], TAG_MESSAGE) for i in range(0, len(data) - len(data) % CHUNK, CHUNK)]
    return chunks + [(data[len(data) - len(data) % CHUNK:], TAG_FINAL)]


def spec_seal(item: bytes, recipients: list[bytes], context: str) -> bytes:
    padded = item + bytes(padded_size(len(item)) - len(item))
    return spec_envelope(recipients, spec_chunks(padded), context.encode("ascii"), len(item))


def item_bytes(meta: dict, body: bytes) -> bytes:
    encoded = json.dumps(meta, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return len(encoded).to_bytes(4, "big") + encoded + body


def header_size(count: int, context: str) -> int:
    return 7 + 1 + 1 + 80 * count + 24 + 8 + 1 + len(context) + 32


# --- Index entries ------------------------------------------------------------------

index: list[dict] = []


def write(name: str, data: bytes) -> str:
    (HERE / name).write_bytes(data)
    return name


def good_envelope(name: str, data: bytes, keys: list[str], context: str, comment: str) -> None:
    index.append({"file": name, "type": "envelope", "expect": "good", "keys": keys,
                  "binding": context, "plaintext_size": len(data),
                  "plaintext_sha256": hashlib.sha256(data).hexdigest(), "comment": comment})


def bad(kind: str, name: str, keys: list[str], error: str, comment: str, **extra) -> None:
    index.append({"file": name, "type": kind, "expect": "bad", "keys": keys, **extra,
                  "error": error, "comment": comment})


def swap(data: bytes, a: int, b: int, size: int) -> bytes:
    first, second = data[a:a + size], data[b:b + size]
    return data[:a] + second + data[a + size:b] + first + data[b + size:]


def flip(data: bytes, at: int, mask: int = 1) -> bytes:
    return data[:at] + bytes([data[at] ^ mask]) + data[at + 1:]


def envelopes() -> None:
    context = f"{CONV_A}/reporter/0"
    for label, size, comment in [
        ("empty", 0, "empty item: padded to 1024 zero bytes, one final chunk"),
        ("1-byte", 1, "padded to 1024"),
        ("64KiB", CHUNK, "65536 is a Padmé size: one full chunk, then an empty final chunk"),
        ("64KiB+1", CHUNK + 1, "padded to 67584 (65536 + 2048): a full chunk and a final one"),
        ("200KB", 200_000, "padded to 200704: three full chunks and a final chunk of 4096"),
    ]:
        data = plaintext(label, size)
        name = write(f"envelope-good-{label}.bin", spec_seal(data, [PUBLIC["alice"]], context))
        good_envelope(name, data, ["alice"], context, comment)
    data = plaintext("three", 1000)
    name = write("envelope-good-3-recipients.bin",
                 spec_seal(data, [PUBLIC[n] for n in ("alice", "bob", "carol")], context))
    good_envelope(name, data, ["alice", "bob", "carol"], context, "each of three recipients opens it")
    bad("envelope", name, ["mallory"], "not among the envelope's recipients", "a key that is not a recipient")
    data = plaintext("by keys", 70_000)
    name = write("envelope-good-by-keys.bin", keys_envelope.seal(
        data, [PublicKey(PUBLIC["alice"])], keys_envelope.Binding(CONV_B, keys_envelope.Origin.TEAM, 7)))
    good_envelope(name, data, ["alice"], f"{CONV_B}/team/7",
                  "written by keys/envelope.py, checked against the spec by the tests")

    two = spec_seal(plaintext("two", 100), [PUBLIC["bob"], PUBLIC["alice"]], context)
    one = spec_seal(plaintext("one", 100), [PUBLIC["alice"]], context)
    s = 9  # the first stanza
    h2 = header_size(2, context)
    header_cases = [
        ("bad-magic", b"ODBXENW" + two[7:], "not an onion-dropbox envelope", "magic is not ODBXENV"),
        ("unknown-version", two[:7] + b"\x03" + two[8:], "envelope version 3 is not supported", "version 3"),
        ("zero-recipients", two[:8] + b"\x00" + two[s + 160:], "envelope has no recipients",
         "count 0, stanzas removed"),
        ("flipped-stanza", flip(two, s + 40), "envelope header has been altered",
         "a byte of bob's stanza flipped; alice opens"),
        ("flipped-own-stanza", flip(one, s + 40), "not among the envelope's recipients",
         "alice's only stanza flipped: it no longer opens"),
        ("removed-stanza", two[:8] + b"\x01" + two[s + 80:], "envelope header has been altered",
         "bob's stanza removed and the count lowered"),
        ("added-stanza", one[:8] + b"\x02" + one[s:s + 80] + sealed_box(PUBLIC["mallory"], os.urandom(32))
         + one[s + 80:], "envelope header has been altered", "a stanza for mallory added"),
        ("swapped-stanzas", swap(two, s, s + 80, 80), "envelope header has been altered", "stanzas swapped"),
        ("flipped-stream-header", flip(two, s + 160), "envelope header has been altered",
         "a byte of the secretstream header flipped"),
        ("flipped-length", flip(two, s + 184 + 7), "envelope header has been altered",
         "a bit of the masked length flipped"),
        ("moved-binding", two.replace(context.encode(), f"{CONV_B}/reporter/0".encode()),
         "envelope header has been altered", "the binding changed to another conversation"),
        ("unreadable-binding", two[:s + 192] + bytes([5]) + b"a/b/c" + two[s + 193 + len(context):],
         "unreadable binding", "a binding that is not id/origin/position"),
        ("flipped-mac", flip(two, h2 - 1, 0x80), "envelope header has been altered", "last byte of the MAC"),
        ("truncated-header", two[:s + 100], "envelope header is truncated", "cut inside the second stanza"),
        ("no-payload", two[:h2], "envelope payload is truncated", "the header alone"),
    ]
    for label, data, error, comment in header_cases:
        bad("envelope", write(f"envelope-bad-{label}.bin", data), ["alice"], error, comment)

    base = spec_seal(plaintext("payload", 2 * CHUNK + 10), [PUBLIC["alice"]], context)
    h = header_size(1, context)
    payload_cases = [
        ("flipped-payload", flip(one, len(one) - 20), "envelope payload is damaged or out of order",
         "a byte of the only chunk flipped"),
        ("reordered-chunks", swap(base, h, h + SEALED_CHUNK, SEALED_CHUNK),
         "envelope payload is damaged or out of order", "first two chunks swapped"),
        ("truncated-at-chunk-boundary", base[:h + SEALED_CHUNK], "envelope payload is truncated",
         "ends after the first full chunk"),
        ("truncated-mid-chunk", base[:h + SEALED_CHUNK + 1000], "envelope payload is damaged or out of order",
         "ends 1000 bytes into the second chunk"),
        ("trailing-byte", one + b"\x00", "envelope payload is damaged or out of order",
         "one zero byte after the final chunk"),
    ]
    for label, data, error, comment in payload_cases:
        bad("envelope", write(f"envelope-bad-{label}.bin", data), ["alice"], error, comment)
    ctx = context.encode()
    data = plaintext("crafted", CHUNK)
    crafted = [
        ("final-tag-on-full-chunk", spec_envelope([PUBLIC["alice"]], [(data, TAG_FINAL)], ctx, CHUNK),
         "envelope payload has an unexpected final chunk", "a full chunk tagged TAG_FINAL"),
        ("short-chunk-without-final-tag", spec_envelope([PUBLIC["alice"]], [(b"x" * 1024, TAG_MESSAGE)],
                                                        ctx, 1024),
         "envelope payload is truncated", "a short chunk tagged TAG_MESSAGE"),
        ("padding-not-zeros", spec_envelope([PUBLIC["alice"]], [(b"x" * 10 + b"\x01" * 1014, TAG_FINAL)],
                                            ctx, 10),
         "padding is not zeros", "an item of 10 bytes padded with 0x01"),
        ("padding-too-short", spec_envelope([PUBLIC["alice"]], [(b"x" * 1024, TAG_FINAL)], ctx, 2000),
         "shorter than its padded length", "length 2000 claims 2048 bytes; the payload has 1024"),
        ("padding-too-long", spec_envelope([PUBLIC["alice"]], [(bytes(CHUNK), TAG_MESSAGE),
                                                               (b"", TAG_FINAL)], ctx, 10),
         "longer than its padded length", "length 10 (padded 1024), payload 65536"),
    ]
    for label, data, error, comment in crafted:
        bad("envelope", write(f"envelope-bad-{label}.bin", data), ["alice"], error, comment)


# --- Bundles, from the spec -------------------------------------------------------------

def record(value: dict) -> bytes:
    data = json.dumps(value, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return len(data).to_bytes(4, "big") + data


def spec_bundle(parts: list[bytes]) -> bytes:
    body = b"ODBXBDL" + bytes([2]) + b"".join(parts)
    return body + b2b(body, 32, person=b"odbx-bundle")


def responder(name: str) -> dict:
    return {"name": name, "public_key": b64(PUBLIC[name]), "signing_key": b64(SIGNING[name][0])}


CONTEXTS = {"reply": b"odbx-reply-v2\n", "note": b"odbx-note-v2\n",
            "reply-file": b"odbx-reply-file-v2\n"}


def sign_reply(signer: str, author: str, conversation: str, item_id: str, position: int,
               sealed: bytes, readers: tuple[str, ...] = ("reporter", "alice", "bob"),
               signed: str = "reply", attached_to: str = "") -> dict:
    """A reply's, a note's or a reply file's proof (FORMAT.md): `readers` are the names whose box
    keys it is sealed to, in stanza order; a reply's file also signs the reply's id."""
    readers_digest = b2b(b"".join(PUBLIC[name] for name in readers), 32, person=b"odbx-readers")
    lines = f"{conversation}\n{item_id}\n{author}\n{position}\n"
    if signed == "reply-file":
        lines += f"{attached_to}\n"
    message = (CONTEXTS[signed] + lines.encode() + readers_digest + b2b(sealed, 32, person=b"odbx-reply"))
    return {"author": author, "readers": b64(readers_digest),
            "signature": b64(sodium.crypto_sign(message, SIGNING[signer][1])[:64])}


REPORT_BODY = json.dumps({
    "version": 1, "content_warning": True, "content_warning_note": "mentions a threat",
    "answers": [{"id": "reporting_for", "question": "Who is this report for?", "answer": "For myself"},
                {"id": "behaviours", "question": "What happened?", "answer": ["Threats", "Stalking"]}],
    "message": "It happened at the meetup.\nTwice."}, ensure_ascii=False, indent=1).encode()
REPORT_TXT = (
    "CONTENT WARNING: the reporter says this report may be distressing to read.\n"
    "Their note: mentions a threat\n"
    "Take a moment before you read on.\n\n"
    f"Report sent on {DATE}\n\n"
    "Who is this report for?: For myself\n"
    "What happened?:\n  - Threats\n  - Stalking\n\n"
    "Message\n-------\nIt happened at the meetup.\nTwice.\n").encode()
MESSAGE = "Clear\x1b[2J screen and \u202etxt.exe\r\nend".encode()
MESSAGE_TXT = b"Clear\\u001b[2J screen and \\u202etxt.exe\\u000d\nend"
REPLY = b"Thank you for telling us. We are looking into it.\n"


def conversation_a(**changes) -> tuple[dict, list[bytes]]:
    """Conversation A for alice and bob: a report, a message, a file and bob's signed reply."""
    readers = [PUBLIC["alice"], PUBLIC["bob"]]
    report_meta = {"kind": "report", "date": DATE, "reporter_key": b64(PUBLIC["reporter"])}
    items = [
        ("1" * 32, "reporter", 0, item_bytes(report_meta, REPORT_BODY), readers),
        ("2" * 32, "reporter", 1, item_bytes({"kind": "message", "date": DATE}, MESSAGE), readers),
        ("3" * 32, "reporter", 2, item_bytes({"kind": "file", "date": DATE, "name": ". .hidden.txt"},
                                             b"an attachment"), readers),
        ("4" * 32, "team", 3, item_bytes({"kind": "reply", "date": DATE, "name": "bob"}, REPLY),
         [PUBLIC["reporter"], *readers]),
    ]
    entries, blobs = [], []
    for item_id, origin, position, data, keys in items:
        sealed = spec_seal(data, keys, f"{CONV_A}/{origin}/{position}")
        entry = {"id": item_id, "size": len(sealed), "origin": origin, "position": position}
        if origin == "team":
            entry["proof"] = sign_reply("bob", "bob", CONV_A, item_id, position, sealed)
        entries.append(entry)
        blobs.append(sealed)
    conv = {"type": "conversation", "id": CONV_A, "designation": "maple-river",
            "recipients": [responder("alice"), responder("bob")],
            "reporter_key": b64(PUBLIC["reporter"]), "items": entries}
    conv.update(changes)
    return conv, blobs


def head(name: str = "alice", **changes) -> dict:
    return {"type": "bundle", "kind": "export", "created": DATE, "for": responder(name), **changes}


def export(conv: dict, blobs: list[bytes], head_record: dict | None = None, excluded=1,
           records: int = 1) -> bytes:
    return spec_bundle([record(head_record or head()), record(conv), *blobs,
                        record({"type": "end", "records": records, "excluded": excluded})])


def bundles() -> None:
    conv, blobs = conversation_a()
    good = export(conv, blobs)
    name = write("bundle-good-export.bin", good)
    folder = f"aa/maple-river_{CONV_A}"
    files = {
        f"{folder}/report.txt": REPORT_TXT,
        f"{folder}/{DATE}-message-22222222.txt": MESSAGE_TXT,
        f"{folder}/attachments/hidden.txt": b"an attachment",
        f"{folder}/{DATE}-reply-44444444.txt": REPLY,
        f"{folder}/index.txt": (
            f"conversation {CONV_A}\ndesignation: maple-river\nrecipients: alice, bob\n\n"
            f"{DATE}  report   report.txt\n"
            f"{DATE}  message  {DATE}-message-22222222.txt\n"
            f"{DATE}  file     attachments/hidden.txt\n"
            f"{DATE}  reply    {DATE}-reply-44444444.txt (from bob) [signature by bob verified]\n").encode(),
        "index.txt": f"maple-river\t{CONV_A}\t{folder}\n".encode(),
    }
    index.append({"file": name, "type": "bundle", "expect": "good", "keys": ["alice"],
                  "trusted": ["bob"], "opened": 4, "excluded": 1,
                  "files": {k: hashlib.sha256(v).hexdigest() for k, v in sorted(files.items())},
                  "comment": "alice's export: conversation A (report, escaped message, a file named "
                             "'. .hidden.txt', bob's signed reply); the end record says 1 excluded; "
                             "opened with bob's keys pinned"})

    handled, handled_blobs = conversation_a(handlers=["bob"])
    name = write("bundle-good-handlers.bin", export(handled, handled_blobs))
    with_handlers = dict(files)
    head_lines = f"conversation {CONV_A}\ndesignation: maple-river\nrecipients: alice, bob\n\n"
    with_handlers[f"{folder}/index.txt"] = files[f"{folder}/index.txt"].replace(
        head_lines.encode(), (head_lines + "handled by: bob\n").encode())
    index.append({"file": name, "type": "bundle", "expect": "good", "keys": ["alice"],
                  "trusted": ["bob"], "opened": 4, "excluded": 1,
                  "files": {k: hashlib.sha256(v).hexdigest() for k, v in sorted(with_handlers.items())},
                  "comment": "conversation A as in bundle-good-export.bin, its record naming bob as its "
                             "handler: the index says \"handled by: bob\" after its head"})

    first = len(b"ODBXBDL") + 1 + len(record(head())) + len(record(conv))
    bad("bundle", write("bundle-bad-truncated.bin", good[:first + 500]), ["alice"], "truncated",
        "cut 500 bytes into the first envelope")
    bad("bundle", write("bundle-bad-trailing-garbage.bin", good + b"\n"), ["alice"],
        "bytes after its end", "a newline after the checksum")
    bad("bundle", write("bundle-bad-record-count.bin", export(conv, blobs, records=2)), ["alice"],
        "record count", "the end record counts 2 conversation records; there is 1")
    bad("bundle", write("bundle-bad-for-someone-else.bin", export(conv, blobs, head("bob"))), ["alice"],
        "made for bob", "an export made for bob, opened with alice's key")

    def changed(label: str, conv_changes: dict, error: str, comment: str, text=None) -> None:
        c, b = conversation_a(**conv_changes)
        data = export(c, b)
        if text is not None:  # a change JSON cannot express: edit the record's text, fix the lengths
            old = record(c)
            new_json = old[4:].replace(*text)
            data = spec_bundle([record(head()), len(new_json).to_bytes(4, "big") + new_json, *b,
                                record({"type": "end", "records": 1, "excluded": 1})])
        bad("bundle", write(f"bundle-bad-{label}.bin", data), ["alice"], error, comment)

    size = len(blobs[0])
    for label, replacement, error in [("size-string", f'"{size}"', "invalid size"),
                                      ("size-fraction", f"{size}.9", "unreadable"),
                                      ("size-true", "true", "invalid size"),
                                      ("size-overflow", "1e999", "unreadable")]:
        changed(label, {}, error, f"the first item's size written {replacement}",
                text=(f'"size":{size}'.encode(), f'"size":{replacement}'.encode()))
    changed("nested-deep", {"designation": json.loads("[" * 40 + "]" * 40)}, "nested too deeply",
            "a field nested 40 deep (a reader must not recurse without limit)")
    changed("handler-not-a-reader", {"handlers": ["carol"]}, "not a recipient",
            "the record names carol, who is not among its recipients, as its handler")
    changed("handler-twice", {"handlers": ["bob", "bob"]}, "a handler twice", "bob named twice as handler")
    changed("handlers-empty", {"handlers": []}, "empty list of handlers",
            "an empty handlers list (a record without handlers leaves the field out)")
    changed("handler-not-text", {"handlers": [7]}, "unreadable", "a handler that is a number")
    key = b64(PUBLIC["mallory"])
    non_canonical = key[:-2] + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".index(key[-2]) | 1] + "="
    changed("non-canonical-base64", {"reporter_key": non_canonical}, "invalid public key",
            "a key in Base64 whose unused bits are set")
    changed("path-traversal-id", {"id": "../" + "x" * 16}, "invalid id", "a conversation id ../xxxx…")
    changed("reporter-key-swapped", {"reporter_key": b64(PUBLIC["mallory"])},
            "reporter key other than the one sealed", "the record names mallory's key as the reporter's")
    c, b = conversation_a()
    c["recipients"] = [responder("alice"), responder("bob") | {"signing_key": b64(SIGNING["carol"][0])}]
    bad("bundle", write("bundle-bad-reply-signer-swapped.bin", export(c, b)), ["alice"],
        "signature does not verify", "bob's signing key replaced by carol's in the record")
    bad("bundle", write("bundle-bad-date-digits.bin",
                        export(conv, blobs, head(created="\u0662\u0660\u0662\u0664-05-01"))), ["alice"],
        "invalid date", "a creation date in Arabic-Indic digits")

    # Items moved, repeated, and an item whose metadata date is not ASCII digits.
    other = spec_seal(item_bytes({"kind": "message", "date": DATE}, b"from B"), [PUBLIC["alice"]],
                      f"{CONV_B}/reporter/1")
    c, b = conversation_a()
    c["items"][1] = {"id": "5" * 32, "size": len(other), "origin": "reporter", "position": 1}
    bad("bundle", write("bundle-bad-item-moved.bin", export(c, [b[0], other, *b[2:]])), ["alice"],
        "sealed for another conversation", "item 2 is conversation B's, listed in A")
    c, b = conversation_a()
    c["items"][2] = dict(c["items"][1], id="6" * 32)
    bad("bundle", write("bundle-bad-item-repeated.bin", export(c, [b[0], b[1], b[1], b[3]])), ["alice"],
        "a second item in the reporter's place 1", "the message listed twice under two ids")
    odd = spec_seal(item_bytes({"kind": "message", "date": "２０２４-05-01"}, b"x"), [PUBLIC["alice"]],
                    f"{CONV_A}/reporter/1")
    c, b = conversation_a()
    c["items"][1] = dict(c["items"][1], size=len(odd))
    bad("bundle", write("bundle-bad-item-date-digits.bin", export(c, [b[0], odd, *b[2:]])), ["alice"],
        "invalid date", "an item whose metadata date has full-width digits")
    forged = spec_seal(item_bytes({"kind": "reply", "date": DATE, "name": "bob"}, b"forged"),
                       [PUBLIC["reporter"], PUBLIC["alice"], PUBLIC["bob"]], f"{CONV_A}/team/3")
    c, b = conversation_a()
    c["items"][3] = {"id": "7" * 32, "size": len(forged), "origin": "team", "position": 3,
                     "proof": sign_reply("carol", "carol", CONV_A, "7" * 32, 3, forged)}
    bad("bundle", write("bundle-bad-reply-by-non-recipient.bin", export(c, [*b[:3], forged])), ["alice"],
        "not a recipient", "a reply named bob, signed by carol (left out)")
    c["items"][3]["proof"] = sign_reply("alice", "bob", CONV_A, "7" * 32, 3, forged)
    bad("bundle", write("bundle-bad-reply-forged-author.bin", export(c, [*b[:3], forged])), ["alice"],
        "signature does not verify", "a reply claiming bob, signed with alice's key")

    # What format 2 requires of an item, and what only a report may carry.
    readers = [PUBLIC["alice"], PUBLIC["bob"]]
    keyless = spec_seal(item_bytes({"kind": "report", "date": DATE}, REPORT_BODY), readers,
                        f"{CONV_A}/reporter/0")
    c, b = conversation_a()
    c["items"][0] = dict(c["items"][0], size=len(keyless))
    bad("bundle", write("bundle-bad-report-without-reporter-key.bin", export(c, [keyless, *b[1:]])),
        ["alice"], "without the reporter key sealed in it",
        "a report in a version 2 envelope with no reporter_key (only v0.1.0's have none)")
    c, b = conversation_a()
    del c["items"][3]["proof"]
    bad("bundle", write("bundle-bad-reply-without-proof.bin", export(c, b)), ["alice"],
        "without its author's signature", "bob's reply in a version 2 envelope with its proof left out")
    keyed = spec_seal(item_bytes({"kind": "message", "date": DATE, "reporter_key": b64(PUBLIC["mallory"])},
                                 b"x"), readers, f"{CONV_A}/reporter/1")
    c, b = conversation_a()
    c["items"][1] = dict(c["items"][1], size=len(keyed))
    bad("bundle", write("bundle-bad-reporter-key-in-message.bin", export(c, [b[0], keyed, *b[2:]])),
        ["alice"], "holds a reporter key", "a message whose metadata carries a reporter_key")


def reply_file(head_changes: dict | None = None, conv_changes: dict | None = None,
               item_changes: dict | None = None, end: dict | None = None,
               second: bool = False, items: int = 1) -> bytes:
    """alice's signed reply to conversation A, in a reply file changed as given."""
    reply = spec_seal(item_bytes({"kind": "reply", "date": DATE, "name": "alice"}, REPLY),
                      [PUBLIC["reporter"], PUBLIC["alice"], PUBLIC["bob"]], f"{CONV_A}/team/3")
    item = {"id": "8" * 32, "size": len(reply), "origin": "team", "position": 3,
            "proof": sign_reply("alice", "alice", CONV_A, "8" * 32, 3, reply)}
    item.update(item_changes or {})
    item = {k: v for k, v in item.items() if v is not None}
    conv = {"type": "conversation", "id": CONV_A, "recipients": [], "items": [item, *({**item, "id": f"{9 + n}" * 32} for n in range(items - 1))],
            **(conv_changes or {})}
    # A second record for another conversation: only the one-record rule can refuse it.
    records = [conv, {**conv, "id": CONV_B}] if second else [conv]
    parts = [record({"type": "bundle", "kind": "reply", "created": DATE, **(head_changes or {})})]
    for each in records:
        parts += [record(each), *[reply] * len(each["items"])]
    parts.append(record(end or {"type": "end", "records": len(records), "excluded": None}))
    return spec_bundle(parts)


def reply_files() -> None:
    index.append({"file": write("reply-good.bin", reply_file()), "type": "reply", "expect": "good",
                  "keys": ["reporter", "bob"], "author": "alice", "conversation": CONV_A,
                  "position": 3, "comment": "alice's signed reply to conversation A"})
    cases: list[tuple[str, dict[str, Any], str, str]] = [
        ("for", {"head_changes": {"for": responder("alice")}}, "names no responder",
         "a head with `for`"),
        ("recipients", {"conv_changes": {"recipients": [responder("mallory")]}},
         "names no recipients", "a record listing mallory as a recipient"),
        ("reporter-key", {"conv_changes": {"reporter_key": b64(PUBLIC["mallory"])}},
         "names no recipients, reporter key", "a record naming a reporter key"),
        ("designation", {"conv_changes": {"designation": "maple-river"}},
         "or designation", "a record naming a designation"),
        ("excluded", {"end": {"type": "end", "records": 1, "excluded": 0}},
         "nothing of excluded", "an end record with excluded 0, not null"),
        ("two-records", {"second": True}, "one conversation record",
         "a second conversation record with a reply"),
        ("reporter-origin", {"item_changes": {"origin": "reporter", "proof": None}},
         "not from the team", "the reply listed as the reporter's (and so without its proof)"),
        ("no-position", {"item_changes": {"position": None}}, "has no position",
         "the reply's position left out"),
        ("unsigned", {"item_changes": {"proof": None}}, "not signed", "the proof left out"),
        ("two-items", {"items": 2}, "exactly one reply", "one record listing the reply twice"),
    ]
    for label, changes, error, comment in cases:
        bad("reply", write(f"reply-bad-{label}.bin", reply_file(**changes)), [], error, comment)


# --- Notes and files sent with replies (FORMAT.md, "Notes", "Reply files' attachments") -----

NOTE = b"Mario, can you take this one?\n"
POLICY = b"%PDF-1.7 the policy"
TEAM_READERS = ("alice", "bob")
REPLY_READERS = ("reporter", "alice", "bob")


def team_item(item_id: str, origin: str, meta: dict, body: bytes, signer: str,
              readers: tuple[str, ...], signed: str, attached_to: str = "",
              binding: str = "", author: str = "") -> tuple[dict, bytes]:
    """A signed team item of conversation A at position 3: a reply's file or a note."""
    sealed = spec_seal(item_bytes(meta, body), [PUBLIC[n] for n in readers],
                       binding or f"{CONV_A}/{origin}/3")
    entry = {"id": item_id, "size": len(sealed), "origin": origin, "position": 3,
             "proof": sign_reply(signer, author or signer, CONV_A, item_id, 3, sealed, readers, signed,
                                 attached_to)}
    if attached_to:
        entry["attached_to"] = attached_to
    return entry, sealed


def policy_file(**changes) -> tuple[dict, bytes]:
    """bob's file sent with his reply 4444…, as `keys reply --file` writes it."""
    args: dict[str, Any] = {"signer": "bob", "readers": REPLY_READERS, "signed": "reply-file",
                            "attached_to": "4" * 32}
    args.update(changes)
    return team_item("c" * 32, "team", {"kind": "file", "date": DATE, "name": "policy.pdf"}, POLICY,
                     **args)


def bob_note(**changes) -> tuple[dict, bytes]:
    """bob's note to conversation A's readers, as `keys note` writes it."""
    args: dict[str, Any] = {"signer": "bob", "readers": TEAM_READERS, "signed": "note"}
    args.update(changes)
    return team_item("d" * 32, "note", {"kind": "note", "date": DATE, "name": args.get("author", "bob")},
                     NOTE, **args)


def alice_answer() -> tuple[dict, bytes]:
    return team_item("e" * 32, "note", {"answers": "d" * 32, "kind": "note", "date": DATE,
                                        "name": "alice"}, b"Yes.", "alice", TEAM_READERS, "note")


def with_items(*extra: tuple[dict, bytes]) -> bytes:
    conv, blobs = conversation_a()
    conv["items"] = [*conv["items"], *(entry for entry, _ in extra)]
    return export(conv, [*blobs, *(sealed for _, sealed in extra)])


def notes_and_reply_files() -> None:
    folder = f"aa/maple-river_{CONV_A}"
    files = {
        f"{folder}/report.txt": REPORT_TXT,
        f"{folder}/{DATE}-message-22222222.txt": MESSAGE_TXT,
        f"{folder}/attachments/hidden.txt": b"an attachment",
        f"{folder}/{DATE}-reply-44444444.txt": REPLY,
        f"{folder}/attachments/policy.pdf": POLICY,
        f"{folder}/{DATE}-note-dddddddd.txt": NOTE,
        f"{folder}/{DATE}-note-eeeeeeee.txt": b"Yes.",
        f"{folder}/index.txt": (
            f"conversation {CONV_A}\ndesignation: maple-river\nrecipients: alice, bob\n\n"
            f"{DATE}  report   report.txt\n"
            f"{DATE}  message  {DATE}-message-22222222.txt\n"
            f"{DATE}  file     attachments/hidden.txt\n"
            f"{DATE}  reply    {DATE}-reply-44444444.txt (from bob) [signature by bob verified]\n"
            f"{DATE}  file     attachments/policy.pdf (from bob, with reply 44444444) "
            "[signature by bob verified]\n"
            f"{DATE}  note     {DATE}-note-dddddddd.txt (from bob) [signature by bob verified]\n"
            f"{DATE}  note     {DATE}-note-eeeeeeee.txt (from alice) (answers dddddddd) "
            "[signature by alice verified]\n").encode(),
        "index.txt": f"maple-river\t{CONV_A}\t{folder}\n".encode(),
    }
    name = write("bundle-good-notes-and-reply-files.bin", with_items(policy_file(), bob_note(), alice_answer()))
    index.append({"file": name, "type": "bundle", "expect": "good", "keys": ["alice"],
                  "trusted": ["alice", "bob"], "opened": 7, "excluded": 1,
                  "files": {k: hashlib.sha256(v).hexdigest() for k, v in sorted(files.items())},
                  "comment": "conversation A with bob's reply carrying a file (policy.pdf), bob's note "
                             "sealed to alice and bob only, and alice's note answering it"})
    bundle_cases = [
        ("note-by-non-reader", bob_note(signer="carol", author="carol"), "not a recipient",
         "a note by carol, left out of conversation A"),
        ("note-forged-author", bob_note(signer="carol", author="bob"), "signature does not verify",
         "a note named bob, signed with carol's key"),
        ("note-bound-elsewhere", bob_note(binding=f"{CONV_B}/note/3"), "sealed for another conversation",
         "bob's note sealed for conversation B, listed in A"),
        ("note-signed-as-reply", bob_note(signed="reply"), "signature does not verify",
         "bob's note signed in the reply context"),
        ("note-listed-as-reply", team_item("d" * 32, "team", {"kind": "note", "date": DATE, "name": "bob"},
                                           NOTE, "bob", TEAM_READERS, "reply", binding=f"{CONV_A}/team/3"),
         "does not list as a note", "bob's note listed (and bound) as a reply of the team"),
        ("file-without-tie", team_item("c" * 32, "team", {"kind": "file", "date": DATE, "name": "x.pdf"},
                                       POLICY, "bob", REPLY_READERS, "reply"),
         "lists as a reply that is a file", "a file of the team not tied to a reply"),
        ("file-signed-as-reply", policy_file(signed="reply"), "signature does not verify",
         "bob's reply file signed in the reply context"),
        ("file-tied-to-other-reply", policy_file(attached_to="f" * 32), "signature does not verify",
         "bob's file signed for reply ffff…, listed as going with reply 4444…"),
    ]
    for label, (entry, sealed), error, comment in bundle_cases:
        if label == "file-tied-to-other-reply":
            entry = dict(entry, attached_to="4" * 32)
        bad("bundle", write(f"bundle-bad-{label}.bin", with_items((entry, sealed))), ["alice"], error, comment)

    # Reply files as the server reads them: a reply with its file, a note.
    reply = spec_seal(item_bytes({"kind": "reply", "date": DATE, "name": "alice"}, REPLY),
                      [PUBLIC[n] for n in REPLY_READERS], f"{CONV_A}/team/3")
    reply_entry = {"id": "8" * 32, "size": len(reply), "origin": "team", "position": 3,
                   "proof": sign_reply("alice", "alice", CONV_A, "8" * 32, 3, reply)}
    attached = policy_file(signer="alice", attached_to="8" * 32)
    note = bob_note(signer="alice", author="alice")

    def reply_bundle(items: list[tuple[dict, bytes]]) -> bytes:
        conv = {"type": "conversation", "id": CONV_A, "recipients": [], "items": [e for e, _ in items]}
        return spec_bundle([record({"type": "bundle", "kind": "reply", "created": DATE}), record(conv),
                            *(s for _, s in items),
                            record({"type": "end", "records": 1, "excluded": None})])

    for label, items, author, comment in [
            ("with-file", [(reply_entry, reply), attached], "alice", "alice's reply and the file sent with it"),
            ("note", [note], "alice", "alice's note to conversation A's readers")]:
        index.append({"file": write(f"reply-good-{label}.bin", reply_bundle(items)), "type": "reply",
                      "expect": "good", "keys": ["alice", "bob"] if label == "note" else ["reporter", "bob"],
                      "author": author, "conversation": CONV_A, "position": 3,
                      "attachments": len(items) - 1, "comment": comment})
    file_entry, file_sealed = attached
    reply_cases = [
        ("file-without-reply", [attached], "come after their reply", "the file alone, its reply left out"),
        ("file-origin-reporter", [(reply_entry, reply), (dict(file_entry, origin="reporter",
                                                               proof=None), file_sealed)],
         "ties an item to a reply", "the file listed as the reporter's"),
        ("file-tied-elsewhere", [(reply_entry, reply), (dict(file_entry, attached_to="f" * 32), file_sealed)],
         "tied to another reply", "a file tied to a reply not in the file"),
        ("note-with-file", [note, attached], "one note alone", "a note followed by a file"),
    ]
    for label, items, error, comment in reply_cases:
        items = [({k: v for k, v in e.items() if v is not None}, s) for e, s in items]
        bad("reply", write(f"reply-bad-{label}.bin", reply_bundle(items)), [], error, comment)

    # What the server checks on import, with what it holds: conversation A's readers today are
    # alice and bob, its reporter key the reporter's, 3 reporter items held.
    sealed_to_reporter = team_item("d" * 32, "note", {"kind": "note", "date": DATE, "name": "alice"}, NOTE,
                                   "alice", REPLY_READERS, "note")
    import_cases = [
        ("note-sealed-to-reporter", [sealed_to_reporter], "readers",
         "alice's note sealed to the reporter too (and signed so)"),
        ("note-by-non-reader", [bob_note(signer="carol", author="carol")], "signer",
         "a note by carol, who is not among conversation A's readers"),
        ("note-bound-elsewhere", [bob_note(signer="alice", author="alice", binding=f"{CONV_B}/note/3")],
         "binding", "alice's note sealed for conversation B, sent to A"),
    ]
    index.append({"file": "reply-good-note.bin", "type": "import", "expect": "good", "keys": [],
                  "comment": "alice's note passes every import check"})
    index.append({"file": "reply-good-with-file.bin", "type": "import", "expect": "good", "keys": [],
                  "comment": "alice's reply and its file pass every import check"})
    for label, items, rule, comment in import_cases:
        bad("import", write(f"reply-bad-import-{label}.bin", reply_bundle(items)), [], rule, comment)
# --- The person reported (FORMAT.md, "The person reported") ---------------------------

TO_RESPONDENT = b"A report names you. Here is what happens next; you may answer or not.\n"
RESPONSE = "My account of that evening\u202e.\n".encode()
RESPONSE_TXT = b"My account of that evening\\u202e.\n"


def invitation_record() -> dict:
    return {"id": INVITATION, "public_key": b64(PUBLIC["respondent"])}


def respondent_item(item_id: str, position: int, meta: dict, body: bytes,
                    binding: str | None = None) -> tuple[dict, bytes]:
    """An item of the person reported: sealed to alice and bob on arrival, bound to its place."""
    sealed = spec_seal(item_bytes(meta, body), [PUBLIC["alice"], PUBLIC["bob"]],
                       binding or f"{CONV_A}/respondent/{position}")
    return {"id": item_id, "size": len(sealed), "origin": "respondent", "position": position,
            "invitation": INVITATION}, sealed


def to_respondent_item(item_id: str = "d" * 32, readers: tuple[str, ...] = ("respondent", "alice", "bob"),
                       author: str = "bob") -> tuple[dict, bytes]:
    """bob's signed message to the person reported, before they answered (position 0)."""
    sealed = spec_seal(item_bytes({"kind": "reply", "date": DATE, "name": author}, TO_RESPONDENT),
                       [PUBLIC[n] for n in readers], f"{CONV_A}/to-respondent/0")
    return {"id": item_id, "size": len(sealed), "origin": "to-respondent", "position": 0,
            "invitation": INVITATION,
            "proof": sign_reply(author, author, CONV_A, item_id, 0, sealed, readers)}, sealed


def conversation_with_respondent() -> tuple[dict, list[bytes]]:
    """Conversation A as an export of what is new: bob's message to the person reported, their
    response and their file (the report came in an earlier bundle)."""
    conv, blobs = conversation_a()
    parts = [to_respondent_item(),
             respondent_item("e" * 32, 0, {"kind": "message", "date": DATE}, RESPONSE),
             respondent_item("f" * 32, 1, {"kind": "file", "date": DATE, "name": "account.txt"},
                             b"my attachment")]
    conv = dict(conv, items=[entry for entry, _ in parts], invitations=[invitation_record()])
    return conv, [sealed for _, sealed in parts]


def respondent_vectors() -> None:
    conv, blobs = conversation_with_respondent()
    folder = f"aa/maple-river_{CONV_A}"
    invited = f"invitation {INVITATION}"
    files = {
        f"{folder}/{DATE}-to-respondent-dddddddd.txt": TO_RESPONDENT,
        f"{folder}/{DATE}-response-eeeeeeee.txt": RESPONSE_TXT,
        f"{folder}/attachments/account.txt": b"my attachment",
        f"{folder}/index.txt": (
            f"conversation {CONV_A}\ndesignation: maple-river\nrecipients: alice, bob\n\n"
            f"{DATE}  reply    {DATE}-to-respondent-dddddddd.txt (from bob) [to the person reported "
            f"({invited})] [signature by bob verified]\n"
            f"{DATE}  response {DATE}-response-eeeeeeee.txt [response from the person reported ({invited})]\n"
            f"{DATE}  file     attachments/account.txt [response from the person reported ({invited})]\n"
        ).encode(),
        "index.txt": f"maple-river\t{CONV_A}\t{folder}\n".encode(),
    }
    index.append({"file": write("bundle-good-respondent.bin", export(conv, blobs)), "type": "bundle",
                  "expect": "good", "keys": ["alice"], "trusted": ["bob"], "opened": 3, "excluded": 1,
                  "files": {k: hashlib.sha256(v).hexdigest() for k, v in sorted(files.items())},
                  "comment": "alice's export of what is new in conversation A with an invitation: bob's "
                             "signed message to the person reported, their response (a bidi override "
                             "in it) and their file"})

    def changed(label: str, item: int, entry: dict | None, blob: bytes | None, error: str, comment: str,
                **conv_changes) -> None:
        c, b = conversation_with_respondent()
        if entry is not None:
            c["items"][item] = entry
        if blob is not None:
            b[item] = blob
        # Only the item that breaks the rule: the vectors stay small.
        c["items"], b = [c["items"][item]], [b[item]]
        c.update(conv_changes)
        bad("bundle", write(f"bundle-bad-respondent-{label}.bin", export(c, b)), ["alice"], error, comment)

    entry, sealed = respondent_item("e" * 32, 0, {"kind": "message", "date": DATE}, RESPONSE,
                                    binding=f"{CONV_B}/respondent/0")
    changed("bound-elsewhere", 1, entry, sealed, "sealed for another conversation",
            "a response sealed for conversation B, listed in A")
    c, _ = conversation_with_respondent()
    claimed = {k: v for k, v in c["items"][1].items() if k != "invitation"} | {"origin": "reporter", "position": 1}
    changed("claims-reporter", 1, claimed, None, "not in the place it was sealed for",
            "the response listed as the reporter's item at place 1")
    entry, sealed = respondent_item("e" * 32, 0, {"kind": "message", "date": DATE}, RESPONSE,
                                    binding=f"{CONV_A}/reporter/1")
    changed("sealed-as-reporter", 1, entry, sealed, "not in the place it was sealed for",
            "an item of the person reported sealed in the reporter's place 1")
    entry, sealed = respondent_item("e" * 32, 0, {"kind": "report", "date": DATE,
                                                  "reporter_key": b64(PUBLIC["respondent"])}, REPORT_BODY)
    changed("report", 1, entry, sealed, "cannot send a report or a reply",
            "the person reported's item is a report sealing their own key")
    c, _ = conversation_with_respondent()
    as_team = {k: v for k, v in c["items"][0].items() if k != "invitation"} | {"origin": "team"}
    changed("to-respondent-as-team", 0, as_team, None, "not in the place it was sealed for",
            "bob's message to the person reported listed as a reply to the reporter")
    changed("unlisted-invitation", 1, dict(c["items"][1], invitation="c" * 32), None,
            "does not list", "a response naming an invitation the record does not list")
    changed("no-invitation", 1, {k: v for k, v in c["items"][1].items() if k != "invitation"}, None,
            "if and only if", "a response that names no invitation")
    changed("proof", 1, dict(c["items"][1], proof=c["items"][0]["proof"]), None,
            "proof on a reporter item", "a response carrying a reply's proof")
    changed("invitation-twice", 1, None, None, "invitation twice", "the record lists the invitation twice",
            invitations=[invitation_record(), invitation_record()])
    entry, sealed = to_respondent_item(author="carol", readers=("respondent", "alice", "bob"))
    changed("to-respondent-by-carol", 0, entry, sealed, "not a recipient",
            "a message to the person reported signed by carol, who is left out")

    reply_entry, reply = to_respondent_item("8" * 32)

    def to_respondent_file(item: dict, envelope: bytes, invitations: list[dict]) -> bytes:
        conv = {"type": "conversation", "id": CONV_A, "recipients": [], "items": [item],
                "invitations": invitations}
        return spec_bundle([record({"type": "bundle", "kind": "reply", "created": DATE}), record(conv),
                            envelope, record({"type": "end", "records": 1, "excluded": None})])

    index.append({"file": write("reply-good-to-respondent.bin",
                                to_respondent_file(reply_entry, reply, [invitation_record()])),
                  "type": "reply", "expect": "good", "keys": ["respondent", "alice"], "author": "bob",
                  "conversation": CONV_A, "position": 0, "invitation": INVITATION,
                  "comment": "bob's signed message to the person reported of conversation A"})
    bad("reply", write("reply-bad-to-respondent-unlisted.bin", to_respondent_file(reply_entry, reply, [])),
        [], "does not list", "the record does not list the message's invitation")
    bad("reply", write("reply-bad-to-respondent-two-invitations.bin", to_respondent_file(
        reply_entry, reply, [invitation_record(), {"id": "c" * 32, "public_key": b64(PUBLIC["mallory"])}])),
        [], "only the invitation", "the record lists a second invitation")
    to_reporter, sealed = to_respondent_item("8" * 32, readers=("reporter", "alice", "bob"))
    index.append({"file": write("reply-bad-to-respondent-sealed-to-reporter.bin",
                                to_respondent_file(to_reporter, sealed, [invitation_record()])),
                  "type": "reply-import", "expect": "bad", "keys": ["reporter"],
                  "error": "not sealed to the person reported",
                  "comment": "a well-formed, signed message to the person reported, sealed to the "
                             "reporter's key instead of the invitation's: the server's import refuses it"})


# --- Key files and codenames -----------------------------------------------------------

def key_file(plaintext_box: bytes, version: int = 2, opslimit: int = 1, memlimit: int = 8 << 20,
             salt: bytes | None = None) -> bytes:
    salt = salt or os.urandom(16)
    box_key = sodium.crypto_pwhash_alg(32, PASSPHRASE.encode(), salt, opslimit, memlimit,
                                       sodium.crypto_pwhash_ALG_ARGON2ID13)
    nonce = os.urandom(24)
    body = (b"ODBXKEY" + bytes([version]) + opslimit.to_bytes(8, "big") + memlimit.to_bytes(8, "big")
            + salt + nonce + sodium.crypto_secretbox(plaintext_box, nonce, box_key))
    return body + b2b(body, 32, person=b"odbx-keyfile")


def key_files() -> None:
    name = write("responder-alice.key", key_file(SECRET["alice"] + signing_seed("alice") + b"alice"))
    index.append({"file": name, "type": "secret-key", "expect": "good", "passphrase": PASSPHRASE,
                  "name": "alice", "secret_key": SECRET["alice"].hex(),
                  "signing_key": SIGNING["alice"][0].hex(),
                  "comment": "version 2, sealed with opslimit 1, memlimit 8 MiB to keep tests fast"})
    bad("secret-key", name, [], "wrong passphrase", "opened with another passphrase",
        passphrase="correct horse battery stapler")
    # Costs no real key file asks for: refused before argon2id runs (the checksum is right).
    body = b"ODBXKEY" + bytes([2]) + (64).to_bytes(8, "big") + (4 << 30).to_bytes(8, "big") + bytes(16 + 24 + 80)
    bad("secret-key", write("responder-bad-cost.key", body + b2b(body, 32, person=b"odbx-keyfile")), [],
        "a cost no real key file has", "64 passes and 4 GiB", passphrase=PASSPHRASE)
    body = b"ODBXKEY" + bytes([2]) + (0).to_bytes(8, "big") + (8 << 20).to_bytes(8, "big") + bytes(16 + 24 + 80)
    bad("secret-key", write("responder-bad-low-cost.key", body + b2b(body, 32, person=b"odbx-keyfile")), [],
        "a cost no real key file has", "0 passes: less than libsodium allows", passphrase=PASSPHRASE)
    body = b"ODBXKEY" + bytes([2]) + (1).to_bytes(8, "big") + (8 << 20).to_bytes(8, "big") + bytes(15)
    bad("secret-key", write("responder-bad-short.key", body + b2b(body, 32, person=b"odbx-keyfile")), [],
        "not an onion-dropbox secret key file", "71 bytes: shorter than any key file", passphrase=PASSPHRASE)
    bad("secret-key", write("responder-bad-inner-name.key",
                            key_file(SECRET["alice"] + signing_seed("alice") + b"../evil")), [],
        "inner name", "a sealed name that is not a responder name", passphrase=PASSPHRASE)
    bad("secret-key", write("responder-bad-short-box.key", key_file(b"0123456789")), [],
        "inner name", "a sealed key of 10 bytes", passphrase=PASSPHRASE)
    fingerprint = base64.b32encode(b2b(PUBLIC["alice"] + SIGNING["alice"][0], 10,
                                       person=b"odbx-fprint-v2")).decode()
    fingerprint = " ".join(fingerprint[i:i + 4] for i in range(0, 16, 4))
    text = ("# onion-dropbox responder public key v2 (safe to share)\nname: alice\n"
            f"public-key: {b64(PUBLIC['alice'])}\nsigning-key: {b64(SIGNING['alice'][0])}\n"
            f"fingerprint: {fingerprint}\n")
    index.append({"file": write("responder-alice.pub", text.encode()), "type": "public-key",
                  "expect": "good", "name": "alice", "public_key": PUBLIC["alice"].hex(),
                  "signing_key": SIGNING["alice"][0].hex(), "fingerprint": fingerprint,
                  "comment": "alice's version 2 public key file"})
    bad("public-key", write("responder-bad-twice.pub", (text + "name: mallory\n").encode()), [],
        "appears twice", "a field given twice")
    bad("public-key", write("responder-bad-fingerprint.pub",
                            text.replace(fingerprint, fingerprint[::-1]).encode()), [],
        "fingerprint does not match", "fingerprint reversed")
    public_key_edges(text)
    backup = text.replace("name: alice\n", "name: alice\npurpose: backup\n")
    index.append({"file": write("responder-alice-backup.pub", backup.encode()), "type": "public-key",
                  "expect": "good", "name": "alice", "public_key": PUBLIC["alice"].hex(),
                  "signing_key": SIGNING["alice"][0].hex(), "fingerprint": fingerprint,
                  "purpose": "backup",
                  "comment": "the same keys said to be a backup key: the fingerprint does not cover it"})
    bad("public-key", write("responder-bad-purpose.pub",
                            text.replace("name: alice\n", "name: alice\npurpose: admin\n").encode()), [],
        "neither responder nor backup", "a purpose that is neither responder nor backup")


def public_key_edges(text: str) -> None:
    """Bytes, not characters; white space is ASCII spaces, tabs, CR and LF only."""
    bad("public-key", write("responder-bad-too-large.pub", (text + "# " + "é" * 2000 + "\n").encode()),
        [], "too large", "a comment of 2,000 'é': under 4,096 characters, over 4,096 bytes")
    bad("public-key", write("responder-bad-no-break-space.pub",
                            text.replace("name: ", "name:\u00a0").encode()), [],
        "not a usable name", "a no-break space (not white space here) after 'name:'")
    bad("public-key", write("responder-bad-byte-order-mark.pub", ("\ufeff" + text).encode()), [],
        "not an onion-dropbox public key file", "a byte-order mark before the first line")


def bounded_bundles() -> None:
    """What a bundle may make a reader do grows with what it holds (FORMAT.md, "Bundle")."""
    conv, blobs = conversation_a()
    first, rest = dict(conv, items=conv["items"][:2]), dict(conv, items=conv["items"][2:])
    other = spec_seal(item_bytes({"kind": "message", "date": DATE}, b"from B"), [PUBLIC["alice"]],
                      f"{CONV_B}/reporter/0")
    conv_b = {"type": "conversation", "id": CONV_B, "recipients": [responder("alice")],
              "items": [{"id": "9" * 32, "size": len(other), "origin": "reporter", "position": 0}]}

    def records_of(*parts: tuple[dict, list[bytes]]) -> bytes:
        body = [record(head())]
        for rec, envelopes in parts:
            body += [record(rec), *envelopes]
        return spec_bundle(body + [record({"type": "end", "records": len(parts), "excluded": 1})])

    bad("bundle", write("bundle-bad-record-without-items.bin",
                        records_of((conv, blobs), (dict(conv_b, items=[]), []))), ["alice"],
        "record with no items", "conversation B's record lists no items")
    bad("bundle", write("bundle-bad-records-apart.bin",
                        records_of((first, blobs[:2]), (conv_b, [other]), (rest, blobs[2:]))), ["alice"],
        "not one after another", "conversation A in two records with B's between them")
    bad("bundle", write("bundle-bad-continuation-changed.bin",
                        records_of((first, blobs[:2]), (dict(rest, designation="other-name"), blobs[2:]))),
        ["alice"], "changes its recipients, reporter key, designation or handlers",
        "conversation A's second record gives it another designation")
    c, b = conversation_a()
    c["items"][1] = dict(c["items"][1], id=c["items"][0]["id"])
    bad("bundle", write("bundle-bad-item-id-twice.bin", export(c, b)), ["alice"], "twice",
        "the message listed under the report's id")
    c, b = conversation_a()
    c["items"][1] = dict(c["items"][1], proof=sign_reply("alice", "alice", CONV_A, "2" * 32, 1, b[1]))
    bad("bundle", write("bundle-bad-proof-on-reporter-item.bin", export(c, b)), ["alice"],
        "proof on a reporter item", "the reporter's message carries a reply's proof")
    end = b'{"excluded":-0,"records":1,"type":"end"}'  # JSON cannot say -0: written as text
    data = spec_bundle([record(head()), record(conv), *blobs, len(end).to_bytes(4, "big") + end])
    bad("bundle", write("bundle-bad-minus-zero.bin", data), ["alice"], "unreadable",
        "the end record's excluded written -0")


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
    for old in [p for p in HERE.iterdir() if p.suffix in (".bin", ".key", ".pub")
                and not p.name.startswith("v1-")]:
        old.unlink()
    keys = {name: {"secret_key": SECRET[name].hex(), "public_key": PUBLIC[name].hex(),
                   "signing_seed": signing_seed(name).hex(), "signing_key": SIGNING[name][0].hex()}
            for name in NAMES}
    (HERE / "keys.json").write_text(json.dumps(keys, indent=2) + "\n")
    envelopes()
    bundles()
    bounded_bundles()
    reply_files()
    notes_and_reply_files()
    respondent_vectors()
    key_files()
    document = {"comment": "docs/FORMAT.md, 'Test vectors'. Keys are in keys.json; version 1 "
                           "vectors in v1-index.json.",
                "vectors": index, "codenames": codenames()}
    (HERE / "index.json").write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    total = sum(p.stat().st_size for p in HERE.iterdir() if p.is_file())
    print(f"wrote {len(index)} vectors, {total // 1024} KiB in {HERE}")


if __name__ == "__main__":
    main()
