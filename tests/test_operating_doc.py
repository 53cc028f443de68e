"""docs/OPERATING.md stays true: every `dropbox` command it tells an operator to type exists,
with every option it uses, and its lines from `make dist` to a first reply run as written
(the other steps are run by the tests its last table names)."""
from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import PASSPHRASE, dropbox, require_tool, start_server
from support.reporter import log_in, new_report

ROOT = Path(__file__).parent.parent
DOC = ROOT / "docs" / "OPERATING.md"
PREFIXES = ("$D ", "dropbox ", "/opt/onion-dropbox/bin/dropbox ")


def _commands() -> list[list[str]]:
    found = []
    for block in re.findall(r"```sh\n(.*?)```", DOC.read_text(), re.S):
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            for prefix in PREFIXES:
                if line.startswith(prefix):
                    found.append(shlex.split(line[len(prefix):].replace("$(date +%F)", "DATE")))
    return found


@pytest.mark.slow
def test_every_command_in_operating_md_exists_with_its_options():
    commands = _commands()
    assert len(commands) >= 12
    helps: dict[tuple[str, ...], str] = {(): dropbox("--help").out}
    for words in commands:
        path = []
        for word in words:
            probe = tuple(path + [word])
            if word.startswith("-") or probe in helps:
                if word.startswith("-"):
                    break
                path.append(word)
                continue
            said = dropbox(*probe, "--help", check=False)
            if said.code != 0 or "Usage:" not in said.out:
                break
            helps[probe] = said.out
            path.append(word)
        usage = helps[tuple(path)]
        for option in (w.split("=")[0] for w in words if w.startswith("--")):
            assert option in usage, (words, option)


def test_every_systemd_analyze_security_works_without_a_booted_systemd():
    """Without --offline=true it asks the running systemd, which a container or a fresh
    install may not have."""
    text = " ".join(DOC.read_text().split())
    uses = re.findall(r"systemd-analyze security[^`]*", text)
    assert uses and all("--offline=true" in use for use in uses), uses


def test_operating_tells_each_responder_to_pin_every_colleague_before_replying():
    text = DOC.read_text()
    pinning = re.search(r"each responder pins every colleague's key.*?```sh\n(.*?)```", text, re.S | re.I)
    assert pinning and re.search(r"keys trust (\S+\.pub ){2,}--trusted", pinning.group(1)), pinning


def test_the_kit_guide_and_operating_say_how_to_open_hostile_attachments():
    guide = (Path(__file__).parent.parent / "dropbox" / "airgap" / "GUIDE.md").read_text()
    assert "--scrub" in guide and "mat2" in guide
    for text in (guide, DOC.read_text()):
        for way in ("Dangerzone", "disposable virtual machine", "Tails"):
            assert way in text, way


# The guide's commands, run as an operator and a responder would type them, on this machine:
# only the places change (a temporary folder for /opt, /var/lib, the USB stick and the offline
# machine's home) and the demo team's names stand in for the guide's alice, bob and carol.
NAMES = {"alice": "alexandra", "bob": "bahaa", "carol": "mario"}


def _shell_lines() -> list[str]:
    """Every line of the guide's `sh` blocks, continuation lines joined, comments dropped."""
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", DOC.read_text(), re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line:
                lines.append(line)
    return lines


def _line(*words: str) -> str:
    found = [line for line in _shell_lines() if all(word in line for word in words)]
    assert found, f"OPERATING.md has no command with {words}"
    return found[0]


class Operator:
    """Runs the guide's lines with the places of this test."""

    def __init__(self, root: Path):
        self.root = root
        self.opt, self.data = root / "opt", root / "var" / "onion-dropbox"
        self.usb, self.home = root / "usb", root / "home"
        for folder in (self.usb, self.home / "odbx-keys"):
            folder.mkdir(parents=True)
        (self.home / "passphrase").write_text(PASSPHRASE + "\n")

    def command(self, line: str, **words: str) -> str:
        dropbox = f"{self.opt}/bin/dropbox"
        line = line.replace("$D ", f"{dropbox} ").replace("/opt/onion-dropbox", str(self.opt))
        line = line.replace("/var/lib/onion-dropbox", str(self.data)).replace("/media/usb", str(self.usb))
        line = line.replace("~/", f"{self.home}/")
        if line.startswith("keys "):  # the kit's `keys` is `dropbox keys` where the wheel is installed
            line = f"{dropbox} {line}"
            if line.split()[2] in ("new", "open", "reply"):  # they ask for it; here it is in a file
                line += f" --passphrase-file {self.home / 'passphrase'}"
        for word, value in {**NAMES, **words}.items():
            line = re.sub(rf"\b{word}\b", value, line)
        return line

    def run(self, line: str, cwd: Path | None = None, codes=(0,), **words: str) -> str:
        proc = subprocess.run(["sh", "-c", self.command(line, **words)], cwd=cwd or self.root,
                              capture_output=True, text=True, timeout=600, check=False)
        assert proc.returncode in codes and "Traceback" not in proc.stderr, (line, proc)
        return proc.stdout + proc.stderr


@pytest.mark.slow
def test_an_operator_follows_operating_md_from_make_dist_to_a_first_reply(tmp_path):
    you = Operator(tmp_path)
    # 1. Build on a machine with the source; install the wheel from the runtime lock alone.
    subprocess.run(["make", "dist", f"DIST={tmp_path / 'dist'}"], cwd=ROOT, check=True,
                   capture_output=True, timeout=600)
    server = tmp_path / "server"
    server.mkdir()
    shutil.copy(ROOT / "requirements" / "base.lock", server)
    for wheel in (tmp_path / "dist").glob("*.whl"):
        shutil.copy(wheel, server)
    for line in ("python3 -m venv", "pip install --require-hashes -r base.lock",
                 "pip install --no-deps onion_dropbox-*.whl", "dropbox --version"):
        said = you.run(_line(line), cwd=server)
    assert "onion-dropbox" in said
    installed = subprocess.run([str(you.opt / "bin" / "pip"), "list", "--format=freeze"],
                               capture_output=True, text=True, check=True).stdout.lower()
    assert "pytest" not in installed and "playwright" not in installed and "aiosmtpd" not in installed

    # 3. The instance, as the unprivileged user would make it (runuser and umask are the system's).
    init = re.search(r"sh -c '(.*)'", _line("dropbox init")).group(1)
    you.run(init)
    assert 'community = "Your Community"' in (you.data / "code-of-practice.toml").read_text()

    # 4. Each responder makes a key offline (section 9's guide) and pins the others'.
    for name in NAMES.values():
        you.run(f"keys new {name} --out ~/odbx-keys")
    you.run(_line("keys trust"), cwd=you.home / "odbx-keys")
    assert ".onion" in you.run(_line("onion address"))
    for name in NAMES.values():
        you.run(_line("team add NAME"), cwd=you.home / "odbx-keys", NAME=name)
        you.run(_line("desk add-user NAME"), NAME=name)
        you.run(_line("desk-access add NAME"), NAME=name)
    said = you.run(_line("$D status"), codes=(0, 1))  # no tor here: its problem is said, nothing else
    assert all("tor" in line for line in said.splitlines() if line.startswith("PROBLEM"))

    # The first report (systemd would start serve; here it serves on loopback) and the first reply.
    running = start_server(you.data, launcher=[str(you.opt / "bin" / "dropbox")])
    try:
        codename, _ = new_report(running, "A test report from the operator.")
        you.run(_line("$D export"))
        require_tool("mat2")  # `keys open --scrub`
        opened = you.run(_line("keys open"))
        designation = re.search(r"^(\S+)\s+[0-9a-f]{32}", opened, re.M).group(1)
        (tmp_path / "answer.txt").write_text("Thank you: we have read your report.\n")
        you.run(_line("keys reply"), DESIGNATION=designation)
        assert "stored 1" in you.run(_line("$D import-replies"))
        _, page = log_in(running, codename)
        assert "Thank you: we have read your report." in page.text and "alexandra" in page.text
    finally:
        running.stop()
