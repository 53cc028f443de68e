"""Helpers for the desk tests: a responder's credentials, logging in, finding the desk's URL.

An account comes from the real `dropbox desk add-user`, whose enrolment code is then used
as the desk's enrolment page uses it (`accounts.enrol`: tests/test_desk_enrolment.py goes
through the page itself); codes are computed with pyotp from the secret, exactly as a
responder's authenticator app would.
"""
from __future__ import annotations

import re
import shutil
import secrets
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

import pyotp

from pathlib import Path

from support.commands import dropbox
from support.server import Server
from formclient import FormClient, Page


@dataclass(frozen=True)
class Login:
    name: str
    password: str
    secret: str

    def code(self, steps_ahead: int = 0) -> str:
        """The authenticator's code now, or that many 30-second steps ahead (or behind)."""
        return pyotp.TOTP(self.secret).at(time.time() + 30 * steps_ahead)


def parse_enrolment_code(output: str) -> str:
    """The code `desk add-user` or `desk reset-user` printed."""
    found = re.search(r"^enrolment code for \S+: (\S+)$", output, re.M)
    assert found is not None, output[:300]
    return found.group(1)


def enrol(data, name: str, code: str) -> Login:
    """Use an enrolment code as the responder would: their own passphrase and TOTP secret,
    confirmed with a code from it. Then as if that were a while ago: every code of the last
    minute still logs in once, as for an account made before the test."""
    from dropbox.config import Config
    from dropbox.desk import accounts
    from dropbox.storage import Store
    config = Config.load(Path(data))
    store = Store(config.database, config.store_dir, config.tmp_dir)
    passphrase, secret = f"{name}'s own passphrase {secrets.token_hex(4)}", accounts.new_totp_secret()
    accounts.enrol(config, store, code, passphrase, passphrase, secret, pyotp.TOTP(secret).now())
    store.desk.update_account(name, last_otp_step=0)
    return Login(name, passphrase, secret)


def add_user(data, name: str, *extra: str) -> Login:
    """A desk account for `name`, enrolled."""
    return enrol(data, name, parse_enrolment_code(
        dropbox("desk", "add-user", name, "--data", data, *extra).out))


def secret_of(uri: str) -> str:
    return parse_qs(urlparse(uri).query)["secret"][0]


def new_instance(folder: Path, template: Path) -> Path:
    """A fresh instance in `folder` with the whole test team on it (module fixtures share one):
    a copy of the session's template instance (conftest), modes kept."""
    data = folder / "instance"
    shutil.copytree(template, data, symlinks=True)
    return data


def desk_url(server: Server) -> str:
    """The desk's address, from the line `dropbox serve` prints for it."""
    for _ in range(300):
        for line in server.log:
            found = re.search(r"responder desk on (http://127\.0\.0\.1:\d+/)", line)
            if found:
                return found.group(1)
        time.sleep(0.1)
    raise AssertionError("the desk did not start:\n" + "".join(server.log))


def desk_login(url: str, login: Login, password: str | None = None,
               code: str | None = None) -> tuple[FormClient, Page]:
    client = FormClient(url)
    page = client.submit(client.get("login"), "Log in", fill={
        "username": login.name, "password": login.password if password is None else password,
        "otp": login.code() if code is None else code})
    return client, page


def designations(page: Page) -> list[str]:
    return [n.attrs["id"] for n in page.by_class("conversation")]
