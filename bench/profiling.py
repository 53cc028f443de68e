"""Where the time goes: cProfile in every thread of the real server, for the benchmarks only.

`python -m bench.profiling STATS serve --data ...` runs `dropbox serve` with a
profiler in the main thread (waitress's loop, which reads request bodies into
the spool) and in each worker thread (the app), and writes the merged stats
to STATS when it is stopped with SIGTERM. The app itself knows nothing of it.
`summary` turns stats into the lines the results file quotes.
"""
from __future__ import annotations

import cProfile
import pstats
import signal
import sys
import threading
from pathlib import Path

import click

ROOT = str(Path(__file__).resolve().parents[1]) + "/"


def serve_profiled(stats_path: str, args: list[str]) -> None:
    profiles: list[cProfile.Profile] = []

    def profile_this_thread(_frame, _event, _arg):
        # Enabling a profiler replaces this hook for the thread that called it.
        profile = cProfile.Profile()
        profiles.append(profile)
        profile.enable()

    def stop(_signum, _frame):
        raise KeyboardInterrupt

    threading.setprofile(profile_this_thread)
    signal.signal(signal.SIGTERM, stop)
    main = cProfile.Profile()
    main.enable()
    try:
        from dropbox.cli import cli
        cli(args, standalone_mode=False)
    except (KeyboardInterrupt, click.Abort):
        pass
    finally:
        main.disable()
        stats = pstats.Stats(main)
        for profile in profiles:
            stats.add(profile)
        stats.dump_stats(stats_path)


def summary(stats_path: str, top: int = 12) -> list[dict]:
    """The functions that spent the most time themselves, with their share of all of it."""
    stats = pstats.Stats(stats_path)
    total = sum(row[2] for row in stats.stats.values())
    # Threads waiting for work or for the socket are not where the upload's time goes.
    idle = ("wait", "acquire", "select", "poll", "sleep")
    rows = sorted(((func, row[2]) for func, row in stats.stats.items()
                   if not any(word in func[2] for word in idle)), key=lambda r: -r[1])
    busy = sum(seconds for _, seconds in rows)
    return [{"function": f"{_short(func[0])}:{func[2]}", "seconds": round(seconds, 2),
             "share_of_busy": round(seconds / busy, 3)} for func, seconds in rows[:top]] \
        if total else []


def stages(stats_path: str, named: dict[str, tuple[str, str]]) -> dict[str, float]:
    """Seconds spent in (and under) each named function: {label: (file ending, function)}."""
    stats = pstats.Stats(stats_path).stats
    return {label: round(sum(row[3] for func, row in stats.items()
                             if func[0].endswith(ending) and func[2] == name), 2)
            for label, (ending, name) in named.items()}


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/lib/python3"):
        if marker in filename:
            return filename.split(marker)[-1]
    return filename.removeprefix(ROOT)


if __name__ == "__main__":
    serve_profiled(sys.argv[1], sys.argv[2:])
