"""The benchmark runner: `python -m bench [--quick]` (or `make bench [QUICK=1]`).

Runs every measurement in one process, in a scratch folder removed at the
end, and writes bench/results.json (every figure, the goals and whether each
was met) and bench/RESULTS.md (the table the README quotes). `--only upload`,
`--only peers` and `--scale-only SIZES` rerun one part and merge it into the last run's results.
"""
from __future__ import annotations

import argparse
import datetime
import json
import shutil
import tempfile
from pathlib import Path

from bench import concurrency, formats, machine, pages, scale, upload
from bench.report import goals, markdown
from bench.rig import MiB, Rig

HERE = Path(__file__).parent
# 1023 MiB for OnionShare: its waitress refuses a body over 1 GiB (413), multipart framing included.
FULL = {"file": 1024 * MiB, "peer_sizes": [128 * MiB, 1023 * MiB], "memory_sizes": [10 * MiB, 100 * MiB], "reporters": 100, "big_uploads": 20,
        "conversations": [1000, 10000, 100000]}
QUICK = {"file": 100 * MiB, "peer_sizes": [16 * MiB, 100 * MiB], "memory_sizes": [10 * MiB], "reporters": 20, "big_uploads": 5,
         "conversations": [100, 1000]}


def run(quick: bool, scratch_parent: str | None) -> dict:
    plan = QUICK if quick else FULL
    scratch = Path(tempfile.mkdtemp(prefix="odbx-bench-", dir=scratch_parent))
    step = lambda text: print(f"bench: {text}", flush=True)  # noqa: E731
    try:
        rig = Rig.create(scratch)
        step("uploads against OnionShare and the encrypt-and-fsync floor, taking turns")
        against = upload.against_peers(rig, plan["peer_sizes"])
        step(f"upload of {plan['file'] // MiB} MiB against the peers, then opening it offline")
        throughput = upload.upload_throughput(rig, plan["file"])
        step("peak memory by upload size")
        memory = upload.memory_by_size(rig, plan["memory_sizes"])
        memory[f"{plan['file'] // MiB} MiB"] = throughput["memory"]["peak_mib"]
        step("where the upload's time goes (cProfile on the server)")
        profile = upload.profile_upload(rig)
        step(f"{plan['reporters']} reporters at once")
        reporters = concurrency.reporters_at_once(rig, plan["reporters"])
        step(f"{plan['big_uploads']} uploads of 100 MiB at once")
        big = concurrency.uploads_at_once(rig, plan["big_uploads"], 100 * MiB)
        step("login cost and page weight")
        login_and_pages = pages.login_cost(rig)
        step("format version 2: same-name attachments opened, padding overhead")
        format_costs = formats.measure()
        step(f"costs by stored conversations: {plan['conversations']}")
        by_size = scale.scale(rig, plan["conversations"])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    results = {
        "date": datetime.date.today().isoformat(), "mode": "quick" if quick else "full",
        "machine": machine.describe(),
        "upload": {k: v for k, v in throughput.items() if k != "offline"},
        "against_peers": against,
        "memory_peak_mib_by_upload": memory,
        "concurrency": {"reporters": reporters, "large_uploads": big},
        **login_and_pages,
        "offline_opening": throughput["offline"],
        "upload_profile": profile,
        "formats": format_costs,
        "scale": by_size,
    }
    results["goals"] = goals(results)
    return results


def run_scale(sizes: list[int], scratch_parent: str | None) -> dict:
    """Only the costs by stored conversations, put into the last run's results."""
    scratch = Path(tempfile.mkdtemp(prefix="odbx-bench-", dir=scratch_parent))
    try:
        by_size = scale.scale(Rig.create(scratch), sizes)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    results = json.loads((HERE / "results.json").read_text())
    results["scale"] = {**by_size, "date": datetime.date.today().isoformat(),
                        "machine": machine.describe()}
    results["goals"] = goals(results)
    return results


def run_upload(quick: bool, scratch_parent: str | None) -> dict:
    """Only the upload against its peers, offline opening and the profile, put into the last
    run's results."""
    plan = QUICK if quick else FULL
    scratch = Path(tempfile.mkdtemp(prefix="odbx-bench-", dir=scratch_parent))
    try:
        rig = Rig.create(scratch)
        throughput = upload.upload_throughput(rig, plan["file"])
        profile = upload.profile_upload(rig)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    results = json.loads((HERE / "results.json").read_text())
    results.update({"upload": {k: v for k, v in throughput.items() if k != "offline"},
                    "offline_opening": throughput["offline"], "upload_profile": profile})
    results["memory_peak_mib_by_upload"][f"{plan['file'] // MiB} MiB"] = throughput["memory"]["peak_mib"]
    results["goals"] = goals(results)
    return results


def run_peers(quick: bool, scratch_parent: str | None) -> dict:
    """Only the uploads against OnionShare and the floor, put into the last run's results."""
    plan = QUICK if quick else FULL
    scratch = Path(tempfile.mkdtemp(prefix="odbx-bench-", dir=scratch_parent))
    try:
        against = upload.against_peers(Rig.create(scratch), plan["peer_sizes"])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    results = json.loads((HERE / "results.json").read_text())
    results["against_peers"] = {**against, "date": datetime.date.today().isoformat(),
                                "machine": machine.describe()}
    results["goals"] = goals(results)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 MiB instead of 1 GiB, fewer reporters")
    parser.add_argument("--scratch", help="where the large temporary files go [default: the temp dir]")
    parser.add_argument("--scale-only", metavar="SIZES",
                        help="only the costs by stored conversations, at these sizes (e.g. 1000,10000), "
                             "merged into the last run's results")
    parser.add_argument("--only", choices=["upload", "peers"],
                        help="only this part (upload: the upload against its peers, offline opening, "
                             "the profile; peers: against OnionShare and the floor, taking turns), "
                             "merged into the last run's results")
    args = parser.parse_args()
    if args.only == "upload":
        results = run_upload(args.quick, args.scratch)
    elif args.only == "peers":
        results = run_peers(args.quick, args.scratch)
    elif args.scale_only:
        results = run_scale([int(n) for n in args.scale_only.split(",")], args.scratch)
    else:
        results = run(args.quick, args.scratch)
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (HERE / "RESULTS.md").write_text(markdown(results))
    print((HERE / "RESULTS.md").read_text())


if __name__ == "__main__":
    main()
