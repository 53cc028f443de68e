"""Each app answers only to its own onion address and to loopback.

A request naming any other host reached us through something in between, most often a
tor2web gateway: it sees everything a reporter (or a responder) sends and knows where they
are. Such a request gets a warning page (each app's tor2web.html) that names the real
address, never the app itself.
"""
from __future__ import annotations

import re

from flask import Flask, render_template, request

from dropbox.config import Config
from onion.service_key import ServiceKey

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]"})


def host_name(host: str) -> str:
    """`Host` without its port, lower-case: `abc.onion:80` -> `abc.onion`, `[::1]:8080` -> `[::1]`."""
    host = host.strip().lower().rstrip(".")
    return host.rpartition(":")[0] if re.search(r":\d*$", host) else host


def guard_hosts(app: Flask, config: Config, service: str) -> None:
    """`service`: whose onion address this app answers at, "site" or "desk"."""
    address = ServiceKey.load(config.onion_key_file(service)).address

    @app.before_request
    def refuse_other_hosts():
        name = host_name(request.host)
        if name in LOOPBACK_NAMES or name == address or name.endswith("." + address):
            return None
        return render_template("tor2web.html", address=address), 403
