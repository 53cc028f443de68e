"""Codename login cost and page weight, measured on a real server.

Login: the median wall time of logging in with a codename over HTTP, and of
the argon2id stretch alone, with the instance's parameters; the memory an
attacker must give each guess is argon2id's memlimit.
Page weight: each page with everything it makes a browser fetch (styles,
images, scripts), as bytes of body and number of requests.
"""
from __future__ import annotations

import shutil
import statistics
import time
from html.parser import HTMLParser
from urllib.parse import urljoin

from bench.rig import Rig
from dropbox import scripts_warning
from dropbox.config import Config
from formclient import FormClient
from keys import codename as codenames
from uploads import ReportSession

LOGINS = 9


def login_cost(rig: Rig) -> dict:
    instance = rig.instance("login")
    config = Config.load(instance)
    server = rig.server(instance)
    try:
        session = ReportSession.start(server.url)
        page = session.client.submit(session.client.get("/report"), "Send the report",
                                     fill={"message": "a report to log back in to"})
        if page.status != 200:
            raise RuntimeError("the report to log back in to was not stored")
        walls = []
        for _ in range(LOGINS):
            client = FormClient(server.url)
            form = client.get("/login")
            started = time.perf_counter()
            page = client.submit(form, "Log in", fill={"codename": session.codename})
            walls.append(time.perf_counter() - started)
            if not page.url.endswith("/conversation"):
                raise RuntimeError("logging in with the codename failed")
        weights = {"landing page": session.client.get("/")}
        start = FormClient(server.url)
        codename_page = start.submit(start.get("/"), "Start a new report")
        weights["codename page"] = codename_page
        weights["report form"] = start.submit(codename_page, "Continue", fill={"written_down": "y"})
        weight = {name: page_weight(start, page) for name, page in weights.items()}
    finally:
        server.stop()
    stretches = []
    phrase = codenames.new_codename()
    for _ in range(LOGINS):
        started = time.perf_counter()
        codenames.derive(phrase, config.peppers, config.codename_cost)
        stretches.append(time.perf_counter() - started)
    shutil.rmtree(instance)
    cost = config.codename_cost
    return {"login": {"median_login_seconds": round(statistics.median(walls), 3),
                      "median_argon2id_seconds": round(statistics.median(stretches), 3),
                      "argon2id": {"opslimit": cost.opslimit, "memlimit_bytes": cost.memlimit},
                      "attacker_memory_per_guess_mib": cost.memlimit / (1 << 20),
                      "attacker_guesses_per_second_per_core": round(1 / statistics.median(stretches), 1)},
            "pages": weight}


class _Subresources(HTMLParser):
    """What a browser would fetch for a page: stylesheets, images, scripts, icons."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[str] = []  # each script's inline text ("" for one from an address)
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self.scripts.append("")
            self._in_script = not attrs.get("src")
        if tag in ("img", "script", "source", "iframe") and attrs.get("src"):
            self.urls.append(attrs["src"])
        if tag == "link" and attrs.get("href") and \
                {"stylesheet", "icon", "preload"} & set((attrs.get("rel") or "").split()):
            self.urls.append(attrs["href"])
        if tag == "input" and attrs.get("type") == "image" and attrs.get("src"):
            self.urls.append(attrs["src"])

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False


def page_weight(client: FormClient, page) -> dict:
    found = _Subresources()
    found.feed(page.response.text)
    urls = sorted({urljoin(page.url, u) for u in found.urls})
    sizes = [len(page.response.content)] + [len(client.http.get(u, timeout=60).content) for u in urls]
    return {"bytes": sum(sizes), "kb": round(sum(sizes) / 1000, 1), "requests": len(sizes),
            "scripts": len(found.scripts),
            # The site's one script only unhides the warning that scripts are running
            # (dropbox/scripts_warning.py); any other would be a script the page needs.
            "other_scripts": sum(text != scripts_warning.SCRIPT for text in found.scripts),
            "fetched": [u.rsplit("/", 1)[-1] for u in urls]}
