"""`keys open --scrub`: a copy of each attachment without its metadata, the original kept beside it.

A real report with a PNG that names its author, opened on the air-gapped side
with Debian's mat2 doing the scrubbing.
"""
from __future__ import annotations

import os
import struct
import subprocess
import zlib

import pytest

from conftest import BIN, dropbox, opened_conversations, require_tool
from test_whole_loop import new_report

pytestmark = pytest.mark.slow
AUTHOR = b"Jane Reporter, 12 Hidden Street"


def _png_naming_its_author() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    pixels = b"".join(b"\x00" + b"\x1d\x5e\x8c" * 4 for _ in range(4))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
            + chunk(b"tEXt", b"Author\x00" + AUTHOR) + chunk(b"IDAT", zlib.compress(pixels))
            + chunk(b"IEND", b""))


def _open(airgap, bundle, out, *extra, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "dropbox"), "keys", "open", str(bundle), "--key",
                           str(airgap.key("alexandra")), "--out", str(out), "--passphrase-file",
                           str(airgap.passphrase_file), *extra],
                          capture_output=True, text=True, env=env, timeout=300)


def test_scrub_writes_metadata_free_copies_beside_the_originals(server, airgap, tmp_path):
    require_tool("mat2")
    new_report(server, "with a photo", files=[("files", "photo.png", _png_naming_its_author()),
                                                ("files", "blob.bin", os.urandom(200))])
    bundle = tmp_path / "export.bundle"
    dropbox("export", "--data", server.data, "--out", bundle)
    out = tmp_path / "opened"
    done = _open(airgap, bundle, out, "--scrub")
    assert done.returncode == 0, done.stderr
    [folder] = [p / "attachments" for p in opened_conversations(out).values()]
    assert AUTHOR in (folder / "photo.png").read_bytes()  # the original, untouched
    cleaned = (folder / "photo.cleaned.png").read_bytes()
    assert cleaned.startswith(b"\x89PNG") and AUTHOR not in cleaned and b"Jane" not in cleaned
    assert "scrubbed 1 file" in done.stdout and "cannot clean 1" in done.stdout
    assert "blob.bin" in done.stdout and (folder / "blob.bin").is_file()
    # Opening again into the same folder writes nothing twice, and never scrubs a scrubbed copy.
    again = _open(airgap, bundle, tmp_path / "opened", "--scrub")
    assert "scrubbed 0 files" in again.stdout
    assert not list(folder.glob("*.cleaned.cleaned*"))
    assert len(list(folder.glob("*.cleaned.png"))) == 1


def test_scrub_without_mat2_says_so_and_the_files_are_still_opened(server, airgap, tmp_path):
    new_report(server, "no mat2 here", files=[("files", "photo.png", _png_naming_its_author())])
    bundle = tmp_path / "export.bundle"
    dropbox("export", "--data", server.data, "--out", bundle)
    out = tmp_path / "opened"
    done = _open(airgap, bundle, out, "--scrub", env={"PATH": str(BIN)})
    assert done.returncode == 1
    assert "needs mat2" in done.stderr and "Traceback" not in done.stderr
    assert list(out.glob("*/*/attachments/photo.png")) and not list(out.glob("*/*/attachments/*.cleaned.*"))
