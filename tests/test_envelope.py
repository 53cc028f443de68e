"""Envelopes: sealed to several responders, and any change to one is refused."""
from __future__ import annotations

import hashlib
import io
import os
import resource

import pytest
from nacl.public import PrivateKey, SealedBox

from keys import envelope
from keys.envelope import CHUNK_SIZE, SEALED_CHUNK_SIZE, NotARecipient, PayloadSealer
from keys.errors import FormatError

from keys_support import BINDING, flip, seal

MiB = 1024 * 1024
STANZAS = len(envelope.MAGIC) + 2  # where the first stanza starts


def keys(count: int) -> list[PrivateKey]:
    return [PrivateKey.generate() for _ in range(count)]


def publics(secret_keys: list[PrivateKey]):
    return [k.public_key for k in secret_keys]


def swap(data: bytes, a: int, b: int, size: int) -> bytes:
    first, second = data[a:a + size], data[b:b + size]
    return data[:a] + second + data[a + size:b] + first + data[b + size:]


@pytest.fixture(scope="module")
def three_chunk_envelope():
    """(recipients, plaintext, envelope): two full chunks and a short final one, to two people."""
    recipients = keys(2)
    plaintext = os.urandom(2 * CHUNK_SIZE + 1000)
    return recipients, plaintext, seal(plaintext, publics(recipients))


@pytest.mark.parametrize("count", [1, 3, 5])
def test_every_recipient_opens_the_envelope(count):
    recipients = keys(count)
    plaintext = os.urandom(150_000)
    sealed = seal(plaintext, publics(recipients))
    for key in recipients:
        assert envelope.open_bytes(sealed, key) == plaintext


def test_key_that_is_not_a_recipient_gets_not_a_recipient():
    sealed = seal(b"for the team only", publics(keys(3)))
    with pytest.raises(NotARecipient, match="not among the envelope's recipients"):
        envelope.open_bytes(sealed, PrivateKey.generate())


def test_removed_stanza_is_detected():
    alice, bob = keys(2)
    sealed = seal(b"report", publics([bob, alice]))
    without_bob = sealed[:STANZAS - 1] + b"\x01" + sealed[STANZAS + envelope.STANZA_SIZE:]
    with pytest.raises(FormatError, match="header has been altered"):
        envelope.open_bytes(without_bob, alice)


def test_added_stanza_is_detected():
    (alice,) = keys(1)
    sealed = seal(b"report", [alice.public_key])
    extra = SealedBox(PrivateKey.generate().public_key).encrypt(os.urandom(32))
    with_mallory = (sealed[:STANZAS - 1] + b"\x02" + extra + sealed[STANZAS:])
    with pytest.raises(FormatError, match="header has been altered"):
        envelope.open_bytes(with_mallory, alice)


def test_swapped_stanzas_are_detected():
    alice, bob = keys(2)
    sealed = seal(b"report", publics([alice, bob]))
    swapped = swap(sealed, STANZAS, STANZAS + envelope.STANZA_SIZE, envelope.STANZA_SIZE)
    for key in (alice, bob):
        with pytest.raises(FormatError, match="header has been altered"):
            envelope.open_bytes(swapped, key)


def test_reordered_chunks_are_detected(three_chunk_envelope):
    (alice, _), _, sealed = three_chunk_envelope
    start = envelope.header_size(2, BINDING)
    reordered = swap(sealed, start, start + SEALED_CHUNK_SIZE, SEALED_CHUNK_SIZE)
    with pytest.raises(FormatError, match="damaged or out of order"):
        envelope.open_bytes(reordered, alice)


def test_envelope_cut_at_a_chunk_boundary_is_refused_as_truncated(three_chunk_envelope):
    (alice, _), _, sealed = three_chunk_envelope
    start = envelope.header_size(2, BINDING)
    for chunks in (0, 1, 2):
        with pytest.raises(FormatError, match="truncated"):
            envelope.open_bytes(sealed[:start + chunks * SEALED_CHUNK_SIZE], alice)


def test_envelope_cut_inside_a_chunk_is_refused(three_chunk_envelope):
    (alice, _), _, sealed = three_chunk_envelope
    start = envelope.header_size(2, BINDING)
    for cut in (start + 1, start + 16, start + 17, start + 5000, start + SEALED_CHUNK_SIZE + 1,
                len(sealed) - 1):
        with pytest.raises(FormatError):
            envelope.open_bytes(sealed[:cut], alice)


def test_no_plaintext_is_handed_out_past_a_damaged_chunk(three_chunk_envelope):
    # Streaming readers get the chunks before the damage, never the damaged one or later.
    (alice, _), plaintext, sealed = three_chunk_envelope
    start = envelope.header_size(2, BINDING)
    damaged = flip(sealed, start + SEALED_CHUNK_SIZE + 100)
    received = []
    with pytest.raises(FormatError, match="damaged"):
        for chunk in envelope.open_envelope(io.BytesIO(damaged), alice):
            received.append(chunk)
    assert received == [plaintext[:CHUNK_SIZE]]


def test_bytes_after_the_final_chunk_are_refused(three_chunk_envelope):
    (alice, _), _, sealed = three_chunk_envelope
    for extra in (b"\x00", b"x" * 100, bytes(SEALED_CHUNK_SIZE)):
        with pytest.raises(FormatError):
            envelope.open_bytes(sealed + extra, alice)


def test_every_flipped_byte_in_header_and_payload_is_refused(three_chunk_envelope):
    (alice, _), _, sealed = three_chunk_envelope
    header = envelope.header_size(2, BINDING)
    positions = set(range(header))  # every header byte: magic, version, count, stanzas, MAC
    for chunk_start in range(header, len(sealed), SEALED_CHUNK_SIZE):
        chunk_end = min(chunk_start + SEALED_CHUNK_SIZE, len(sealed))
        positions |= set(range(chunk_start, chunk_start + 40))   # tag, start of text
        positions |= set(range(chunk_end - 20, chunk_end))        # end of text, Poly1305 tag
        positions |= set(range(chunk_start, chunk_end, 4093))     # and a stride through it
    for position in sorted(positions):
        for mask in (0x01, 0x80):
            with pytest.raises(FormatError):
                envelope.open_bytes(flip(sealed, position, mask), alice)


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE])
def test_payload_sizes_around_the_chunk_size_round_trip(size):
    (alice,) = keys(1)
    plaintext = os.urandom(size)
    sealed = seal(plaintext, [alice.public_key])
    # Padded to its Padmé size, in full chunks, then always one shorter final chunk.
    full, rest = divmod(envelope.padded_size(size), CHUNK_SIZE)
    assert len(sealed) == envelope.header_size(1, BINDING) + full * SEALED_CHUNK_SIZE + rest + 17
    assert envelope.open_bytes(sealed, alice) == plaintext


def test_empty_payload_round_trips():
    alice, bob = keys(2)
    sealed = seal(b"", publics([alice, bob]))
    assert envelope.open_bytes(sealed, alice) == b""
    assert envelope.open_bytes(sealed, bob) == b""


def test_recipients_can_be_chosen_after_the_payload_is_written():
    # The server streams an upload into ciphertext, then seals the header to whom the reporter chose.
    payload = io.BytesIO()
    sealer = PayloadSealer(payload)
    plaintext = os.urandom(300_000)
    for start in range(0, len(plaintext), 7_777):
        sealer.write(plaintext[start:start + 7_777])
    with pytest.raises(ValueError):
        sealer.header([PrivateKey.generate().public_key], BINDING)  # not finished yet
    sealer.finish()
    with pytest.raises(ValueError):
        sealer.write(b"late")
    chosen = keys(2)
    header = sealer.header(publics(chosen), BINDING)
    assert (sealer.plaintext_size, sealer.ciphertext_size) == (len(plaintext), len(payload.getvalue()))
    for key in chosen:
        assert envelope.open_bytes(header + payload.getvalue(), key) == plaintext
    with pytest.raises(NotARecipient):
        envelope.open_bytes(header + payload.getvalue(), PrivateKey.generate())


def test_envelope_needs_between_one_and_255_recipients():
    sealer = PayloadSealer(io.BytesIO())
    sealer.finish()
    with pytest.raises(ValueError):
        sealer.header([], BINDING)
    with pytest.raises(ValueError):
        sealer.header(publics(keys(256)), BINDING)
    many = keys(255)
    sealed = sealer.header(publics(many), BINDING)
    assert len(envelope.read_header(io.BytesIO(sealed)).stanzas) == 255


@pytest.mark.slow
def test_hundred_mib_payload_streams_through_temp_files(tmp_path):
    # Written and read a mebibyte at a time, header kept apart from payload as the server
    # stores them: memory stays near one chunk, never near the payload's size.
    (alice,) = keys(1)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    written = hashlib.sha256()
    with open(tmp_path / "payload", "wb") as out:
        sealer = PayloadSealer(out)
        block = os.urandom(MiB)
        for n in range(100):
            piece = bytes([n]) + block[1:]
            written.update(piece)
            sealer.write(piece)
        sealer.finish()
    header = sealer.header([alice.public_key], BINDING)
    read = hashlib.sha256()
    size = 0
    with open(tmp_path / "payload", "rb") as stream:
        parsed = envelope.read_header(io.BytesIO(header))
        for chunk in envelope.open_payload(stream, parsed, envelope.unwrap_file_key(parsed, alice)):
            read.update(chunk)
            size += len(chunk)
    assert size == 100 * MiB
    assert read.hexdigest() == written.hexdigest()
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
    assert grown_kib < 32 * 1024


@pytest.mark.parametrize("size", [0, 1, 1000, 1025, 4097, 65_537, 10**6, 10**8 + 7])
def test_padding_hides_the_exact_size_within_a_bucket_of_at_most_a_sixteenth(size):
    padded = envelope.padded_size(size)
    assert padded >= max(size, envelope.MIN_PADDED)
    assert padded - size <= max(envelope.MIN_PADDED, size // 16)
    assert envelope.padded_size(padded) == padded  # a bucket is its own bucket


def test_sizes_in_one_bucket_give_envelopes_of_one_size():
    (alice,) = keys(1)
    lengths = {len(seal(os.urandom(n), [alice.public_key])) for n in (4000, 4050, 4095)}
    assert len(lengths) == 1


def test_padding_that_is_not_zeros_or_a_wrong_length_is_refused():
    (alice,) = keys(1)
    payload = io.BytesIO()
    sealer = PayloadSealer(payload)
    sealer.write(b"short")
    sealer._feed(b"\x01")  # a writer that pads with something else
    sealer.plaintext_size = 5
    sealer.finish()
    with pytest.raises(FormatError, match="padding|padded length"):
        envelope.open_bytes(sealer.header([alice.public_key], BINDING) + payload.getvalue(), alice)


def test_binding_is_read_from_the_header_and_covered_by_its_mac():
    (alice,) = keys(1)
    here = envelope.Binding("a" * 32, "reporter", 3)
    sealed = seal(b"follow-up", [alice.public_key], here)
    assert envelope.read_header(io.BytesIO(sealed)).binding == here
    moved = sealed.replace(b"a" * 32 + b"/reporter/3", b"b" * 32 + b"/reporter/3")
    assert envelope.read_header(io.BytesIO(moved)).binding.conversation_id == "b" * 32
    with pytest.raises(FormatError, match="altered"):
        envelope.open_bytes(moved, alice)
