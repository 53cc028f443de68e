"""Each app answers only to its own onion address and to loopback.

A request naming any other host reached us through something in between, most often a
tor2web gateway: it sees everything a reporter (or a responder) sends and knows where they
are. Such a request gets a warning page (each app's tor2web.html) that names the real
address, never the app itself.

A Host no URL can be built for (an empty label: `a..b`, `..`; a label over 63 characters)
gets a plain 400 before the app sees it, on the site and the desk: Werkzeug refuses to bind
such a host, and every page, error pages included, builds its links from it.
"""
from __future__ import annotations

import re

from flask import Flask, render_template, request
from werkzeug.exceptions import BadHost

from dropbox.config import Config
from dropbox.headers import HEADERS
from onion.service_key import ServiceKey

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]"})
UNREADABLE_HOST = b"This address could not be understood. Please check it and try again.\n"


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


def refuse_unreadable_hosts(app: Flask):
    """`app`'s WSGI callable behind a plain 400 for a Host its URL map cannot bind."""
    def guarded(environ, start_response):
        try:
            app.url_map.bind_to_environ(environ)
        except BadHost:
            start_response("400 Bad Request", [("Content-Type", "text/plain; charset=utf-8"),
                                               ("Content-Length", str(len(UNREADABLE_HOST))),
                                               *HEADERS.items()])
            return [UNREADABLE_HOST]
        return app(environ, start_response)
    return guarded
