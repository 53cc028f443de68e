"""Nothing acknowledged is lost, nothing half-written is shown: SIGKILL and a full disk."""
from __future__ import annotations

import random
import secrets
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from conftest import TEAM, dropbox, require_tool, start_server, unavailable
from formclient import FormClient, open_report_form

KILLS = 30


def send_report(url: str, marker: str, size: int) -> bool:
    """One reporter's whole submission; True only if the server said it was sent."""
    client = FormClient(url)
    _, form = open_report_form(client)
    done = client.submit(form, "Send the report", fill={"message": f"report {marker}"},
                         files=[("files", f"{marker}.bin", marker.encode() * (size // len(marker)))])
    return done.status == 200 and "has been sent" in done.text


def stored_items(data: Path) -> list[sqlite3.Row]:
    with sqlite3.connect(data / "dropbox.sqlite3") as db:
        db.row_factory = sqlite3.Row
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return db.execute("SELECT conversation_id, id, payload_size FROM items").fetchall()


@pytest.mark.slow  # thirty server starts and kills: a minute
def test_nothing_acknowledged_is_lost_across_thirty_kills(instance, airgap, tmp_path):
    rng = random.Random(30)
    acknowledged: list[str] = []
    for _ in range(KILLS):
        server = start_server(instance)
        stop = threading.Event()

        def reporter(server=server, stop=stop):  # this round's server
            while not stop.is_set():
                marker = secrets.token_hex(8)
                try:
                    if send_report(server.url, marker, rng.choice([0, 10_000, 600_000, 2_000_000])):
                        acknowledged.append(marker)
                except (requests.RequestException, AssertionError):
                    return  # the server died under us: this one was never acknowledged

        workers = [threading.Thread(target=reporter) for _ in range(2)]
        for worker in workers:
            worker.start()
        time.sleep(rng.uniform(0.3, 2.0))
        server.process.kill()
        server.process.wait()
        stop.set()
        for worker in workers:
            worker.join(60)
    assert len(acknowledged) >= KILLS // 2, "too few submissions got through to prove anything"

    # Start-up clears what the kills left behind.
    server = start_server(instance)
    server.stop()
    assert not list((instance / "tmp").iterdir())
    rows = stored_items(instance)
    on_disk = {(p.parent.name, p.name): p.stat().st_size
               for p in (instance / "store").rglob("*") if p.is_file()}
    assert on_disk == {(r["conversation_id"], r["id"]): r["payload_size"] for r in rows}

    bundle = tmp_path / "all.bundle"
    dropbox("export", "--all", "--data", instance, "--out", bundle)
    opened = tmp_path / "opened"
    said = airgap.open(bundle, "alexandra", opened)
    assert "failed" not in said.out
    texts = b"\n".join(p.read_bytes() for p in opened.rglob("*.txt"))
    missing = [m for m in acknowledged if f"report {m}".encode() not in texts]
    assert missing == []


@pytest.fixture
def small_disk(tmp_path, airgap):
    """An instance on a 4 MiB tmpfs, so a large upload fills it."""
    require_tool("mount")
    mountpoint = tmp_path / "small"
    mountpoint.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mountpoint)],
                             capture_output=True, check=False, text=True)
    if mounted.returncode != 0:
        unavailable(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    data = mountpoint / "instance"
    dropbox("init", "--data", data, "--community", "Test community")
    for name in TEAM:
        dropbox("team", "add", name, airgap.pub(name), "--data", data)
    yield data
    subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def test_full_disk_gives_a_clear_page_and_leaves_nothing_half_written(small_disk, airgap, tmp_path):
    server = start_server(small_disk)
    try:
        client = FormClient(server.url)
        _, form = open_report_form(client)
        page = client.submit(form, "Send the report", fill={"message": "this will not fit"},
                             files=[("files", "big.bin", secrets.token_bytes(6 << 20))])
        assert page.status == 507
        assert "could not be saved" in page.text and "try again later" in page.text
        assert not list((small_disk / "tmp").iterdir())
        assert not [p for p in (small_disk / "store").rglob("*") if p.is_file()]
        assert stored_items(small_disk) == []
        # With room again (a smaller file), the same reporter's report goes through.
        page = client.submit(form, "Send the report", fill={"message": "this fits"},
                             files=[("files", "small.bin", b"x" * 1000)])
        assert page.status == 200 and "has been sent" in page.text
    finally:
        server.stop()
    bundle = tmp_path / "b.bundle"
    dropbox("export", "--data", small_disk, "--out", tmp_path / "b.bundle")
    assert "opened 2 item(s)" in airgap.open(bundle, "mario", tmp_path / "o").out
