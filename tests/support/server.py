"""The real server: `dropbox serve` as a subprocess on a free loopback port, driven over HTTP."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from support.commands import BIN


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    data: Path
    log: list[str]

    def peak_rss_kib(self) -> int:
        """The server's peak resident memory so far (VmHWM), in KiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise AssertionError("no VmHWM")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(data: Path, env: dict | None = None, args: tuple[str, ...] = ("--tor", "off"),
                 launcher: list[str] | None = None) -> Server:
    """`dropbox serve` on a free loopback port; `launcher` replaces the `dropbox` command
    (the benchmarks run it under a profiler)."""
    process = subprocess.Popen(
        [*(launcher or [str(BIN / "dropbox")]), "serve", "--data", str(data), "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, **(env or {})})
    log: list[str] = []
    ready = threading.Event()
    url: list[str] = []

    def pump():
        for line in process.stdout:
            log.append(line)
            found = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
            if found and not url:
                url.append(found.group(1))
                ready.set()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    if not ready.wait(30) or not url:
        process.kill()
        raise AssertionError("server did not start:\n" + "".join(log))
    return Server(url[0] + "/", process, data, log)
