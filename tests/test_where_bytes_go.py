"""Every byte the server spools goes to the instance's tmp/, never to $TMPDIR: the disk budget
measures the disk that fills, and config.py's "nothing else of ours is written anywhere" holds.
And `dropbox status` says when the store cannot be written.

waitress spools a large body while it arrives (ours: spool.py, in channel.py's hook), and
Werkzeug asks the request class for a file for each file part of a form (the desk's reply
uploads); both are watched while they hold the bytes: by the server's open files
(/proc/PID/fd) for waitress, by this process's for Werkzeug.
"""
from __future__ import annotations

import io
import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import BIN, start_server, unavailable
from deskclient import desk_url
from dropbox.config import Config
from dropbox.desk.app import create_desk_app

BODY = 4 * 1024 * 1024  # the size of the issue's /login; waitress spools past 512 KiB


def _open_under(pid: int | str, *folders: Path) -> dict[Path, int]:
    """How many files the process holds open below each folder (unlinked ones included)."""
    counts = {folder: 0 for folder in folders}
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        for folder in folders:
            if target.startswith(f"{folder.resolve()}/"):
                counts[folder] += 1
    return counts


def _hold_a_large_body(url: str, path: str, content_type: str) -> socket.socket:
    """A POST announcing BODY bytes, of which a MiB has been sent: waitress is spooling it,
    if it takes it at all."""
    address = urlsplit(url)
    conn = socket.create_connection((address.hostname, address.port))
    conn.sendall(f"POST {path} HTTP/1.1\r\nHost: {address.hostname}:{address.port}\r\n"
                 f"Content-Type: {content_type}\r\n"
                 f"Content-Length: {BODY}\r\n\r\n".encode())
    try:
        conn.sendall(b"--b\r\n" + b"x" * (1024 * 1024))
    except OSError:  # refused before it was read: the server closed its side
        pass
    return conn


def test_a_large_upload_to_the_desk_is_spooled_in_the_instance_tmp(instance, tmp_path):
    tmpdir = tmp_path / "server-tmp"
    tmpdir.mkdir()
    server = start_server(instance, env={"TMPDIR": str(tmpdir)})
    try:
        conn = _hold_a_large_body(desk_url(server), "/replies", "multipart/form-data; boundary=b")
        try:
            for _ in range(50):  # until the server has read what was sent
                held = _open_under(server.process.pid, tmpdir, instance / "tmp")
                if held[tmpdir] or held[instance / "tmp"]:
                    break
                time.sleep(0.1)
            assert held == {tmpdir: 0, instance / "tmp": 1}, held
        finally:
            conn.close()
    finally:
        server.stop()


def test_a_large_body_that_cannot_carry_files_is_refused_before_anything_is_spooled(instance, tmp_path):
    """The issue's 4 MiB /login: refused unread (tests/adversarial/test_disk_budget.py), so
    nothing of it is held on any disk, the instance's or $TMPDIR."""
    tmpdir = tmp_path / "server-tmp"
    tmpdir.mkdir()
    server = start_server(instance, env={"TMPDIR": str(tmpdir)})
    try:
        for url in (server.url, desk_url(server)):
            conn = _hold_a_large_body(url, "/login", "application/x-www-form-urlencoded")
            try:
                conn.settimeout(10)
                answer = conn.recv(64)
                assert answer.startswith(b"HTTP/1.1 413"), (url, answer)
                assert _open_under(server.process.pid, tmpdir, instance / "tmp") == \
                    {tmpdir: 0, instance / "tmp": 0}
            finally:
                conn.close()
    finally:
        server.stop()


def test_a_reply_file_uploaded_to_the_desk_is_held_in_the_instance_tmp(instance, tmp_path, monkeypatch):
    tmpdir = tmp_path / "process-tmp"
    tmpdir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmpdir))
    config = Config.load(instance)
    app = create_desk_app(config)
    boundary = "reply-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"replies\"; filename=\"r.odbx\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + os.urandom(BODY) + \
        f"\r\n--{boundary}--\r\n".encode()
    with app.test_request_context("/replies", method="POST", input_stream=io.BytesIO(body),
                                  content_type=f"multipart/form-data; boundary={boundary}",
                                  content_length=len(body)):
        from flask import request
        upload = request.files["replies"]
        assert _open_under("self", tmpdir, instance / "tmp") == {tmpdir: 0, instance / "tmp": 1}
        upload.stream.seek(0)
        assert len(upload.stream.read()) == BODY


def _status_in_namespace(data: Path, read_only: Path) -> subprocess.CompletedProcess:
    """`dropbox status` with `read_only` mounted read-only (root in its own mount namespace:
    root writes through file modes, not through a read-only mount)."""
    script = (f'mount --bind "{read_only}" "{read_only}" && mount -o remount,ro,bind "{read_only}"'
              f' && exec "{BIN / "dropbox"}" status --data "{data}" --control-port 1'
              f' --control-socket /nonexistent')
    return subprocess.run(["unshare", "--mount", "sh", "-c", script], capture_output=True, check=False,
                          text=True, timeout=120)


@pytest.mark.parametrize("folder", ["store", "tmp", "."])
def test_status_exits_1_when_the_store_cannot_be_written(instance, folder):
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True, check=False)
    if os.geteuid() != 0 or probe.returncode != 0:
        unavailable("a read-only mount needs root and a mount namespace")
    said = _status_in_namespace(instance, (instance / folder).resolve())
    problems = [line for line in said.stdout.splitlines() if line.startswith("PROBLEM: ")]
    assert said.returncode == 1 and "Traceback" not in said.stderr, said
    assert any("cannot be written" in line for line in problems), said
