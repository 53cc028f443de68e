"""Helpers for the desk tests: a responder's credentials, logging in, finding the desk's URL.

Credentials come from the real `dropbox desk add-user` output; codes are
computed with pyotp from the secret in the printed otpauth:// URI, exactly as
a responder's authenticator app would.
"""
from __future__ import annotations

import re
import shutil
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


def parse_credentials(name: str, output: str) -> Login:
    password = re.search(r"^password: (.+)$", output, re.M)
    uri = re.search(r"(otpauth://\S+)", output)
    assert password is not None and uri is not None, output[:200]
    return Login(name, password.group(1).strip(), parse_qs(urlparse(uri.group(1)).query)["secret"][0])


def add_user(data, name: str, *extra: str) -> Login:
    return parse_credentials(name, dropbox("desk", "add-user", name, "--data", data, *extra).out)


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
