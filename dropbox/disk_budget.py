"""How many request bodies may be on their way to the disk at once.

Uploads and large forms are written to the data directory while they arrive
(sealed: see submission_stream.py and spool.py). Without a bound, many
maximum-size bodies at once -- even ones that will be refused -- could fill
the disk before any of them is refused. A body that may reach the disk
reserves its announced length when its headers arrive; it is admitted only
while every body admitted so far fits under `max_in_flight`, and the data
directory keeps `reserve` bytes free after all of them. The reservation is
returned when the request ends, however it ends.

One budget per server, shared by its connections (waitress's I/O thread
reserves, its worker threads return), hence the lock.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path


class DiskBudget:
    def __init__(self, directory: Path, reserve: int, max_in_flight: int):
        self._directory = directory
        self._reserve = reserve
        self._max = max_in_flight
        self._in_flight = 0
        self._lock = threading.Lock()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def reserve(self, size: int) -> bool:
        """Reserve `size` bytes for a body about to arrive; False if it must be refused."""
        with self._lock:
            wanted = self._in_flight + size
            if wanted > self._max or self._free() - wanted < self._reserve:
                return False
            self._in_flight = wanted
            return True

    def release(self, size: int) -> None:
        with self._lock:
            self._in_flight = max(0, self._in_flight - size)

    def _free(self) -> int:
        try:
            stats = os.statvfs(self._directory)
        except OSError:
            return 0
        return stats.f_bavail * stats.f_frsize
