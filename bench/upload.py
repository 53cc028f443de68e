"""Upload throughput and memory, and opening the same data offline.

One random file goes through every path in the same run: the raw
secretstream floor, SecureDrop's gzip+gpg path, age, an unencrypted default
Flask+waitress upload of it, and our real HTTP
endpoint (a fresh server, the file streamed as a browser would, sealed to
four responders). That server's peak memory is read after the upload, and
its export is opened with `dropbox keys open` against the raw decrypt floor.
A second upload under a profiler shows where the server's time goes.
"""
from __future__ import annotations

import os
import shutil
import statistics
import sys
from pathlib import Path

from bench import peers
from bench.profiling import stages, summary
from bench.rig import PASSPHRASE, MiB, Rig, mb_per_s, random_file, upload_file
from support.commands import dropbox, run
from uploads import ReportSession

PROFILED_SIZE = 100 * MiB
# Five rounds: on this shared virtual machine one path's rate moves by 2x from one turn to the
# next, and a median of three is one turn's luck.
PEER_ROUNDS = 5
# The upload's stages in the server: waitress's loop reads the body and parses it as it
# arrives, each file part going into the encrypting sink; then the app stores it.
UPLOAD_STAGES = {
    "waitress reads the body (socket to parser)": ("waitress/channel.py", "handle_read"),
    "  parsing the multipart body as it arrives": ("dropbox/submission_stream.py", "append"),
    "    file content handed to the sink past the decoder": ("dropbox/submission_stream.py",
                                                          "_straight_to_sink"),
    "    the multipart decoder's own work": ("werkzeug/sansio/multipart.py", "next_event"),
    "    the encrypting sink": ("dropbox/uploads.py", "write"),
    "      of which XChaCha20-Poly1305 (libsodium's secretstream push)":
        ("~", "<built-in method _sodium.crypto_secretstream_xchacha20poly1305_push>"),
    "file writes anywhere in the server (mostly the ciphertext)": ("~", "<method 'write' of '_io.BufferedWriter' objects>"),
    "Flask, for the upload and the three pages before it": ("flask/app.py", "wsgi_app"),
    "  storing the conversation (its fsyncs included)": ("dropbox/storage/conversations.py",
                                                        "create_conversation"),
}


def upload_throughput(rig: Rig, size: int) -> dict:
    source = random_file(rig.folder / f"source-{size // MiB}MiB.bin", size)
    work = rig.folder / "peers"
    work.mkdir()
    rates: dict[str, float | str] = {}
    seconds, key = peers.raw_encrypt(source, work / "raw.ct")
    rates["raw_floor"] = mb_per_s(size, seconds)
    for name, measure in (("securedrop_gzip_gpg", lambda: peers.gpg_encrypt(source, work / "gpg.ct", work / "gnupg")),
                          ("age", lambda: peers.age_encrypt(source, work / "age.ct", work / "age-keys"))):
        try:
            rates[name] = mb_per_s(size, measure())
        except peers.Missing as missing:
            rates[name] = f"missing: {missing}"
    rates["plain_flask_waitress"] = mb_per_s(size, peers.plain_flask_upload(source, work / "plain-flask"))
    shutil.rmtree(work, ignore_errors=True)  # gpg-agent may remove its sockets meanwhile

    instance = rig.instance(f"upload-{size // MiB}MiB")
    server = rig.server(instance)
    try:
        idle_kib = server.peak_rss_kib()
        rates["onion_dropbox"] = mb_per_s(size, upload_file(server, source))
        peak_kib = server.peak_rss_kib()
    finally:
        server.stop()
    ours = rates["onion_dropbox"]
    ratios = {f"vs_{name}": round(ours / rate, 2) for name, rate in rates.items()
              if name != "onion_dropbox" and isinstance(rate, float)}
    result = {"file_mib": size // MiB, "mb_per_s": rates, "ratios": ratios,
              "memory": {"idle_peak_mib": round(idle_kib / 1024, 1), "peak_mib": round(peak_kib / 1024, 1)},
              "offline": offline_opening(rig, instance, source)}
    source.unlink()
    shutil.rmtree(instance)
    return result


OPEN_ROUNDS = 5


def offline_opening(rig: Rig, instance, source: Path) -> dict:
    """`keys open` on an export holding the upload, against `age -d` and the raw decrypt floor.

    Five paths take turns over `OPEN_ROUNDS` rounds (each round starts with another), each
    after its input is read into the page cache and the disk has written what is pending (both
    write a gigabyte, and waiting on writeback left by the path before moved rates between 300
    and 800 MB/s): the whole command as a responder runs it (`python -m keys open`, start-up and
    unlocking the key file with argon2id included); `age -d` of the same file sealed to four
    age recipients, with an identity file in the clear, and again with the identity file sealed
    with a passphrase (`age -p`: scrypt), as our key file is (argon2id); the opening alone, timed
    inside one process once the key is unlocked (streaming); and the raw secretstream decrypt
    floor. Ratios are per round, min / median / max.
    The command's fixed cost is measured on a bundle of one short message.
    """
    size = source.stat().st_size
    bundle, opened = rig.folder / "export.bundle", rig.folder / "opened"
    dropbox("export", "--data", instance, "--out", bundle)
    sealed, floor_out = rig.folder / "raw.ct", rig.folder / "raw.out"
    _, key = peers.raw_encrypt(source, sealed)
    aged, age_keys, age_out = rig.folder / "age.ct", rig.folder / "age-keys", rig.folder / "age.out"
    try:
        peers.age_encrypt(source, aged, age_keys)
        peers.age_protect_identity(age_keys, PASSPHRASE)
        has_age = True
    except peers.Missing as missing:
        print(f"bench: {missing}; keys open is not compared with age -d", flush=True)
        has_age = False

    def command() -> float:
        seconds = rig.open_bundle(bundle, opened)
        shutil.rmtree(opened)
        return seconds

    def floor() -> float:
        seconds = peers.raw_decrypt(sealed, floor_out, key)
        floor_out.unlink()
        return seconds

    def age(passphrase: str | None = None) -> float:
        seconds = peers.age_decrypt(aged, age_keys, age_out, passphrase)
        age_out.unlink()
        return seconds

    paths = [("command", bundle, command), ("age", aged, age), ("streaming", bundle,
             lambda: opening_seconds(rig, bundle, opened)), ("floor", sealed, floor),
             ("age_passphrase", aged, lambda: age(PASSPHRASE))]
    paths = [path for path in paths if has_age or not path[0].startswith("age")]
    seconds: dict[str, list[float]] = {name: [] for name, _, _ in paths}
    for turn in range(OPEN_ROUNDS):
        for name, read, measure in paths[turn % len(paths):] + paths[:turn % len(paths)]:
            _settle(read)
            seconds[name].append(measure())
    sealed.unlink()
    aged.unlink(missing_ok=True)
    profile = profile_open(rig, bundle)
    shutil.rmtree(bundle)  # a folder: one bundle per responder
    fixed = fixed_open_cost(rig)
    rates = {name: [mb_per_s(size, t) for t in times] for name, times in seconds.items()}
    median = {name: statistics.median(times) for name, times in seconds.items()}
    found = {"rounds": OPEN_ROUNDS, "command_seconds": round(median["command"], 2),
             "fixed_seconds": round(fixed, 2),
             "command_mb_per_s": mb_per_s(size, median["command"]),
             "streaming_seconds": round(median["streaming"], 3),
             "streaming_mb_per_s": mb_per_s(size, median["streaming"]),
             "raw_decrypt_floor_mb_per_s": mb_per_s(size, median["floor"]),
             "ratio_streaming_vs_floor": spread([f / t for f, t in zip(seconds["floor"], seconds["streaming"], strict=True)]),
             "ratio_command_vs_floor": spread([f / t for f, t in zip(seconds["floor"], seconds["command"], strict=True)]),
             "runs_mb_per_s": rates, "profile": profile}
    if has_age:
        found["age_mb_per_s"] = mb_per_s(size, median["age"])
        found["ratio_command_vs_age"] = spread([a / t for a, t in zip(seconds["age"], seconds["command"], strict=True)])
        found["age_passphrase_seconds"] = round(median["age_passphrase"], 2)
        found["ratio_command_vs_age_passphrase"] = spread(
            [a / t for a, t in zip(seconds["age_passphrase"], seconds["command"], strict=True)])
    return found


def _settle(path: Path) -> None:
    """`path` (a file or a folder of them) read into the page cache, and nothing left for the
    disk to write: what one measurement leaves behind must not be paid by the next."""
    for found in [path] if path.is_file() else sorted(path.rglob("*")):
        if found.is_file():
            with open(found, "rb") as stream:
                while stream.read(1 << 24):
                    pass
    os.sync()


_TIMED_OPEN = """
import sys, time
from pathlib import Path
from keys.opening import open_bundle
from keys.responder import ResponderKey
key = ResponderKey.load(Path(sys.argv[2]), Path(sys.argv[3]).read_text().splitlines()[0])
bundle = Path(sys.argv[1]) / f"{key.name}.odbx"  # a team export: one bundle per responder
started = time.perf_counter()
open_bundle(bundle, key, Path(sys.argv[4]))
print(time.perf_counter() - started)
"""


def opening_seconds(rig: Rig, bundle, opened) -> float:
    """Seconds `open_bundle` takes on `bundle` in a fresh process, the key already unlocked."""
    seconds = float(run(sys.executable, "-c", _TIMED_OPEN, bundle, rig.key(), rig.passphrase_file,
                        opened).out)
    shutil.rmtree(opened)
    return seconds


def profile_open(rig: Rig, bundle) -> list[dict]:
    """The busiest functions of `keys open` on `bundle`, under cProfile."""
    stats, opened = rig.folder / "open.prof", rig.folder / "opened-profiled"
    run(sys.executable, "-m", "cProfile", "-o", stats, "-m", "keys", "open", bundle,
        "--key", rig.key(), "--out", opened, "--passphrase-file", rig.passphrase_file)
    shutil.rmtree(opened)
    return summary(str(stats))


def fixed_open_cost(rig: Rig) -> float:
    instance = rig.instance("fixed-cost")
    server = rig.server(instance)
    try:
        session = ReportSession.start(server.url)
        page = session.client.get("/report")
        session.client.submit(page, "Send the report", fill={"message": "a short report"})
    finally:
        server.stop()
    bundle = rig.folder / "fixed.bundle"
    dropbox("export", "--data", instance, "--out", bundle)
    seconds = rig.open_bundle(bundle, rig.folder / "fixed-opened")
    shutil.rmtree(rig.folder / "fixed-opened")
    shutil.rmtree(instance)
    return seconds


def memory_by_size(rig: Rig, sizes: list[int]) -> dict:
    """Peak server memory (VmHWM) after one upload of each size, each on a fresh server."""
    peaks = {}
    for size in sizes:
        source = random_file(rig.folder / f"memory-{size // MiB}MiB.bin", size)
        instance = rig.instance(f"memory-{size // MiB}MiB")
        server = rig.server(instance)
        try:
            upload_file(server, source)
            peaks[f"{size // MiB} MiB"] = round(server.peak_rss_kib() / 1024, 1)
        finally:
            server.stop()
            source.unlink()
            shutil.rmtree(instance)
    return peaks


def profile_upload(rig: Rig) -> dict:
    """The server's stages and busiest functions during one 100 MiB upload, under cProfile."""
    source = random_file(rig.folder / "profiled.bin", PROFILED_SIZE)
    instance = rig.instance("profiled")
    stats = rig.folder / "server.prof"
    server = rig.server(instance, launcher=[sys.executable, "-m", "bench.profiling", str(stats)])
    try:
        seconds = upload_file(server, source)
    finally:
        server.stop()
        source.unlink()
        shutil.rmtree(instance)
    return {"upload_seconds_under_profiler": round(seconds, 2),
            "stages_seconds": stages(str(stats), UPLOAD_STAGES), "functions": summary(str(stats))}


def spread(values: list[float]) -> dict[str, float]:
    """Min, median and max: every ratio is quoted so, over rounds that took turns."""
    return {"min": round(min(values), 2), "median": round(statistics.median(values), 2),
            "max": round(max(values), 2)}


def against_peers(rig: Rig, sizes: list[int], rounds: int = PEER_ROUNDS) -> dict:
    """Our upload against OnionShare's receive mode and the encrypt-and-fsync floor, at each
    size, in `rounds` rounds that take turns on one file (each round starts with another of the
    three, and starts with nothing left for the disk to write): each ratio is ours against the
    other in the same round, as min / median / max, so a busy moment of a shared machine falls
    on one round, not on one side."""
    return {"rounds": rounds, "by_size": {f"{size // MiB} MiB": _against_at(rig, size, rounds) for size in sizes}}


def _against_at(rig: Rig, size: int, rounds: int) -> dict:
    source = random_file(rig.folder / f"peers-{size // MiB}MiB.bin", size)
    work = rig.folder / "peers-work"
    work.mkdir()
    instance = rig.instance(f"peers-{size // MiB}MiB")
    server = rig.server(instance)
    rates: dict[str, list[float]] = {"onion_dropbox": [], "onionshare": [], "encrypt_fsync_floor": []}

    def ours(turn: int) -> float:
        return upload_file(server, source)

    def onionshare(turn: int) -> float:
        for attempt in range(3):
            folder = work / f"onionshare-{turn}-{attempt}"
            try:
                seconds = peers.onionshare_upload(source, folder)
            except RuntimeError as refused:  # a 413 seen under load: said, and tried again
                print(f"bench: round {turn + 1}, {str(refused)[:60]}; trying that round's OnionShare upload again", flush=True)
                continue
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            return seconds
        raise RuntimeError("OnionShare refused the upload three times")

    def floor(turn: int) -> float:
        seconds, _ = peers.raw_encrypt(source, work / "floor.ct", fsync=True)
        (work / "floor.ct").unlink()
        return seconds

    paths = [("onion_dropbox", ours), ("onionshare", onionshare), ("encrypt_fsync_floor", floor)]
    try:
        idle_kib = server.peak_rss_kib()
        for turn in range(rounds):
            for name, measure in paths[turn % 3:] + paths[:turn % 3]:
                # What the turn before left for the disk to write (OnionShare never fsyncs)
                # is written first, so no path pays for another's writes.
                os.sync()
                rates[name].append(mb_per_s(size, measure(turn)))
        peak_kib = server.peak_rss_kib()
    finally:
        server.stop()
        source.unlink()
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(instance, ignore_errors=True)
    mine = rates["onion_dropbox"]
    return {"mb_per_s": rates,
            "ratios": {f"vs_{name}": spread([o / r for o, r in zip(mine, rates[name], strict=True)])
                       for name in rates if name != "onion_dropbox"},
            # How far ahead of OnionShare the floor itself is: no upload that stores durably
            # what it seals can be further ahead than this.
            "floor_vs_onionshare": spread([f / o for f, o in zip(rates["encrypt_fsync_floor"],
                                                                 rates["onionshare"], strict=True)]),
            "memory_mib": {"idle_peak": round(idle_kib / 1024, 1), "peak": round(peak_kib / 1024, 1)}}
