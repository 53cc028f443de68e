"""A new codename is held in server memory only until it is written down, and for a fixed time
at most, whether or not anyone asks for a page meanwhile (THREAT-MODEL.md: 15 minutes). It was
kept in the session until `/codename` was asked for again or the session idled out (an hour):
still there at 16, 50 and 62 minutes. Here the time is four seconds, through Flask's test client.
"""
from __future__ import annotations

import gc
import re
import time

import pytest

import dropbox.app
import dropbox.reporter
from dropbox.app import create_app
from dropbox.config import Config

HELD_SECONDS = 4  # long enough for two requests on a loaded 2-core machine


def _referred(codename: str) -> bool:
    """Whether any dict, list or tuple in this process (the server's sessions among them)
    still holds the codename. Containers of strings and numbers only are not tracked by gc:
    they are looked into from the containers that hold them."""
    def holds(thing, depth: int) -> bool:
        if type(thing) is str:
            return thing == codename
        if depth == 0 or not isinstance(thing, (dict, list, tuple)):
            return False
        values = list(thing.values()) if isinstance(thing, dict) else list(thing)
        return any(holds(value, depth - 1) for value in values)

    gc.collect()
    for thing in gc.get_objects():
        try:
            if isinstance(thing, (dict, list, tuple)) and holds(thing, 3):
                return True
        except RuntimeError:  # changed while looked at (another thread): look at the rest
            continue
    return False


@pytest.fixture
def client(instance, monkeypatch):
    monkeypatch.setattr(dropbox.reporter, "CODENAME_SHOWN_SECONDS", HELD_SECONDS)
    monkeypatch.setattr(dropbox.app, "CODENAME_SHOWN_SECONDS", HELD_SECONDS, raising=False)
    return create_app(Config.load(instance)).test_client()


def _start(client) -> str:
    landing = client.get("/").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', landing)
    assert token is not None, landing[:200]
    page = client.post("/start", data={"csrf_token": token.group(1)}, follow_redirects=True).text
    words = re.search(r'id="codename"[^>]*>(.*?)</ol>', page, re.S)
    assert words is not None, page[:200]
    return " ".join(re.findall(r"<li>([^<]+)</li>", words.group(1)))


def test_an_unconfirmed_codename_is_forgotten_in_time_with_no_request_meanwhile(client):
    codename = _start(client)
    assert len(codename.split()) == 8 and _referred(codename)  # held while it is written down
    time.sleep(HELD_SECONDS + 0.5)  # nobody asks for anything
    assert not _referred(codename)
    assert client.get("/codename").status_code == 302  # starting again loses nothing


def test_a_confirmed_or_replaced_codename_is_forgotten_at_once(client):
    first = _start(client)
    second = _start(client)  # "a different codename"
    assert not _referred(first) and _referred(second)
    page = client.get("/codename").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    confirmed = client.post("/codename", data={"csrf_token": token, "written_down": "y"})
    assert confirmed.status_code == 302 and confirmed.location.endswith("/report")
    assert not _referred(second)
