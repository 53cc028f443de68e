"""What the operator's commands print, read by someone who is not a developer: plain words,
only options that exist, and nothing announced before it has happened."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

from click.testing import CliRunner

from dropbox import migrations
from dropbox.cli import cli

FIXTURES = Path(__file__).parent / "fixtures"


def invoke(*args) -> tuple[int, str]:
    said = CliRunner().invoke(cli, [str(a) for a in args])
    return said.exit_code, said.output


def test_upgrade_says_what_each_step_did_in_plain_words(tmp_path):
    data = tmp_path / "instance"
    shutil.copytree(FIXTURES / "v0.1.0" / "instance", data)
    code, said = invoke("upgrade", "--data", data)
    assert code == 0, said
    for step in migrations.STEPS:
        assert step.__name__ not in said
        assert migrations.DONE[step] in said
    # No internal identifier (words joined by underscores) reaches the operator.
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", said.replace(str(data.resolve()), "DIR")), said
