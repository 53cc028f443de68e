"""The machine a run was measured on: every figure is only meaningful beside it."""
from __future__ import annotations

import os
import platform
from importlib import metadata

from bench.peers import versions

LIBRARIES = ("PyNaCl", "Flask", "Werkzeug", "waitress", "Flask-WTF", "requests")


def load() -> str:
    """The load average when a figure was taken: the machine is shared."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"


def describe() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.machine())
    memory_kib = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    return {"cores": os.cpu_count(), "cpu": cpu, "memory_gib": round(memory_kib / (1 << 20), 1),
            "kernel": platform.release(), "python": platform.python_version(),
            "libraries": {name: metadata.version(name) for name in LIBRARIES},
            "tools": versions(), "load": load()}


def one_line(machine: dict) -> str:
    libraries = ", ".join(f"{k} {v}" for k, v in machine["libraries"].items())
    return (f"{machine['cores']} cores ({machine['cpu']}), {machine['memory_gib']} GiB, "
            f"Linux {machine['kernel']}, Python {machine['python']}; {libraries}; "
            f"{'; '.join(v if k in v else f'{k} {v}' for k, v in machine['tools'].items())}"
            + (f"; {machine['load']} at the start" if "load" in machine else ""))
