"""docs/OPERATING.md stays true: every `dropbox` command it tells an operator to type exists,
with every option it uses. (The steps themselves are run by the tests its last table names.)"""
from __future__ import annotations

import re
import shlex
from pathlib import Path

from conftest import dropbox

DOC = Path(__file__).parent.parent / "docs" / "OPERATING.md"
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
