"""docs/OPERATING.md stays true: every `dropbox` command it tells an operator to type exists,
with every option it uses. (The steps themselves are run by the tests its last table names.)"""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

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
