"""Costs as the stored data grows: the same operations at 1,000, 10,000 and 100,000 conversations.

An instance is filled through the project's own `Store` API (the call the
reporter site makes once a form is parsed) with real envelopes, small ones
(tests/stored.py): each conversation holds a report and up to two more items
(follow-ups from the reporter), and every fifth
leaves two of the four responders out. Its ages are those of a steady retention
(`steady_retention`: last activity even over the 90 days the default retention keeps, so
some are due for deletion and, nothing being downloaded yet, most reports wait unread). Then the server, the desk and the
commands are timed as a team uses them: start-up, codename login, the desk's
list, its actions, a reply upload, `export --all`, `keys open` and a purge of a tenth. Each is
reported as seconds at every size and as the ratio between two sizes; a cost
that grows no faster than the data stays near 10x or below for 10x the data, and the desk's
pages and actions stay under the issue's 0.3 s at every size.
"""
from __future__ import annotations

import random
import shutil
import sqlite3
import statistics
import time
from itertools import pairwise
from pathlib import Path

from bench.rig import LONGEST, TEAM, Rig
from support.commands import dropbox, run
from support.server import Server
from deskclient import add_user, desk_login, desk_url
from dropbox.config import Config
from dropbox.storage import Store
from formclient import FormClient
from keys import codename as codenames
from stored import populate, steady_retention

DESK_USER = TEAM[0]
CODENAMES = 3  # conversations made with a real codename, to log in to
REPEAT = 5


def _median(measure, times: int = REPEAT) -> float:
    walls = []
    for _ in range(times):
        started = time.perf_counter()
        measure()
        walls.append(time.perf_counter() - started)
    return statistics.median(walls)


def _timed(action) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def _ok(status: int, what: str) -> None:
    if status != 200:
        raise RuntimeError(f"{what} was answered {status}")


def measure(rig: Rig, count: int) -> dict:
    """Every figure at `count` stored conversations, in seconds (or in the unit its name says)."""
    data = rig.instance(f"scale-{count}")
    config = Config.load(data)
    store = Store(config.database, config.store_dir, config.tmp_dir)
    phrases = [codenames.new_codename() for _ in range(CODENAMES)]
    lookups = {n * (count // CODENAMES): codenames.derive(p, config.peppers, config.codename_cost).lookup_id
               for n, p in enumerate(phrases)}
    login = add_user(data, DESK_USER)
    started = time.perf_counter()
    populate(store, count, random.Random(count), lookups)
    steady_retention(config.database, config.settings.retention_days)
    figures = {"populate": time.perf_counter() - started}

    figures["start-up"], server = _timed(lambda: rig.server(data))
    try:
        figures["reporter login"] = _reporter_login(server, phrases)
        figures.update(_desk(rig, server, login, store))
        figures["server peak after the desk (MiB)"] = server.peak_rss_kib() / 1024
    finally:
        server.stop()
    figures.update(_commands(rig, data))
    return {name: None if seconds is None else round(seconds, 4) for name, seconds in figures.items()}


def _reporter_login(server: Server, phrases: list[str]) -> float:
    def reporter_login():
        client = FormClient(server.url)
        page = client.submit(client.get("/login"), "Log in", fill={"codename": random.choice(phrases)})
        if not page.url.endswith("/conversation"):
            raise RuntimeError("logging in with a codename failed")
    return _median(reporter_login)


def _desk(rig: Rig, server: Server, login, store: Store) -> dict:
    figures = {}
    url = desk_url(server)
    seconds, (desk, first) = _timed(lambda: desk_login(url, login))
    figures["desk login"] = seconds
    _ok(first.status, "the desk login")
    # Times are of the HTTP exchange alone: the client's own HTML parsing is left out.
    figures["desk list"] = _median(lambda: _ok(desk.http.get(url, timeout=600).status_code, "the list"))
    listed = desk.get("")
    figures["desk list, last page"] = _median(lambda: _ok(desk.http.get(
        f"{url}?page={10 ** 9}", timeout=600).status_code, "the list's last page"))
    for kind in ("deletions", "unread"):
        figures[f"desk {kind} warned"] = _median(lambda kind=kind: _ok(desk.http.get(
            f"{url}warnings/{kind}", timeout=600).status_code, f"the {kind} warned"))
    figures["desk deletions warned, last page"] = _median(lambda: _ok(desk.http.get(
        f"{url}warnings/deletions?page={10 ** 9}", timeout=600).status_code, "the last deletions"))
    figures["desk figures"] = _median(lambda: _ok(desk.http.get(f"{url}figures", timeout=600).status_code,
                                                  "the figures"))
    # Page weights in KB, beside the seconds: their names say so.
    figures["desk list (KB)"] = len(desk.http.get(url, timeout=600).content) / 1000
    figures["desk list, last page (KB)"] = len(desk.http.get(f"{url}?page={10 ** 9}", timeout=600).content) / 1000
    for kind in ("deletions", "unread"):
        figures[f"desk {kind} warned (KB)"] = len(desk.http.get(f"{url}warnings/{kind}", timeout=600).content) / 1000
    figures["desk figures (KB)"] = len(desk.http.get(f"{url}figures", timeout=600).content) / 1000
    designation = listed.by_class("conversation")[0].attrs["id"]
    star = next(f for f in listed.forms() if f.action.endswith(f"/{designation}/star"))
    figures["desk star"] = _median(lambda: _ok(desk.http.post(
        star.action, data=star.defaults(), timeout=600).status_code, "starring"))
    confirm = desk.get(f"conversations/{designation}/close")
    close = confirm.form("Close it")
    figures["desk close"], _ = _timed(lambda: _ok(desk.http.post(
        close.action, data=close.defaults(), timeout=600).status_code, "closing"))

    everything, new = listed.link("everything"), listed.link("new items")
    seconds, bundle = _timed(lambda: desk.http.get(everything, timeout=3600))
    figures["desk bundle (everything)"] = seconds
    _ok(bundle.status_code, "my bundle (everything)")
    figures["desk bundle (nothing new)"] = _median(
        lambda: _ok(desk.http.get(new, timeout=600).status_code, "my bundle (nothing new)"))

    # A reply to a new conversation, written offline from a bundle holding only it.
    [conversation] = populate(store, 1, random.Random(1))
    small = rig.folder / "new.odbx"
    small.write_bytes(desk.http.get(new, timeout=600).content)
    reply = rig.folder / "reply.odbx"
    message = rig.folder / "reply.txt"
    message.write_text("a reply written offline")
    trusted = rig.key(DESK_USER).parent / "trusted"  # the team's keys, pinned once on the air gap
    if not any(trusted.glob("*.pub")):  # `keys open` may have made the folder, for first openings
        dropbox("keys", "trust", *(rig.key(name).with_suffix(".pub") for name in TEAM), "--trusted", trusted)
    dropbox("keys", "reply", small, conversation, "--key", rig.key(DESK_USER), "--message-file",
            message, "--out", reply, "--passphrase-file", rig.passphrase_file)
    upload = listed.form("Upload replies")
    seconds, answer = _timed(lambda: desk.http.post(
        upload.action, data=upload.defaults(), files=[("replies", ("reply.odbx", reply.read_bytes()))],
        timeout=600))
    figures["desk reply upload"] = seconds
    if answer.status_code != 200 or "stored 1" not in answer.text:
        raise RuntimeError("the reply upload failed")
    return figures


def _commands(rig: Rig, data: Path) -> dict:
    figures = {}
    bundles = rig.folder / f"{data.name}-bundles"  # one bundle per responder
    figures["export --all"], _ = _timed(lambda: dropbox("export", "--all", "--data", data, "--out", bundles,
                                                          timeout=LONGEST))
    out = rig.folder / f"{data.name}-opened"
    try:
        figures["keys open"] = rig.open_bundle(bundles / f"{DESK_USER}.odbx", out)
    except AssertionError as refused:  # a limit of the bundle format, said in the results
        figures["keys open"] = None
        print(f"bench: keys open failed at {data.name}: {str(refused).strip().splitlines()[-1]}", flush=True)
    # What a responder does when done with it: the opened folders go (they hold plaintext).
    if out.exists():
        figures["remove what keys open wrote"], _ = _timed(lambda: run("rm", "-rf", out, timeout=LONGEST))
    shutil.rmtree(bundles, ignore_errors=True)
    # A tenth of the conversations falls past retention: the purge deletes exactly those.
    with sqlite3.connect(data / "dropbox.sqlite3") as db:
        db.execute("UPDATE conversations SET last_activity = '2000-01-01' WHERE rowid % 10 = 0")
    figures["purge a tenth"], result = _timed(lambda: dropbox("purge", "--data", data, timeout=LONGEST))
    if result.out.startswith("deleted 0 "):
        raise RuntimeError("the purge deleted nothing")
    return figures


def _ratio(later: float | None, first: float | None) -> float | None:
    return None if later is None or first is None else round(later / first, 1)


def scale(rig: Rig, sizes: list[int]) -> dict:
    """Figures at each size, and each figure's ratio to the size before: ten times the data
    should cost at most about ten times as much, at every step."""
    by_size = {}
    for count in sizes:
        print(f"bench: {count} conversations", flush=True)
        by_size[str(count)] = measure(rig, count)
    ratios = {str(count): {name: _ratio(by_size[str(count)][name], by_size[str(before)][name])
                           for name in by_size[str(count)]}
              for before, count in pairwise(sizes)}
    return {"sizes": sizes, "seconds": by_size, "ratios": ratios}
