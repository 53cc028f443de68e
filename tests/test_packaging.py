"""What an operator installs: `make dist`'s wheel, alone, from the hash-pinned runtime lock.

The wheel must be a complete server without the test tools: compiled catalogues (so an Arabic
page is in Arabic), the example code of practice, the codename wordlist, `dropbox --version`.
The sdist carries no compiled catalogue: a wheel built from it compiles its own.
"""
from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
import requests

from conftest import start_server

ROOT = Path(__file__).parent.parent
ARABIC_START = "ابدأ بلاغاً جديداً"  # "Start a new report", from ar/LC_MESSAGES/messages.po


def _run(*args, **kwargs) -> str:
    proc = subprocess.run([str(a) for a in args], capture_output=True, check=False, text=True, timeout=600,
                          **kwargs)
    assert proc.returncode == 0, proc
    return proc.stdout


@pytest.mark.slow
def test_wheel_from_the_lock_alone_is_a_complete_server_in_arabic(tmp_path):
    dist = tmp_path / "dist"
    _run("make", "-s", "dist", f"DIST={dist}", cwd=ROOT)
    wheel, = dist.glob("*.whl")
    sdist, = dist.glob("*.tar.gz")
    names = zipfile.ZipFile(wheel).namelist()
    for needed in ("dropbox/translations/ar/LC_MESSAGES/messages.mo", "keys/eff_large_wordlist.txt",
                   "dropbox/examples/code-of-practice.toml", "dropbox/desk/templates/login.html"):
        assert needed in names
    assert not [n for n in names if n.startswith(("tests/", "bench/"))]
    with tarfile.open(sdist) as archive:
        assert not [n for n in archive.getnames() if n.endswith(".mo")]

    # A wheel built from the sdist, offline, with no compiled catalogue in sight.
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path / "src", filter="data")
    source, = (tmp_path / "src").iterdir()
    _run(sys.executable, "-c", "import sys, setuptools.build_meta as b; b.build_wheel(sys.argv[1])",
         tmp_path / "from-sdist", cwd=source)
    wheel, = (tmp_path / "from-sdist").glob("*.whl")

    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv)
    pip = [venv / "bin" / "python", "-m", "pip", "--disable-pip-version-check", "-q", "install"]
    _run(*pip, "--require-hashes", "-r", ROOT / "requirements" / "base.lock")
    _run(*pip, "--no-deps", wheel)
    installed = _run(venv / "bin" / "python", "-m", "pip", "list", "--format=freeze")
    assert "pytest" not in installed and "playwright" not in installed
    dropbox = venv / "bin" / "dropbox"
    assert re.fullmatch(r"onion-dropbox \S+ \(instance version \d+\)\n",
                        _run(dropbox, "--version"))

    data = tmp_path / "instance"
    _run(dropbox, "init", "--data", data, "--community", "Test community")
    keys = tmp_path / "keys"
    passphrase = tmp_path / "passphrase"
    passphrase.write_text("a passphrase for the packaging test\n")
    _run(dropbox, "keys", "new", "alexandra", "--out", keys, "--passphrase-file", passphrase)
    _run(dropbox, "team", "add", "alexandra", keys / "alexandra.pub", "--data", data)
    server = start_server(data, launcher=[str(dropbox)])
    try:
        page = requests.get(server.url, headers={"Accept-Language": "ar"}, timeout=30)
        assert page.status_code == 200
        assert 'dir="rtl"' in page.text and ARABIC_START in page.text
    finally:
        server.stop()


def test_lock_files_name_no_machine_of_ours():
    """An operator installs from base.lock on their own server: a lock that names our build
    machine's folders or indexes makes pip warn about each of them, or fetch from a place the
    operator never chose. Where packages come from is pip's own setting (index, --find-links
    on the command line), never the lock's."""
    for lock in (*(ROOT / "requirements").glob("*.lock"), ROOT / "dropbox" / "airgap" / "kit.lock"):
        options = [line for line in lock.read_text().splitlines() if line.startswith("-")]
        assert options == [], f"{lock.name} carries pip options: {options}"
