"""The figures behind the README's "Under attack" section: the site under the attacks of
tests/adversarial, measured on this machine (`make bench-attacks`, about 5 minutes).

Each attack is bounded and aims at loopback only. Printed as a Markdown table.
"""
from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import requests
from flask import Flask, Response

from bench.rig import Rig
from formclient import FormClient, open_report_form
from support.attackers import (FastBodies, SlowConnections, chunked_until_answered, closed_by_server, connect,
                               never_reading, post_head, rss_kib, set_settings, slow_report)
from support.commands import dropbox
from support.floods import flood, many_fields
from support.server import start_server
from uploads import ReportSession, marked_content, multipart, send
from keys import codename as codenames

SLOW = 2000
MiB = 1 << 20



def _init(rig: Rig, folder: Path) -> Path:
    data = folder / "instance"
    dropbox("init", "--data", data, "--community", "Bench community")
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


def loginflood(data: Path, seconds: int = 60) -> dict:
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


def unread_answers(data: Path, attackers: int = 8) -> dict:
    """Connections pipelining 40,000 requests each and never reading: how long the landing page
    takes meanwhile, and how soon the server closes them."""
    server = start_server(data)
    try:
        started = time.monotonic()
        socks = [never_reading(server.url, 40_000) for _ in range(attackers)]
        under = _latency(server.url, 10)
        closed = [closed_by_server(sock, within=120) for sock in socks]
        all_closed_s = time.monotonic() - started
        for sock in socks:
            sock.close()
    finally:
        server.stop()
    return {"attackers": attackers, "under_median_s": statistics.median(under),
            "under_max_s": max(under), "closed": sum(closed), "all_closed_within_s": all_closed_s}


def disk_holders(data: Path, holders: int = 4) -> dict:
    """Anonymous bodies announced larger than the whole budget and nearly silent, and a chunked
    body to /login: what a reporter's 3 MiB report gets, and how much of the chunked body the
    server read before refusing it."""
    set_settings(data, max_bytes_in_flight_mib=8)
    server = start_server(data)
    socks = []
    try:
        socks = [post_head(server, "/report", "multipart/form-data; boundary=x", 2048 * MiB)
                 for _ in range(holders)]
        for sock in socks:
            sock.sendall(b"--x\r\n")
        chunked, read = chunked_until_answered(
            post_head(server, "/login", "application/x-www-form-urlencoded", None), 256 * MiB)
        reporter = ReportSession.start(server.url)
        size = 3 * MiB
        content_type, total, pieces = multipart(reporter.fields(message="m"), "photo.jpg", size,
                                                marked_content(b"held", size))
        started = time.monotonic()
        status = send(server.url, "/report", reporter.cookie, content_type, total, pieces)
        took = time.monotonic() - started
    finally:
        for sock in socks:
            sock.close()
        server.stop()
    return {"report_status": status, "report_s": took, "chunked_login": chunked.decode(),
            "chunked_sent_before_refusal_mib": read / MiB}


def eviction(data: Path, cap: int = 20, newcomers: int = 20) -> dict:
    """A reporter sending at 1.5 KiB/s among anonymous bodies at 3 KiB/s past max_connections."""
    set_settings(data, max_connections=cap, upload_rate_window_seconds=2)
    server = start_server(data)
    try:
        reporter = ReportSession.start(server.url)
        attackers = FastBodies(server, cap - 4, 3 * 1024)
        answered = []
        sending = threading.Thread(target=lambda: answered.append(slow_report(server, reporter, 12 * 1024, 1536)))
        sending.start()
        time.sleep(2)
        for _ in range(newcomers):
            attackers.sockets.append(attackers.open())
            time.sleep(0.2)
        sending.join()
        attackers.close()
    finally:
        server.stop()
    return {"reporter": answered[0].split(b"\r\n")[0].decode(), "evicted_attackers": attackers.closed}


def one_codename_sessions(data: Path, cap: int = 8) -> dict:
    """One codename logged in 2 x max_sessions times: can a newcomer still start a report?"""
    set_settings(data, max_sessions=cap)
    server = start_server(data)
    try:
        codename = _report(server.url)
        for _ in range(2 * cap):
            _log_in(server.url, codename)
        newcomer = FormClient(server.url)
        started = newcomer.submit(newcomer.get("/"), "Start a new report")
        _, page = _log_in(server.url, codename)
    finally:
        server.stop()
    return {"logins": 2 * cap, "newcomer_start": started.status, "owner_login_again": page.status}


def wrong_codenames(data: Path, per_second: float = 8, seconds: int = 40) -> dict:
    """Well-formed wrong codenames (eight words of the public list) at `per_second`: how often the
    right codename gets in at its first try (one try every 5 s), before a restart and after one
    (its conversation's stored tag lets it through either way)."""
    server = start_server(data)
    try:
        codename = _report(server.url)
        before = _right_among_wrong(server, codename, per_second, seconds)
    finally:
        server.stop()
    server = start_server(data)
    try:
        after = _right_among_wrong(server, codename, per_second, seconds)
    finally:
        server.stop()
    return {"before_a_restart": before, "after_a_restart": after}


def _right_among_wrong(server, codename: str, per_second: float, seconds: int) -> dict:
    stop = threading.Event()
    guesses = []

    def guess():
        guesser = FormClient(server.url)
        page = guesser.get("/login")
        while not stop.is_set():
            started = time.monotonic()
            wrong = codenames.new_codename()
            guesses.append(guesser.submit(page, "Log in", fill={"codename": wrong}).status)
            stop.wait(max(0.0, 2 / per_second - (time.monotonic() - started)))
    guessers = [threading.Thread(target=guess) for _ in range(2)]
    for guesser in guessers:
        guesser.start()
    tries = []
    try:
        started = time.monotonic()
        while 429 not in guesses and time.monotonic() - started < 60:
            time.sleep(0.1)  # the budget is spent
        started, before = time.monotonic(), len(guesses)
        while time.monotonic() - started < seconds:
            tries.append(_log_in(server.url, codename)[1].status)
            time.sleep(5)
    finally:
        stop.set()
        for guesser in guessers:
            guesser.join()
    return {"wrong_per_second": (len(guesses) - before) / (time.monotonic() - started),
            "right_codename": tries}


def head_cpu(data: Path, connections: int = 60, seconds: int = 10) -> dict:
    """Connections each holding an unfinished head as long as the server allows, trickling
    single bytes: the server's CPU meanwhile, and what a 250 KB head gets."""
    server = start_server(data)
    socks = []
    try:
        big = connect(server)
        big.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Long: " + b"a" * 250_000)
        big.settimeout(10)
        refused = big.recv(100).split(b"\r\n")[0].decode()
        big.close()
        for _ in range(connections):
            sock = connect(server)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Long: " + b"a" * 12_000)
            socks.append(sock)
        ticks, sent, started = _cpu_ticks(server), 0, time.monotonic()
        while time.monotonic() - started < seconds:
            for sock in socks:
                try:
                    sent += sock.send(b"a")
                except OSError:
                    pass
            time.sleep(0.011)  # about 5,400 bytes a second in all, a head under the bound
        cpu = (_cpu_ticks(server) - ticks) / os.sysconf("SC_CLK_TCK") / (time.monotonic() - started)
        landing = _latency(server.url, 5, every=0)
    finally:
        for sock in socks:
            sock.close()
        server.stop()
    return {"head_250kb": refused, "bytes_per_second": sent / seconds, "server_cpu": cpu,
            "landing_median_s": statistics.median(landing)}


def _cpu_ticks(server) -> int:
    fields = Path(f"/proc/{server.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


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
                   "flood": loginflood(_init(rig, scratch / "b")),
                   "fields": big_fields(_init(rig, scratch / "c")),
                   "unread_answers": unread_answers(_init(rig, scratch / "d")),
                   "disk_holders": disk_holders(_init(rig, scratch / "e")),
                   "eviction": eviction(_init(rig, scratch / "f")),
                   "one_codename_sessions": one_codename_sessions(_init(rig, scratch / "g")),
                   "wrong_codenames": wrong_codenames(_init(rig, scratch / "h")),
                   "head_cpu": head_cpu(_init(rig, scratch / "i")),
                   "sessions_us": session_creation()}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    import json
    print(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
