"""A new instance presents its own community from its first start: `dropbox init` takes (or asks
for) the community's name and its responders' organisations, `serve` refuses an instance still
presenting the example community, and a demo says on every page that it is one."""
from __future__ import annotations

import os
import pty
import subprocess

from click.testing import CliRunner, Result

from dropbox.app import create_app
from dropbox.cli import cli
from dropbox.config import Config
from dropbox.practice import EXAMPLE, Practice
from dropbox.storage import Store
from formclient import FormClient
from support.inprocess import URL, in_process

from conftest import BIN, TEAM, dropbox

EXAMPLE_COMMUNITY = Practice.load(EXAMPLE).community


def _pages(data) -> FormClient:
    config = Config.load(data)
    Store(config.database, config.store_dir, config.tmp_dir).prepare()
    return FormClient(URL, in_process(create_app(config)))


def _add_team(data, airgap) -> None:
    for name in TEAM:
        dropbox("team", "add", name, airgap.pub(name), "--data", data)


def _serve(data) -> Result:
    return CliRunner().invoke(cli, ["serve", "--data", str(data), "--tor", "off", "--port", "0"])


def test_init_takes_the_community_and_organisations_and_the_pages_show_them(tmp_path, airgap):
    data = tmp_path / "instance"
    dropbox("init", "--data", data, "--community", "Rust Belt Hackers",
            "--organisation", "alexandra=Bridge Lab", "--organisation", "bahaa=")
    _add_team(data, airgap)
    landing = _pages(data).get("/").text
    assert "Rust Belt Hackers response team" in landing and EXAMPLE_COMMUNITY not in landing
    practice = Config.load(data).practice
    assert practice.organisations == (("alexandra", "Bridge Lab"), ("bahaa", ""))
    # mario is named like one of the example's responders: no organisation of theirs follows.
    assert practice.organisation("mario") == "" and not practice.demo


def test_init_asks_for_the_community_when_run_by_a_person(tmp_path):
    data = tmp_path / "instance"
    controller, terminal = pty.openpty()
    os.write(controller, b"Lisbon Mesh\nana=Casa\nnot a name\n\n")
    proc = subprocess.run([str(BIN / "dropbox"), "init", "--data", str(data)], stdin=terminal,
                          capture_output=True, text=True, timeout=120, check=False)
    os.close(terminal)
    os.close(controller)
    assert proc.returncode == 0, proc
    practice = Config.load(data).practice
    assert (practice.community, practice.organisations) == ("Lisbon Mesh", (("ana", "Casa"),))
    assert "is not NAME=ORGANISATION" in proc.stdout  # asked again, nothing lost


def test_serve_refuses_an_instance_still_presenting_the_example_community(tmp_path, airgap):
    data = tmp_path / "instance"
    made = dropbox("init", "--data", data)  # no terminal to ask on, no option: the example
    assert EXAMPLE_COMMUNITY in made.err and "code-of-practice.toml" in made.err
    _add_team(data, airgap)
    refused = _serve(data)
    assert refused.exit_code == 1, refused.output
    line, = refused.output.strip().splitlines()
    assert f"example community ({EXAMPLE_COMMUNITY})" in line
    assert str(data.resolve() / "code-of-practice.toml") in line and "init --demo" in line


def test_a_demo_says_on_its_pages_that_it_is_a_demo(tmp_path, airgap):
    data = tmp_path / "instance"
    dropbox("init", "--data", data, "--demo")
    _add_team(data, airgap)
    pages = _pages(data)
    for path in ("/", "/login"):
        assert "This is a demonstration site" in pages.get(path).text
    assert Config.load(data).practice.demo


def test_a_real_instance_does_not_say_it_is_a_demo(instance):
    assert "demonstration" not in _pages(instance).get("/").text


def test_bad_community_options_are_refused_in_one_line_and_nothing_is_made(tmp_path):
    for args, words in ((["--organisation", "ana"], "NAME=ORGANISATION"),
                        (["--community", "X", "--organisation", "Ana Maria=Org"], "not a usable name"),
                        (["--community", " "], "empty"),
                        (["--demo", "--community", "X"], "--demo")):
        said = dropbox("init", "--data", tmp_path / "instance", *args, check=False)
        assert said.code == 2 and words in said.err and "Traceback" not in said.err, (args, said)
        assert not (tmp_path / "instance").exists()
