"""The air-gap kit: everything a responder's offline machine needs, carried on a USB stick.

`dropbox airgap-kit --out DIR` writes the `keys` tools (standard library and PyNaCl only),
PyNaCl and its two dependencies as wheels for each Python the offline systems ship (3.11 on
Debian 12 and Tails 6, 3.13 on Debian 13 and Tails 7; x86-64), pinned by hash in `kit.lock`
(the same versions as requirements/base.lock), an install script that uses no network and
no pip (it unpacks the wheels, which are zip files), a one-page guide, and SHA256SUMS. The
SHA-256 of SHA256SUMS is the one figure the team compares over a second channel.
"""
from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import keys

HERE = Path(__file__).parent
LOCK = HERE / "kit.lock"
PYTHONS = ("3.11", "3.13")
# PyNaCl 1.6 ships manylinux_2_28 wheels, cffi manylinux2014: glibc 2.28 or later (Debian 12: 2.36).
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux2014_x86_64", "manylinux_2_17_x86_64")


class KitError(Exception):
    """The kit could not be built; the message says why."""


def build_kit(out: Path, pythons: tuple[str, ...] = PYTHONS) -> str:
    """Write the kit to `out` (absent or empty); returns the SHA-256 of its SHA256SUMS."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise KitError(f"{out} exists and is not empty")
    wheels = out / "wheels"
    wheels.mkdir(parents=True)
    for version in pythons:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                   "--only-binary=:all:", "--no-deps", "--require-hashes", "-r", str(LOCK),
                   "--implementation", "cp", "--python-version", version, "-d", str(wheels)]
        command += [f"--platform={platform}" for platform in PLATFORMS]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise KitError(f"cannot download PyNaCl's wheels for Python {version}: {last}")
    shutil.copytree(Path(keys.__file__).parent, out / "keys",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("install.sh", "GUIDE.md"):
        shutil.copy(HERE / name, out / name)
    (out / "install.sh").chmod(0o755)
    sums = "".join(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.relative_to(out)}\n"
                   for path in sorted(out.rglob("*")) if path.is_file())
    (out / "SHA256SUMS").write_text(sums)
    return hashlib.sha256(sums.encode()).hexdigest()
