"""The goals of issues 7 and 14, checked against a run's figures, and the table that shows them."""
from __future__ import annotations

from itertools import pairwise

from bench.machine import one_line

FLAT_MIB = 32
BOUNDED_MIB = 128
# 10x the conversations may cost 10x (linear) and no more (issue 24).
LINEAR_RATIO = 10
DESK_SECONDS = 0.3
# What the scale goals watch: each cost's ratio between sizes; the desk's pages also in seconds.
SCALED = ("export --all", "keys open", "remove what keys open wrote", "desk login", "desk list",
          "desk list, last page", "desk figures", "desk deletions warned", "desk deletions warned, last page",
          "desk unread warned", "desk star", "desk close", "desk bundle (everything)",
          "desk bundle (nothing new)", "desk reply upload", "reporter login", "start-up", "purge a tenth")
DESK_SIZES = 10_000  # the goals hold at 10,000 and 100,000 conversations
DESK_PAGES = ("desk login", "desk list", "desk list, last page", "desk figures", "desk deletions warned",
              "desk deletions warned, last page", "desk unread warned", "desk star", "desk close",
              "desk bundle (nothing new)", "desk reply upload")
DESK_KB = 100  # every desk page, at every size
MEMORY_SPREAD = 1.2  # the server's peak after the desk, the largest size against the one before


def goals(r: dict) -> list[dict]:
    ratios, memory = r["upload"]["ratios"], r["memory_peak_mib_by_upload"]
    reporters, big = r["concurrency"]["reporters"], r["concurrency"]["large_uploads"]
    landing, offline = r["pages"]["landing page"], r["offline_opening"]
    spread = round(max(memory.values()) - min(memory.values()), 1)
    checks = [
        ("upload vs raw secretstream floor", ratios.get("vs_raw_floor"), "≥ 0.5×", lambda v: v >= 0.5),
        ("upload vs unencrypted default Flask+waitress", ratios.get("vs_plain_flask_waitress"), "≥ 1.5×",
         lambda v: v >= 1.5),
        ("upload vs SecureDrop's `gzip -9 | gpg`", ratios.get("vs_securedrop_gzip_gpg"), "≥ 5×",
         lambda v: v >= 5),
        ("server peak memory spread over upload sizes (MiB)", spread, f"≤ {FLAT_MIB}",
         lambda v: v <= FLAT_MIB),
        (f"{reporters['reporters']} reporters: stored, logged back in, decryptable",
         f"{reporters['stored']}/{reporters['logged_back_in']}/{reporters['decryptable_and_intact']}",
         "all", lambda v: v == "/".join([str(reporters["reporters"])] * 3)),
        (f"{big['uploads']} × {big['file_mib']} MiB at once: peak memory growth (MiB)",
         big["growth_mib"], f"≤ {BOUNDED_MIB}", lambda v: v <= BOUNDED_MIB),
        ("landing page weight (KB)", landing["kb"], "≤ 20", lambda v: v <= 20),
        ("landing page scripts besides the one that warns scripts are on",
         landing["other_scripts"], "0", lambda v: v == 0),
        ("keys open vs raw decrypt floor (streaming, median round)", _median(offline["ratio_streaming_vs_floor"]),
         "≥ 0.7×", lambda v: v >= 0.7),
        (f"keys open, whole command, vs `age -d` at {r['upload']['file_mib']} MiB (median round)",
         _median(offline.get("ratio_command_vs_age")), f"≥ {AGE_RATIO}×", lambda v: v >= AGE_RATIO),
    ]
    checks += _peer_checks(r.get("against_peers"))
    checks += _scale_checks(r.get("scale"))
    return [{"measure": name.replace("|", "\\|"), "figure": value, "goal": goal,
             "met": None if value is None else bool(test(value))} for name, value, goal, test in checks]


ONIONSHARE_RATIO = 2.0
FLOOR_RATIO = 0.9
AGE_RATIO = 0.8


def _median(ratio: dict | float | None) -> float | None:
    """A ratio's median round (results before rounds held one figure)."""
    return ratio["median"] if isinstance(ratio, dict) else ratio


def _peer_checks(against: dict | None) -> list:
    """Issue 24: at every size, twice OnionShare and 0.9 of the encrypt-and-fsync floor (the
    median round), and the server's peak the same at every size."""
    if not against:
        return []
    by_size = against["by_size"]
    checks = []
    for size, found in by_size.items():
        ratios = found["ratios"]
        checks += [(f"upload vs OnionShare 2.7 receive mode, {size} (median round)",
                    ratios["vs_onionshare"]["median"], f"≥ {ONIONSHARE_RATIO}×", lambda v: v >= ONIONSHARE_RATIO),
                   (f"upload vs encrypt-and-fsync floor, {size} (median round)",
                    ratios["vs_encrypt_fsync_floor"]["median"], f"≥ {FLOOR_RATIO}×", lambda v: v >= FLOOR_RATIO)]
    peaks = [found["memory_mib"]["peak"] for found in by_size.values()]
    return checks + [("server peak memory spread over those uploads (MiB)", round(max(peaks) - min(peaks), 1),
                      f"≤ {FLAT_MIB}", lambda v: v <= FLAT_MIB)]


def _peers_section(against: dict | None) -> list[str]:
    if not against:
        return []
    when = f" (measured {against['date']}; machine: {one_line(against['machine'])})" if "date" in against else ""
    lines = [f"## Upload against OnionShare and the encrypt-and-fsync floor{when}", "",
             f"{against['rounds']} rounds at each size, taking turns on one random file (each round "
             "starts with another of the three, and each turn with nothing left for the disk to write: "
             "`sync` between turns, untimed). onion_dropbox: our real endpoint on loopback, sealed to "
             "four responders, the body streamed as a browser sends it. onionshare: `onionshare-cli "
             "--receive --local-only` 2.7 (requirements/bench.lock, its own venv), the same file POSTed "
             "to its receive form on loopback, no tor, saved unencrypted. encrypt_fsync_floor: PyNaCl's "
             "secretstream, the file read from the page cache in 64 KiB chunks and sealed into one file, "
             "then fsync: one pass of the cipher and one durable write, what an encrypting upload cannot "
             "beat. Ratios are ours against the other in the same round: min / median / max.", "",
             "| size | ours MB/s | OnionShare MB/s | floor MB/s | vs OnionShare | vs floor | floor vs OnionShare | our peak MiB |",
             "|---|---|---|---|---|---|---|---|"]
    for size, found in against["by_size"].items():
        rates, ratios = found["mb_per_s"], found["ratios"]
        ahead = found.get("floor_vs_onionshare")
        floor_ahead = f"{_spread(ahead)} → {ONIONSHARE_RATIO / ahead['median']:.2f}× floor" if ahead else "–"
        lines.append(f"| {size} | {_runs(rates['onion_dropbox'])} | {_runs(rates['onionshare'])} | "
                     f"{_runs(rates['encrypt_fsync_floor'])} | {_spread(ratios['vs_onionshare'])} | "
                     f"{_spread(ratios['vs_encrypt_fsync_floor'])} | {floor_ahead} | {found['memory_mib']['peak']} |")
    return lines + ["", "\"floor vs OnionShare\" is the floor's rate over OnionShare's in the same round; "
                    f"after the arrow, what {ONIONSHARE_RATIO:g}× OnionShare asks of an upload as a share of the "
                    "floor's rate (median round), a floor that receives no HTTP and parses no form.", ""]


def _offline_section(file_mib: int, off: dict) -> list[str]:
    runs = off.get("runs_mb_per_s", {})
    age = (f"; `age -d` of the same file sealed to four age recipients {off['age_mb_per_s']} MB/s, "
           f"the whole command against it {_spread(off['ratio_command_vs_age'])}"
           if "ratio_command_vs_age" in off else "; `age -d` not measured (age is not installed)")
    if "ratio_command_vs_age_passphrase" in off:
        age += (f"; with age's identity file sealed with a passphrase (`age -p`, scrypt), as our key "
                f"file is (argon2id), `age -d` took {off['age_passphrase_seconds']} s, the whole command "
                f"against it {_spread(off['ratio_command_vs_age_passphrase'])}")
    needed = _needed_for_age(file_mib, off)
    if needed is not None:
        allowed, rate = needed
        age += (f". For {AGE_RATIO:g}× `age -d` the command may take {allowed} s: "
                + (f"after its fixed cost, {rate} MB/s to open the data" if rate else "less than its fixed cost"))
    return [
        f"{file_mib} MiB of attachments, {off.get('rounds', 3)} rounds taking turns, each path after "
        "its input is cached and pending writes are flushed (medians; ratios per round, min / median "
        f"/ max): the whole command {off['command_seconds']} s ({off['command_mb_per_s']} MB/s), of "
        f"which about {off['fixed_seconds']} s is its fixed cost (start-up, unlocking the key file "
        "with argon2id, measured on a one-message bundle); the opening alone (timed in the process "
        f"once the key is unlocked) {off['streaming_mb_per_s']} MB/s against a raw secretstream "
        f"decrypt floor of {off['raw_decrypt_floor_mb_per_s']} MB/s "
        f"({_spread(off['ratio_streaming_vs_floor'])}; the whole command "
        f"{_spread(off['ratio_command_vs_floor'])}){age}.", "",
        "Every run, MB/s: " + "; ".join(f"{name} {_runs(rates)}" for name, rates in runs.items()) + ".", ""]


def _needed_for_age(file_mib: int, off: dict) -> tuple[float, float | None] | None:
    """The longest the whole command may take to be AGE_RATIO of `age -d`, and the rate (MB/s)
    at which it must then open the data once its fixed cost is paid (None if that is more)."""
    if "age_mb_per_s" not in off:
        return None
    megabytes = file_mib * 1.048576  # MB in a MiB: the figures are in MB/s
    allowed = megabytes / off["age_mb_per_s"] / AGE_RATIO
    left = allowed - off["fixed_seconds"]
    return round(allowed, 2), (round(megabytes / left) if left > 0 else None)


def _runs(values: list[float]) -> str:
    return ", ".join(f"{v:g}" for v in values)


def _spread(ratio: dict | float) -> str:
    if not isinstance(ratio, dict):
        return f"{ratio}×"  # a result from before rounds
    return f"{ratio['min']} / {ratio['median']} / {ratio['max']}×"


def _scale_checks(scale: dict | None) -> list:
    if not scale:
        return []
    # Each ratio for ten times the data (a size against the one before); the desk's seconds at
    # every size of 10,000 and more.
    sizes = [str(n) for n in scale["sizes"]]
    checks = [(f"{name}: {size} vs {before} conversations", scale["ratios"][size].get(name),
               f"≤ {LINEAR_RATIO}×", lambda v: v <= LINEAR_RATIO)
              for before, size in pairwise(sizes) for name in SCALED]
    checks += [(f"{name} at {size} conversations (s)", scale["seconds"][size].get(name),
                f"< {DESK_SECONDS}", lambda v: v < DESK_SECONDS)
               for size in sizes if int(size) >= DESK_SIZES for name in DESK_PAGES]
    checks += [(f"{name} at {size} conversations", value, f"< {DESK_KB}", lambda v: v < DESK_KB)
               for size in sizes for name, value in scale["seconds"][size].items() if name.endswith("(KB)")]
    memory = "server peak after the desk (MiB)"
    if len(sizes) > 1 and memory in scale["ratios"][sizes[-1]]:
        checks.append((f"{memory}: {sizes[-1]} vs {sizes[-2]} conversations", scale["ratios"][sizes[-1]][memory],
                       f"≤ {MEMORY_SPREAD}×", lambda v: v <= MEMORY_SPREAD))
    return checks


def _scale_section(scale: dict | None) -> list[str]:
    if not scale:
        return []
    sizes = [str(n) for n in scale["sizes"]]
    names = list(scale["seconds"][sizes[0]])
    when = f" (measured {scale['date']}; machine: {one_line(scale['machine'])})" if "date" in scale else ""
    return [
        f"## Costs by stored conversations{when}", "",
        "Each instance filled through `Store` with real envelopes: a report and up to two more items "
        "per conversation, every fifth leaving two of four responders out. Seconds for each "
        "operation (HTTP exchanges as a client sees them; commands as a person runs them), and "
        "the ratio of each size to the one before.", "",
        "| operation | " + " | ".join(f"{int(n):,} (s)" for n in sizes) + " | "
        + " | ".join(f"{int(n):,}:{int(b):,}" for b, n in pairwise(sizes)) + " |",
        "|---|" + "---|" * (2 * len(sizes) - 1),
        *(f"| {name} | " + " | ".join(_or_failed(scale["seconds"][n][name]) for n in sizes) + " | "
          + " | ".join(_or_failed(scale["ratios"][n][name], "×") for n in sizes[1:]) + " |" for name in names),
        "", "A figure marked failed is an operation that refused at that size (the run's output says why).", "",
    ]


def _or_failed(value: float | None, unit: str = "") -> str:
    return "failed" if value is None else f"{value}{unit}"


def _met(met: bool | None) -> str:
    return {True: "yes", False: "**no**", None: "not measured"}[met]


def markdown(r: dict) -> str:
    up, off, prof = r["upload"], r["offline_opening"], r["upload_profile"]
    reporters, big, login = r["concurrency"]["reporters"], r["concurrency"]["large_uploads"], r["login"]
    lines = [
        f"# Benchmark results ({r['mode']} run, {r['date']})", "",
        f"Machine: {one_line(r['machine'])}.", "",
        "Written by `make bench`; every ratio compares figures taken in the same run on the same file.", "",
        "## Goals", "", "| measure | figure | goal | met |", "|---|---|---|---|",
        *(f"| {g['measure']} | {g['figure']} | {g['goal']} | {_met(g['met'])} |" for g in r["goals"]), "",
        *_peers_section(r.get("against_peers")),
        f"## Upload throughput ({up['file_mib']} MiB random file, 4 recipients, one run each)", "",
        "| path | MB/s | onion-dropbox's ratio to it |", "|---|---|---|",
        *(f"| {name} | {rate} | {up['ratios'].get('vs_' + name, '')} |" for name, rate in up["mb_per_s"].items()),
        "", "onion-dropbox: the real endpoint on loopback, the body streamed as a browser sends it; "
        "waitress's loop parses it as it arrives and each file part goes straight into the "
        "encrypting sink (one cipher pass, one disk write). plain_flask_waitress: a minimal "
        "Flask app saving the same file unencrypted, Flask and waitress at their defaults, in "
        "another step of the run (not taking turns). raw_floor: PyNaCl's secretstream from file "
        "to file without fsync; the floor the goals use is the encrypt-and-fsync one above "
        "(the same, then fsync, as our server does before it answers).", "",
        "## Server peak memory (VmHWM) after one upload, fresh server each", "",
        "| upload | peak MiB |", "|---|---|",
        *(f"| {size} | {mib} |" for size, mib in r["memory_peak_mib_by_upload"].items()), "",
        "## Concurrency", "",
        f"{reporters['reporters']} reporters at once (codename, message and 1 MiB file, log back in): "
        f"{reporters['submissions_per_second']} submissions/s over {reporters['wall_seconds']} s; "
        f"whole journey p50 {reporters['journey_seconds']['p50']} s, p95 {reporters['journey_seconds']['p95']} s; "
        f"submit p50 {reporters['submit_seconds']['p50']} s, p95 {reporters['submit_seconds']['p95']} s; "
        f"login p50 {reporters['login_seconds']['p50']} s, p95 {reporters['login_seconds']['p95']} s; "
        f"server peak {reporters['server_peak_mib']} MiB.", "",
        f"{big['uploads']} uploads of {big['file_mib']} MiB at once: {big['wall_seconds']} s; "
        f"server peak {big['peak_mib']} MiB (after the codenames, before the uploads: {big['before_peak_mib']} MiB).", "",
        "## Codename login", "",
        f"Median login over HTTP {login['median_login_seconds']} s, of which argon2id "
        f"{login['median_argon2id_seconds']} s (opslimit {login['argon2id']['opslimit']}, memlimit "
        f"{login['attacker_memory_per_guess_mib']:g} MiB): an attacker with the database and the "
        f"peppers pays {login['attacker_memory_per_guess_mib']:g} MiB and about "
        f"{login['median_argon2id_seconds']} core-seconds per guess "
        f"({login['attacker_guesses_per_second_per_core']} guesses/s per core).", "",
        "## Page weight (HTML + CSS + images)", "",
        "| page | bytes | requests | scripts |", "|---|---|---|---|",
        *(f"| {name} | {p['bytes']} | {p['requests']} | {p['scripts']} |" for name, p in r["pages"].items()), "",
        "## Offline opening (`keys open`, as the air-gap kit runs it)", "",
        *_offline_section(up["file_mib"], off),
        "## Where the upload's time goes (cProfile, 100 MiB upload, all server threads)", "",
        f"The upload took {prof['upload_seconds_under_profiler']} s under the profiler. Time in each "
        "stage, its callees included:", "",
        "| stage | seconds |", "|---|---|",
        *(f"| {'&nbsp;' * 2 * (len(label) - len(label.lstrip()))}{label.strip()} | {seconds} |"
          for label, seconds in prof["stages_seconds"].items()), "",
        "The busiest functions (their own time; waiting threads left out):", "",
        *_profile_table(prof["functions"]),
        "## Where `keys open`'s time goes (cProfile, the same bundle)", "",
        *_profile_table(off["profile"]),
        *_formats(r.get("formats")),
        *_scale_section(r.get("scale")),
    ]
    return "\n".join(lines)


def _formats(formats: dict | None) -> list[str]:
    if not formats:
        return []
    same, pad = formats["same_name_attachments"], formats["padding"]
    return ["## Format version 2: opening is linear, padding is small", "",
            "`keys open` of one conversation of N same-name attachments: "
            + ", ".join(f"N = {n}: {s} s" for n, s in same["seconds"].items())
            + f" ({same['ratio']}× the time for {same['items_ratio']}× the items).", "",
            f"Padmé padding (1 KiB floor) adds at most {pad['max_from_1KiB']:.2%} from 1 KiB "
            f"(mean {pad['mean_from_1KiB']:.2%}), at most {pad['max_from_1MiB']:.2%} from 1 MiB.", ""]


def _profile_table(rows: list[dict]) -> list[str]:
    return ["| function | seconds | share of busy time |", "|---|---|---|",
            *(f"| `{p['function']}` | {p['seconds']} | {p['share_of_busy']:.0%} |" for p in rows), ""]
