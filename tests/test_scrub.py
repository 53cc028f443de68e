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
from support.reporter import new_report

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
                          capture_output=True, check=False, text=True, env=env, timeout=300)


def test_scrub_writes_metadata_free_copies_beside_the_originals(server, airgap, tmp_path):
    require_tool("mat2")
    new_report(server, "with a photo", files=[("files", "photo.png", _png_naming_its_author()),
                                                ("files", "blob.bin", os.urandom(200))])
    bundle = tmp_path / "export.bundle"
    dropbox("export", "--data", server.data, "--out", bundle)
    out = tmp_path / "opened"
    done = _open(airgap, bundle, out, "--scrub")
    assert done.returncode == 0, done.stderr
    [conversation] = opened_conversations(out).values()
    folder = conversation / "attachments"
    assert AUTHOR in (folder / "photo.png").read_bytes()  # the original, untouched
    cleaned = (conversation / "scrubbed" / "attachments" / "photo.png").read_bytes()
    assert cleaned.startswith(b"\x89PNG") and AUTHOR not in cleaned and b"Jane" not in cleaned
    assert "scrubbed 1 file" in done.stdout and "cannot clean 1" in done.stdout
    assert "blob.bin" in done.stdout and (folder / "blob.bin").is_file()
    # Opening again into the same folder writes nothing twice, and never scrubs a scrubbed copy.
    again = _open(airgap, bundle, tmp_path / "opened", "--scrub")
    assert "scrubbed 0 files" in again.stdout
    assert [p.name for p in (conversation / "scrubbed").rglob("*")] == ["attachments", "photo.png"]


def test_scrub_without_mat2_says_so_and_the_files_are_still_opened(server, airgap, tmp_path):
    new_report(server, "no mat2 here", files=[("files", "photo.png", _png_naming_its_author())])
    bundle = tmp_path / "export.bundle"
    dropbox("export", "--data", server.data, "--out", bundle)
    out = tmp_path / "opened"
    done = _open(airgap, bundle, out, "--scrub", env={"PATH": str(BIN)})
    assert done.returncode == 1
    assert "needs mat2" in done.stderr and "Traceback" not in done.stderr
    assert list(out.glob("*/*/attachments/photo.png")) and not list(out.glob("*/*/scrubbed"))


# Scrubbing reads what a reporter sent: their file names, and files that crash mat2 or unpack
# to gigabytes. Opened here from a bundle made in memory (keys_support), scrubbed by the real mat2.

def _opened(tmp_path, files: list[tuple[str, bytes]]) -> tuple:
    from keys.opening import open_bundle
    from keys.responder import ResponderKey
    from keys_support import Conversation, folder_of, item, write_export
    alice = ResponderKey.generate("alice")
    conv = Conversation([alice], [item("file", data, name) for name, data in files])
    out = tmp_path / "opened"
    assert open_bundle(write_export(tmp_path / "b.odbx", [conv]), alice, out).failures == []
    return out, folder_of(out, conv.id)


def _zip(path, member: str, zeros: int) -> bytes:
    import zipfile
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open(member, "w", force_zip64=True) as inside:
            for _ in range(zeros >> 20):
                inside.write(bytes(1 << 20))
    return path.read_bytes()


@pytest.fixture
def watched_tmpdir(tmp_path, monkeypatch):
    """$TMPDIR, watched: scrubbing must leave nothing in it."""
    folder = tmp_path / "tmpdir"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    return folder


def test_a_reporters_file_named_like_a_scrubbed_copy_is_scrubbed_and_hides_nothing(tmp_path):
    require_tool("mat2")
    from keys.scrub import scrub_opened
    out, folder = _opened(tmp_path, [("photo.png", _png_naming_its_author()),
                                     ("photo.cleaned.png", _png_naming_its_author())])
    report = scrub_opened(out)
    assert len(report.cleaned) == 2, report.summary()
    for name in ("photo.png", "photo.cleaned.png"):
        assert AUTHOR in (folder / "attachments" / name).read_bytes()
        assert AUTHOR not in (folder / "scrubbed" / "attachments" / name).read_bytes()


def test_a_file_that_crashes_mat2_leaves_nothing_it_unpacked_behind(tmp_path, watched_tmpdir):
    require_tool("mat2")
    from keys.scrub import scrub_opened
    # A zip holding a "PNG" of zeros: mat2 unpacks it, then its PNG parser fails with a traceback.
    out, folder = _opened(tmp_path, [("notes.zip", _zip(tmp_path / "n.zip", "a.png", 2 << 20))])
    report = scrub_opened(out)
    assert report.unsupported == [folder / "attachments" / "notes.zip"], report.summary()
    assert list(watched_tmpdir.iterdir()) == []
    assert sorted(p.name for p in out.iterdir()) == sorted(["index.txt", folder.parent.name])
    assert not (folder / "scrubbed").exists()


# Watched often, the bomb is stopped by the watch; watched seldom, by the file size limit.
@pytest.mark.parametrize("watch_seconds", [0.05, 5])
def test_a_zip_bomb_is_stopped_at_its_space_limit_and_cleaned_up(tmp_path, watched_tmpdir,
                                                                 watch_seconds):
    require_tool("mat2")
    import time
    from keys.scrub import Limits, scrub_opened
    bomb = _zip(tmp_path / "bomb.zip", "a.png", 512 << 20)  # 0.5 MiB, unpacks to 512 MiB
    out, folder = _opened(tmp_path, [("bomb.zip", bomb)])
    started = time.monotonic()
    report = scrub_opened(out, Limits(space_floor=32 << 20, watch_seconds=watch_seconds))
    assert time.monotonic() - started < 30
    assert report.stopped == [(folder / "attachments" / "bomb.zip", "unpacks to more than 32 MiB")]
    assert list(watched_tmpdir.iterdir()) == []
    assert sorted(p.name for p in out.iterdir()) == sorted(["index.txt", folder.parent.name])
    assert "stopped scrubbing 1" in report.summary()


def test_scrubbing_never_follows_a_link_out_of_the_output_folder(tmp_path):
    require_tool("mat2")
    from keys.scrub import scrub_opened
    out, folder = _opened(tmp_path, [("photo.png", _png_naming_its_author())])
    # Elsewhere on the disk, a tree shaped like an opened conversation, linked into OUT at each level.
    outside = tmp_path / "outside"
    (outside / "zz" / "conversation" / "attachments").mkdir(parents=True)
    (outside / "zz" / "conversation" / "attachments" / "private.png").write_bytes(_png_naming_its_author())
    (out / "zz").symlink_to(outside / "zz")
    (folder.parent / "linked").symlink_to(outside / "zz" / "conversation")
    (folder / "attachments-2").symlink_to(outside / "zz" / "conversation" / "attachments")
    (folder / "attachments" / "linked.png").symlink_to(outside / "zz" / "conversation" / "attachments" / "private.png")
    report = scrub_opened(out)
    assert report.cleaned == [folder / "scrubbed" / "attachments" / "photo.png"], report.summary()
    assert sorted(str(p.relative_to(outside)) for p in outside.rglob("*")) == [
        "zz", "zz/conversation", "zz/conversation/attachments", "zz/conversation/attachments/private.png"]


def test_keys_open_stopped_while_mat2_unpacks_leaves_nothing_behind(tmp_path, watched_tmpdir):
    require_tool("mat2")
    import signal
    import sys
    import time
    bomb = _zip(tmp_path / "bomb.zip", "a.png", 512 << 20)
    out, _ = _opened(tmp_path, [("bomb.zip", bomb)])
    # `keys open --scrub` as the terminal runs it, given SIGTERM once mat2 is at work.
    script = ("import sys; from pathlib import Path; from keys.scrub import Limits, scrub_opened; "
              "scrub_opened(Path(sys.argv[1]), Limits(space_floor=1 << 30))")
    process = subprocess.Popen([sys.executable, "-c", script, str(out)])
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(".scrubbing-") and any(p.iterdir()) for p in out.iterdir()):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) != 0
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []
    assert list(watched_tmpdir.iterdir()) == []
