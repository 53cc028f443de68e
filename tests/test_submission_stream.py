"""The submission push parser: whatever a file holds and however the body is cut into reads,
every byte reaches the sealed file and nothing else does; any body, cut anyhow, is read as
Werkzeug reads it whole (fuzzed with hypothesis, a fixed budget)."""
from __future__ import annotations

import io
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl.public import PrivateKey
from werkzeug.sansio import multipart as werkzeug_multipart

from dropbox.formlimits import BoundedMultiPartParser
from dropbox.submission_stream import SLICE, Arrival, Limits
from dropbox.uploads import UploadSink
from keys.envelope import Binding, open_bytes
from keys.items import ItemMeta, split_item

BOUNDARY = b"----odbxTestBoundary0123456789"
LIMITS = Limits(field_bytes=1 << 16, fields_bytes=1 << 18, files=5, file_bytes=1 << 26, parts=20)
_FUZZ_KEY = PrivateKey.generate()


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


def _receive(body: bytes, reads: list[int], tmp_path, boundary: bytes = BOUNDARY) -> Arrival:
    """`body` fed to a push parser in pieces of the sizes `reads`, then the rest."""
    arrival = Arrival(boundary, LIMITS, len(body),
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
    contents: list[bytes] = []
    for _name, storage in arrival.files:
        sink = storage.stream
        assert isinstance(sink, UploadSink), f"{_name} was not sealed as it arrived: {sink!r}"
        staged = sink.claim([key.public_key], Binding("a" * 16, "reporter", 1), key.public_key)
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


def _parts(parts: list[tuple[str, str | None, bytes]], end: bytes = b"--\r\n") -> bytes:
    """A multipart body of (name, file name or None for a text field, content)."""
    body = b""
    for name, filename, content in parts:
        body += b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="%s"' % name.encode()
        if filename is not None:
            body += b'; filename="%s"\r\nContent-Type: application/octet-stream' % filename.encode()
        body += b"\r\n\r\n" + content + b"\r\n"
    return body + b"--" + BOUNDARY + end


def test_every_cut_of_a_body_stores_each_file_exactly(tmp_path):
    """pallets/werkzeug#3285: a read ending between the two dashes of the closing delimiter
    gave the last file a stray CR. Files ending in a line break, a dash or a CR, and every
    way a delimiter may end (closing with or without a line break, with whitespace), cut
    at every byte."""
    key = PrivateKey.generate()
    for files, end in [([b"evidence\r\n", b"-"], b"--\r\n"), ([b"ends in CR\r"], b"--"),
                       ([b"x" * 300, b""], b"--  \r\n"), ([b"a\r\n--", b"b"], b"-- \t")]:
        parts = [("message", None, b"hello")] + [("files", f"f{i}", c) for i, c in enumerate(files)]
        body = _parts(parts, end)
        for cut in range(1, len(body)):
            arrival = _receive(body, [cut], tmp_path)
            assert arrival.complete and arrival.problem is None, (end, cut)
            assert arrival.fields == [("message", "hello")], (end, cut)
            assert _opened(arrival, key) == files, (end, cut)


def test_every_cut_of_a_large_file_s_closing_delimiter_stores_it_exactly(tmp_path):
    """The same through the shortcut that writes a file's content straight to its sink."""
    key = PrivateKey.generate()
    files = [b"z" * 200_000]
    body = _body(files)
    closing = body.rindex(b"\r\n--" + BOUNDARY)
    for cut in range(closing - 4, len(body)):
        arrival = _receive(body, [1000, cut - 1000], tmp_path)
        assert arrival.problem is None and _opened(arrival, key) == files, cut


def test_every_cut_of_a_body_parses_exactly_in_the_form_parser():
    """The app's own form parser (formlimits.py, for any multipart body the channel does not
    parse) feeds the same decoder in reads of a fixed size: every size, every result exact."""
    files = [b"evidence\r\n", b"-"]
    body = _parts([("message", None, b"hello")] + [("files", f"f{i}", c) for i, c in enumerate(files)])
    for size in range(1, len(body) + 1):
        parser = BoundedMultiPartParser(stream_factory=lambda *args, **kwargs: io.BytesIO(),
                                        max_form_memory_size=1 << 16, max_form_parts=20,
                                        buffer_size=size, max_form_text=1 << 16)
        form, received = parser.parse(io.BytesIO(body), BOUNDARY, len(body))
        assert form.getlist("message") == ["hello"], size
        assert [f.read() for f in received.getlist("files")] == files, size


def test_a_text_field_after_a_file_is_a_field_and_the_file_keeps_its_bytes(tmp_path):
    """No browser sends a field after a file, but a script can: the field's bytes went into
    the file that had ended (a 1,000-byte file stored as 5,484 bytes), the field kept only
    its last ones."""
    key = PrivateKey.generate()
    note = bytes(_look_alikes(random.Random(3), 5000).replace(b"\r", b"").replace(b"\n", b"")
                 .replace(b"-", b"")).decode("latin-1").encode("utf-8")
    body = _parts([("message", None, b"hello"), ("files", "a.bin", b"f" * 1000),
                   ("involved", None, note), ("files", "b.bin", b"g" * 10)])
    for reads in ([1000] * 20, [4096] * 3, [len(body)], [300, 1500, 200]):
        arrival = _receive(body, reads, tmp_path)
        assert arrival.problem is None, reads
        assert arrival.fields == [("message", "hello"), ("involved", note.decode("utf-8"))], reads
        assert _opened(arrival, key) == [b"f" * 1000, b"g" * 10], reads


# Boundary characters RFC 2046 allows (bchars), the space only inside.
_BCHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=?"


@st.composite
def _bodies(draw):
    """A multipart body: a random boundary, fields and files whose content is salted with
    line breaks, dashes, whitespace and pieces of the boundary, delimiters with and without
    whitespace, a closing delimiter with or without its line break, and reads to cut it in."""
    boundary = draw(st.text(_BCHARS, min_size=1, max_size=70)).encode()
    marker = b"--" + boundary
    salt = st.sampled_from([b"\r", b"\n", b"\r\n", b"-", b"--", b" ", b"\t", marker, marker[:-1],
                            b"\r\n" + marker[:-1], b"\r\n" + marker + b"-", b"\n" + marker + b"x"])
    content = st.lists(st.one_of(salt, st.binary(max_size=40), st.binary(min_size=2000, max_size=4000)),
                       max_size=8).map(b"".join)
    padding = st.sampled_from([b"", b" ", b"\t ", b"  "])
    body = draw(st.sampled_from([b"", b"preamble\r\n"]))
    for number in range(draw(st.integers(1, 4))):
        body += marker + draw(padding) + b"\r\n" + f'Content-Disposition: form-data; name="p{number}"'.encode()
        if draw(st.booleans()):
            body += f'; filename="f{number}.bin"'.encode()
        body += b"\r\n\r\n" + draw(content) + b"\r\n"
    body += marker + b"--" + draw(st.sampled_from([b"", b"\r\n", b" \r\n", b"\r\nepilogue"]))
    # Reads of random sizes, then of one size to the end.
    reads = draw(st.lists(st.one_of(st.integers(1, 80), st.integers(1, 5000)), max_size=20))
    every = draw(st.one_of(st.integers(1, 8), st.integers(1, 70_000)))
    return boundary, body, reads + [every] * (len(body) // every + 1)


def _whole_body(boundary: bytes, body: bytes) -> tuple[list, list] | None:
    """Werkzeug's decoder given the whole body at once: (fields, file contents), or None
    where it finds the body malformed."""
    decoder = werkzeug_multipart.MultipartDecoder(boundary)
    fields, files, part, value = [], [], None, b""
    try:
        decoder.receive_data(body)
        decoder.receive_data(None)
        while not isinstance(event := decoder.next_event(), werkzeug_multipart.Epilogue):
            if isinstance(event, (werkzeug_multipart.Field, werkzeug_multipart.File)):
                part, value = event, b""
            elif isinstance(event, werkzeug_multipart.Data):
                value += event.data
                if not event.more_data:
                    if isinstance(part, werkzeug_multipart.File):
                        files.append(value)
                    else:
                        assert isinstance(part, werkzeug_multipart.Field), "data before any part"
                        fields.append((part.name, value.decode("utf-8", "replace")))
    except ValueError:
        return None
    return fields, files


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(_bodies())
def test_the_push_parser_reads_any_body_cut_anyhow_as_werkzeug_reads_it_whole(tmp_path_factory, case):
    boundary, body, reads = case
    tmp_path = tmp_path_factory.mktemp("fuzz")
    expected = _whole_body(boundary, body)
    arrival = _receive(body, reads, tmp_path, boundary)
    try:
        if expected is None:
            assert arrival.problem == "malformed"
        else:
            assert arrival.problem is None and arrival.complete
            assert arrival.fields == expected[0]
            assert _opened(arrival, _FUZZ_KEY) == expected[1]
    finally:
        arrival.close()
