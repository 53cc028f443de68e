"""Shared fixtures: real responder key files, a real instance, a real server process.

Nothing is mocked: keys are made with the `keys new` command (real argon2id
cost), the instance with `dropbox init`, and the server is `dropbox serve`
started as a subprocess on a loopback port, driven over HTTP. What the fixtures
stand on lives in tests/support (the benchmarks use it too); its names most test
modules need are importable from here as well.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import settings

from formclient import FormClient
from support.airgap import PASSPHRASE, TEAM, Airgap, opened_conversations
from support.commands import BIN, Run, dropbox, require_tool, run, unavailable
from support.instance import set_settings
from support.server import Server, start_server

# `make test-fast` runs hypothesis's tests with a tenth of their examples (--hypothesis-profile
# fast); each test's budget is a multiple of the profile's (test_fuzz_readers.py).
settings.register_profile("fast", max_examples=10)

__all__ = ["BIN", "PASSPHRASE", "TEAM", "Airgap", "Run", "Server", "dropbox", "opened_conversations",
           "require_tool", "run", "start_server", "unavailable"]


@pytest.fixture(scope="session")
def airgap(tmp_path_factory) -> Airgap:
    """Every responder's key pair, and their colleagues' keys pinned in trusted/ beside them."""
    folder = tmp_path_factory.mktemp("airgap")
    passphrase_file = folder / "passphrase.txt"
    passphrase_file.write_text(PASSPHRASE + "\n")
    for name in TEAM:
        dropbox("keys", "new", name, "--out", folder, "--passphrase-file", passphrase_file)
    dropbox("keys", "trust", *(folder / f"{name}.pub" for name in TEAM), "--trusted", folder / "trusted")
    return Airgap(folder, passphrase_file)


@pytest.fixture(scope="session")
def instance_template(tmp_path_factory, airgap) -> Path:
    """One instance made as an operator makes it (`init`, then `team add` per responder), once."""
    data = tmp_path_factory.mktemp("template") / "instance"
    dropbox("init", "--data", data, "--community", "Test community")
    for name in TEAM:
        dropbox("team", "add", name, airgap.pub(name), "--data", data)
    return data


@pytest.fixture
def instance(tmp_path, instance_template) -> Path:
    """A fresh copy of the template, modes kept: four CLI runs per test cost a third of the
    suite's time, and no test depends on its instance's secrets differing from another's."""
    data = tmp_path / "instance"
    shutil.copytree(instance_template, data, symlinks=True)
    return data


@pytest.fixture
def server(instance):
    running = start_server(instance)
    yield running
    running.stop()


@pytest.fixture
def reporter(instance) -> FormClient:
    """A reporter's browser on the reporter app in this process, no server: for what a route
    answers (support/inprocess.py). The store is prepared first, as `dropbox serve` does."""
    from dropbox.app import create_app
    from dropbox.config import Config
    from dropbox.storage import Store
    from support.inprocess import URL, in_process
    config = Config.load(instance)
    Store(config.database, config.store_dir, config.tmp_dir).prepare()
    return FormClient(URL, in_process(create_app(config)))


@pytest.fixture
def configured_server(instance, request):
    """The server on an instance whose settings the test names: parametrize it indirectly
    with a dict of config.toml values."""
    set_settings(instance, **request.param)
    running = start_server(instance)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser():
    """Chromium for a module's browser tests (see support/browser.py)."""
    from playwright.sync_api import sync_playwright

    from support.browser import CHROMIUM_ARGS, chromium_with_axe
    chromium = chromium_with_axe()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory, instance_template):
    """One server for a module's browser visits, on its own copy of the template instance."""
    data = tmp_path_factory.mktemp("browser") / "instance"
    shutil.copytree(instance_template, data, symlinks=True)
    running = start_server(data)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def mailbox():
    """A real SMTP server on loopback for a module: (its Mailbox, its port)."""
    from aiosmtpd.controller import Controller

    from support.mail import Mailbox, free_port
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield box, controller.port
    controller.stop()
