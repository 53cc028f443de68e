"""The figures behind the README's "Hardening" section: the site under the attacks of
tests/adversarial, measured on this machine (`make bench-attacks`, about 3 minutes).

Each attack is bounded and aims at loopback only. Printed as a Markdown table.
"""
from __future__ import annotations

import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import requests
from flask import Flask, Response

from adversarial.attack import SlowConnections, rss_kib
from bench.rig import Rig
from formclient import FormClient, open_report_form
from support.commands import dropbox
from support.floods import flood, many_fields
from support.server import start_server

SLOW = 2000



def _init(rig: Rig, folder: Path) -> Path:
    data = folder / "instance"
    dropbox("init", "--data", data)
    for name in ("ana", "bo"):
        dropbox("team", "add", name, rig.passphrase_file.parent / f"{name}.pub", "--data", data)
    return data


def _latency(url: str, count: int, every: float = 0.2) -> list[float]:
    times = []
    for _ in range(count):
        started = time.monotonic()
        assert requests.get(url, timeout=60).status_code == 200
        times.append(time.monotonic() - started)
        time.sleep(every)
    return times


def _report(url: str) -> str:
    client = FormClient(url)
    codename, form = open_report_form(client)
    assert client.submit(form, "Send the report", fill={"message": "hello"}).status == 200
    return codename


def _log_in(url: str, codename: str) -> tuple[FormClient, object]:
    client = FormClient(url)
    return client, client.submit(client.get("/login"), "Log in", fill={"codename": codename})


def slow_connections(data: Path) -> dict:
    server = start_server(data)
    try:
        codename = _report(server.url)
        quiet = _latency(server.url, 10)
        rss_before = rss_kib(server)
        started = time.monotonic()
        slow = SlowConnections(server, SLOW)
        opened = time.monotonic() - started
        try:
            under = _latency(server.url, 20)
            started = time.monotonic()
            client, page = _log_in(server.url, codename)
            sent = client.submit(page, "Send", fill={"message": "during the attack"})
            reporter = time.monotonic() - started
            assert sent.status == 200
            rss_with = rss_kib(server)
            time.sleep(max(0.0, 36 - (time.monotonic() - started)))  # past the header deadline
            at_deadline = _latency(server.url, 10)
            closed_by_deadline = slow.closed_by_server
        finally:
            slow.close()
        started = time.monotonic()
        while requests.get(server.url, timeout=60).status_code != 200:
            pass
        recovery = time.monotonic() - started
    finally:
        server.stop()
    return {"opened_s": opened, "quiet_median_s": statistics.median(quiet),
            "under_median_s": statistics.median(under), "under_max_s": max(under),
            "reporter_login_and_send_s": reporter, "at_deadline_max_s": max(at_deadline),
            "closed_by_deadline": closed_by_deadline, "recovery_s": recovery,
            "rss_growth_mib": (rss_with - rss_before) / 1024}


def login_flood(data: Path, seconds: int = 60) -> dict:
    server = start_server(data)
    stop = threading.Event()
    junk = []
    try:
        codename = _report(server.url)

        def flood():
            guesser = FormClient(server.url)
            page = guesser.get("/login")
            while not stop.is_set():
                junk.append(guesser.submit(page, "Log in", fill={"codename": "junk"}).status)
                stop.wait(0.2)
        flooders = [threading.Thread(target=flood) for _ in range(2)]
        for flooder in flooders:
            flooder.start()
        tries = []
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            time.sleep(10)
            tried = time.monotonic()
            _, page = _log_in(server.url, codename)
            tries.append((page.status, time.monotonic() - tried))
        stop.set()
        for flooder in flooders:
            flooder.join()
    finally:
        stop.set()
        server.stop()
    return {"junk_per_second": len(junk) / seconds, "right_codename": tries}


def big_fields(data: Path) -> dict:
    server = start_server(data)
    try:
        requests.get(server.url, timeout=30)
        before, peak_before = rss_kib(server), rss_kib(server, "VmHWM")
        body, content_type = many_fields(480_000, 250)
        statuses = flood(server.url + "report", body, content_type)
        return {"statuses": sorted(set(statuses)),
                "peak_growth_mib": (rss_kib(server, "VmHWM") - peak_before) / 1024,
                "after_mib": (rss_kib(server) - before) / 1024}
    finally:
        server.stop()


def session_creation() -> dict:
    """Microseconds to make one new session with 1,000 and with 100,000 in the table."""
    from dropbox.sessions import MemorySession, MemorySessions
    app = Flask(__name__)
    sessions = MemorySessions(3600, max_sessions=200_000)
    figures = {}
    with app.test_request_context():
        for size in (1_000, 100_000):
            while sum(len(t) for t in sessions._tables.values()) < size:
                fresh = MemorySession()
                fresh["csrf_token"] = "x"
                sessions.save_session(app, fresh, Response())
            started = time.perf_counter()
            for _ in range(2000):
                fresh = MemorySession()
                fresh["csrf_token"] = "x"
                sessions.save_session(app, fresh, Response())
            figures[size] = (time.perf_counter() - started) / 2000 * 1e6
    return figures


def main() -> None:
    scratch = Path(tempfile.mkdtemp(prefix="odbx-attacks-"))
    try:
        rig = Rig.create(scratch)
        results = {"slow": slow_connections(_init(rig, scratch / "a")),
                   "flood": login_flood(_init(rig, scratch / "b")),
                   "fields": big_fields(_init(rig, scratch / "c")),
                   "sessions_us": session_creation()}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    import json
    print(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
