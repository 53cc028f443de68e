"""No plaintext of a submission ever reaches disk: complete, interrupted and rejected uploads.

Each upload carries a unique marker in its message and in every KiB of its
file. While it is in flight and after it, no file under the data directory
or the server's TMPDIR, and no file the server process holds open, may hold
the marker. waitress spools large bodies (our sealed spool) and Werkzeug
hands file parts to our encrypting sink: this is what proves both.
"""
from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

import pytest

from conftest import start_server
from uploads import ReportSession, marked_content, multipart, send

SIZES = {"1KiB": 1024, "1MiB": 1 << 20, "200MiB": 200 << 20}
SCAN_POINTS = 4


@pytest.fixture
def watched_server(instance, tmp_path):
    tmpdir = tmp_path / "server-tmp"
    tmpdir.mkdir()
    server = start_server(instance, env={"TMPDIR": str(tmpdir)})
    server.tmpdir = tmpdir
    yield server
    server.stop()


def files_holding(marker: bytes, server) -> list[str]:
    """Every place on disk, or open in the server, where the marker can be read."""
    found = []
    paths = [p for root in (server.data, server.tmpdir) for p in Path(root).rglob("*") if p.is_file()]
    fd_dir = Path(f"/proc/{server.process.pid}/fd")
    for fd in fd_dir.iterdir():
        try:
            if Path(os.readlink(fd)).is_absolute() or "(deleted)" in os.readlink(fd):
                paths.append(fd)
        except OSError:
            continue
    for path in paths:
        try:
            if not path.is_file() and not str(path).startswith(str(fd_dir)):
                continue
            with open(path, "rb") as stream:
                while chunk := stream.read(8 << 20):
                    if marker in chunk:
                        found.append(f"{path} -> {os.readlink(path) if path.is_symlink() else ''}")
                        break
        except (OSError, ValueError):
            continue  # sockets, pipes, files that closed meanwhile
    return found


def upload(server, size: int, marker: bytes, csrf_token: str | None = None,
           hang_up: bool = False) -> tuple[int | None, list[str]]:
    """Send a report with a marked message and file; scan disk and open files while sending."""
    session = ReportSession.start(server.url)
    fields = session.fields(csrf_token, recipients="alexandra", message=f"what happened {marker.decode()}")
    content_type, total, pieces = multipart(fields, f"evidence-{marker.decode()}.bin", size,
                                            marked_content(marker, size))
    leaks: list[str] = []
    points = {total * k // (SCAN_POINTS + 1) for k in range(1, SCAN_POINTS + 1)}
    reached: set[int] = set()

    def scan_in_flight(sent: int) -> None:
        for point in points - reached:
            if sent >= point:
                reached.add(point)
                leaks.extend(files_holding(marker, server))

    status = send(server.url, "/report", session.cookie, content_type, total, pieces,
                  every=scan_in_flight, hang_up_at=total // 2 if hang_up else None)
    time.sleep(0.5)  # let the server notice a hang-up and close what it had open
    leaks.extend(files_holding(marker, server))
    return status, leaks


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_complete_upload_leaves_no_plaintext_anywhere(watched_server, size):
    marker = secrets.token_hex(10).encode()
    status, leaks = upload(watched_server, size, marker)
    assert status == 302  # accepted: the reporter is sent on to the confirmation page
    assert leaks == []
    stored = sum(p.stat().st_size for p in (watched_server.data / "store").rglob("*") if p.is_file())
    assert stored > size  # the file was kept, as ciphertext


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_interrupted_upload_leaves_no_plaintext_and_nothing_behind(watched_server, size):
    marker = secrets.token_hex(10).encode()
    status, leaks = upload(watched_server, size, marker, hang_up=True)
    assert status is None and leaks == []
    assert not [p for p in (watched_server.data / "store").rglob("*") if p.is_file()]
    assert not list((watched_server.data / "tmp").iterdir())
    assert not list(watched_server.tmpdir.iterdir())


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_rejected_upload_leaves_no_plaintext_and_nothing_behind(watched_server, size):
    marker = secrets.token_hex(10).encode()
    status, leaks = upload(watched_server, size, marker, csrf_token="forged")
    assert status == 400 and leaks == []
    assert not [p for p in (watched_server.data / "store").rglob("*") if p.is_file()]
    assert not list((watched_server.data / "tmp").iterdir())


def test_server_memory_stays_flat_for_a_200_mib_upload(watched_server):
    marker = secrets.token_hex(10).encode()
    assert upload(watched_server, 1 << 20, marker)[0] == 302
    small = watched_server.peak_rss_kib()
    assert upload(watched_server, 200 << 20, marker)[0] == 302
    large = watched_server.peak_rss_kib()
    assert large - small <= 32 * 1024, f"peak RSS grew by {(large - small) // 1024} MiB"
