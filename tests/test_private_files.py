"""The air-gapped side's own files: one it writes over holds only what it wrote."""
from __future__ import annotations

from keys.private_files import create


def test_a_file_written_over_holds_only_the_new_bytes(tmp_path):
    path = tmp_path / "opened.txt"
    with create(path) as out:
        out.write(b"a longer first text, from an earlier opening")
    with create(path) as out:
        out.write(b"shorter")
    assert path.read_bytes() == b"shorter"
    assert path.stat().st_mode & 0o077 == 0


def test_a_new_file_holds_what_was_written(tmp_path):
    path = tmp_path / "new.bin"
    with create(path) as out:
        out.write(b"\x00" * 70_000 + b"end")
    assert path.read_bytes() == b"\x00" * 70_000 + b"end"
