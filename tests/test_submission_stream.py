"""The submission parser's shortcut for file content: whatever the file holds and however the
body is cut into reads, every byte reaches the sealed file and nothing else does."""
from __future__ import annotations

import random

from nacl.public import PrivateKey

from dropbox.submission_stream import SLICE, Arrival, Limits
from dropbox.uploads import UploadSink
from keys.envelope import Binding, open_bytes
from keys.items import ItemMeta, split_item

BOUNDARY = b"----odbxTestBoundary0123456789"
LIMITS = Limits(field_bytes=1 << 16, fields_bytes=1 << 18, files=5, file_bytes=1 << 26, parts=20)


def _look_alikes(rng: random.Random, size: int) -> bytes:
    """Random bytes salted with line breaks, dashes and pieces of the boundary: everything a
    delimiter starts with, never a whole delimiter."""
    pieces = [b"\r", b"\n", b"\r\n", b"--", b"\r\n--", b"\r\n-", b"--" + BOUNDARY[:-1],
              b"\r\n--" + BOUNDARY[:-3], BOUNDARY, b"\n--" + BOUNDARY[:10]]
    out = bytearray()
    while len(out) < size:
        out += rng.choice(pieces) if rng.random() < 0.3 else rng.randbytes(rng.choice([1, 40, 3000, 70000]))
    return bytes(out[:size])


def _body(files: list[bytes]) -> bytes:
    body = b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="message"\r\n\r\nhello\r\n'
    for number, content in enumerate(files):
        body += (b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="files"; '
                 b'filename="f%d.bin"\r\nContent-Type: application/octet-stream\r\n\r\n' % number)
        body += content + b"\r\n"
    return body + b"--" + BOUNDARY + b"--\r\n"


def _receive(body: bytes, reads: list[int], tmp_path) -> Arrival:
    arrival = Arrival(BOUNDARY, LIMITS, len(body),
                      lambda name: UploadSink(tmp_path, ItemMeta(kind="file", date="2026-01-01", name=name),
                                              LIMITS.file_bytes),
                      lambda fields: True)
    start = 0
    for size in reads:
        arrival.append(body[start:start + size])
        start += size
    arrival.append(body[start:])
    arrival.finish()
    return arrival


def _opened(arrival: Arrival, key: PrivateKey) -> list[bytes]:
    contents = []
    for _name, storage in arrival.files:
        staged = storage.stream.claim([key.public_key], Binding("a" * 16, "reporter", 1))
        _meta, body = split_item(iter([open_bytes(staged.header + staged.temp_path.read_bytes(), key)]))
        contents.append(b"".join(body))
    return contents


def test_file_content_that_looks_like_a_delimiter_arrives_whole_whatever_the_reads(tmp_path):
    rng, key = random.Random(14), PrivateKey.generate()
    for trial in range(40):
        files = [_look_alikes(rng, rng.choice([0, 1, 50, 5000, SLICE + 7, 3 * SLICE]))
                 for _ in range(rng.randint(1, 3))]
        body = _body(files)
        reads = [rng.choice([1, 37, 4096, SLICE, 256 * 1024, rng.randint(1, 300_000)]) for _ in range(60)]
        arrival = _receive(body, reads, tmp_path)
        assert arrival.complete and arrival.problem is None, trial
        assert arrival.fields == [("message", "hello")]
        assert _opened(arrival, key) == files, trial


def test_a_file_over_its_limit_stops_the_parse_even_in_large_reads(tmp_path):
    content = bytes(LIMITS.file_bytes + 1)
    arrival = _receive(_body([content]), [256 * 1024] * 400, tmp_path)
    assert arrival.problem == "file too large"
    assert arrival.files == []
    arrival.close()
    assert not list(tmp_path.iterdir())


def test_a_read_that_ends_inside_a_delimiter_leaves_it_to_the_parser(tmp_path):
    key = PrivateKey.generate()
    files = [b"x" * 100_000, b"y" * 10]
    body = _body(files)
    opened = body.index(b"\r\n\r\nxxx") + 4
    delimiter = body.index(b"\r\n--" + BOUNDARY, opened)
    for cut in range(delimiter - 3, delimiter + len(BOUNDARY) + 8):
        # The first read leaves the parser in the file's content with nothing held back.
        arrival = _receive(body, [opened + 1000, cut - opened - 1000], tmp_path)
        assert arrival.problem is None and _opened(arrival, key) == files, cut
