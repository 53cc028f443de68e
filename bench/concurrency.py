"""Many reporters at once, and many large uploads at once, against one real server.

Each reporter is a thread doing what a person does: start a report (a
codename), send a message and a 1 MiB file through the form, and log back in
with the codename. Afterwards the export is opened with one responder's key
and every file is compared with what was sent. Then a fresh server takes
several 100 MiB uploads at the same time while its peak memory is watched.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.rig import MiB, Rig, percentiles, random_file, upload_file
from support.commands import dropbox
from formclient import FormClient
from uploads import ReportSession


def one_reporter(url: str, number: int) -> dict:
    started = time.perf_counter()
    session = ReportSession.start(url)
    content = os.urandom(MiB)
    sending = time.perf_counter()
    response = session.client.http.post(
        url + "report", timeout=600,
        data=session.fields(message=f"report number {number}"),  # every responder stays checked
        files=[("files", (f"evidence-{number}.bin", content))])
    sent = time.perf_counter()
    login = FormClient(url)
    page = login.submit(login.get("/login"), "Log in", fill={"codename": session.codename})
    done = time.perf_counter()
    return {"number": number, "sha256": hashlib.sha256(content).hexdigest(),
            "stored": response.status_code == 200 and response.url.endswith("/submitted"), "logged_in": page.url.endswith("/conversation"),
            "journey": done - started, "submit": sent - sending, "login": done - sent}


def reporters_at_once(rig: Rig, count: int) -> dict:
    instance = rig.instance("reporters")
    server = rig.server(instance)
    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=count) as pool:
            outcomes = list(pool.map(lambda n: one_reporter(server.url, n), range(count)))
        wall = time.perf_counter() - started
        peak = server.peak_rss_kib()
    finally:
        server.stop()
    readable = decryptable(rig, instance, {o["number"]: o["sha256"] for o in outcomes})
    shutil.rmtree(instance)
    return {
        "reporters": count, "wall_seconds": round(wall, 1),
        "submissions_per_second": round(count / wall, 2),
        "stored": sum(o["stored"] for o in outcomes), "logged_back_in": sum(o["logged_in"] for o in outcomes),
        "decryptable_and_intact": readable,
        "journey_seconds": percentiles([o["journey"] for o in outcomes]),
        "submit_seconds": percentiles([o["submit"] for o in outcomes]),
        "login_seconds": percentiles([o["login"] for o in outcomes]),
        "server_peak_mib": round(peak / 1024, 1)}


def decryptable(rig: Rig, instance: Path, expected: dict[int, str]) -> int:
    """How many of the sent files come out of `dropbox keys open` byte for byte."""
    bundle, opened = rig.folder / "reporters.bundle", rig.folder / "reporters-opened"
    dropbox("export", "--data", instance, "--out", bundle)
    rig.open_bundle(bundle, opened)
    intact = 0
    for attachment in opened.glob("**/attachments/evidence-*.bin"):
        number = int(attachment.stem.split("-")[1])
        if hashlib.sha256(attachment.read_bytes()).hexdigest() == expected.get(number):
            intact += 1
    shutil.rmtree(bundle)  # a folder: one bundle per responder
    shutil.rmtree(opened)
    return intact


def uploads_at_once(rig: Rig, count: int, size: int) -> dict:
    """Peak memory while `count` uploads of `size` stream in together.

    The reporters get their codenames first, all at once, so the baseline
    already holds argon2id's memory (64 MiB per server thread) and the growth
    is what the uploads themselves take.
    """
    source = random_file(rig.folder / "concurrent.bin", size)
    instance = rig.instance("uploads")
    server = rig.server(instance)
    try:
        with ThreadPoolExecutor(max_workers=count) as pool:
            sessions = list(pool.map(lambda _: ReportSession.start(server.url), range(count)))
            before = server.peak_rss_kib()
            started = time.perf_counter()
            list(pool.map(lambda session: upload_file(server, source, session), sessions))
        wall = time.perf_counter() - started
        peak = server.peak_rss_kib()
    finally:
        server.stop()
        source.unlink()
        shutil.rmtree(instance)
    return {"uploads": count, "file_mib": size // MiB, "wall_seconds": round(wall, 1),
            "before_peak_mib": round(before / 1024, 1), "peak_mib": round(peak / 1024, 1),
            "growth_mib": round((peak - before) / 1024, 1)}
