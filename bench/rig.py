"""What every benchmark stands on: a scratch folder, four responders, instances, the real server.

The server is `dropbox serve` as a subprocess on loopback, started by the
tests' own `start_server`; reporters go through the real form, with the
tests' streaming multipart client for large files.
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from support.commands import dropbox, run
from support.server import Server, start_server
from uploads import ReportSession, multipart, send

TEAM = ("ana", "bo", "cy", "di")
PASSPHRASE = "benchmark passphrase"
MiB = 1 << 20
# The longest a command may take in a benchmark (keys open of 100,000 conversations takes minutes).
LONGEST = 3600


@dataclass(frozen=True)
class Rig:
    folder: Path
    passphrase_file: Path

    @classmethod
    def create(cls, folder: Path) -> Rig:
        keys = folder / "airgap"
        keys.mkdir(parents=True)
        passphrase_file = keys / "passphrase.txt"
        passphrase_file.write_text(PASSPHRASE + "\n")
        for name in TEAM:
            dropbox("keys", "new", name, "--out", keys, "--passphrase-file", passphrase_file)
        return cls(folder, passphrase_file)

    def key(self, name: str = TEAM[0]) -> Path:
        return self.passphrase_file.parent / f"{name}.key"

    def instance(self, name: str) -> Path:
        data = self.folder / name
        dropbox("init", "--data", data, "--community", "Bench community")
        for responder in TEAM:
            dropbox("team", "add", responder, self.key(responder).with_suffix(".pub"), "--data", data)
        return data

    def server(self, data: Path, launcher: list[str] | None = None) -> Server:
        # The server's spool goes to the scratch folder too, so cleaning up is one rmtree.
        return start_server(data, env={"TMPDIR": str(self.folder)}, launcher=launcher)

    def open_bundle(self, bundle: Path, out: Path) -> float:
        """Seconds `keys open` takes, as a responder runs it on the air-gapped machine: the air-gap
        kit's `keys` is `python -m keys` (dropbox/airgap/install.sh), without the web stack
        `dropbox keys` loads first."""
        started = time.perf_counter()
        run(sys.executable, "-m", "keys", "open", bundle, "--key", self.key(), "--out", out,
            "--passphrase-file", self.passphrase_file, timeout=LONGEST)
        return time.perf_counter() - started


def random_file(path: Path, size: int) -> Path:
    with open(path, "wb") as out:
        for start in range(0, size, 8 * MiB):
            out.write(os.urandom(min(8 * MiB, size - start)))
    return path


def upload_file(server: Server, path: Path, session: ReportSession | None = None) -> float:
    """Seconds to POST the report form with `path` attached, streamed; raises unless stored."""
    session = session or ReportSession.start(server.url)
    fields = session.fields(message="benchmark upload")  # every responder stays checked
    size = path.stat().st_size
    fd = os.open(path, os.O_RDONLY)
    try:
        content_type, total, pieces = multipart(
            fields, path.name, size, lambda start, end: os.pread(fd, end - start, start))
        started = time.perf_counter()
        status = send(server.url, "/report", session.cookie, content_type, total, pieces)
        seconds = time.perf_counter() - started
    finally:
        os.close(fd)
    if status != 302:  # a stored report sends the reporter on to the confirmation page
        raise RuntimeError(f"the upload of {path.name} was answered {status}")
    return seconds


def mb_per_s(size: int, seconds: float) -> float:
    return round(size / seconds / 1e6, 1)


def percentiles(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=20, method="inclusive")
    return {"p50": round(statistics.median(values), 3), "p95": round(cuts[18], 3)}
