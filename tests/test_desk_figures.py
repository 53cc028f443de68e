"""A left-out responder learns nothing from the desk: no page of theirs moves with conversations
that leave them out -- not the warnings (the disk filling, reports waiting unread), not the
audit. Through Flask's test client; the conversations are stored through the `Store` API with
real envelopes (tests/stored.py), as the reporter site stores them.
"""
from __future__ import annotations

import datetime
import re
import sqlite3

import pytest

from conftest import dropbox
from deskclient import Login, add_user
from dropbox.config import Config
from dropbox.desk.app import create_desk_app
from dropbox.health import unread_for, unread_of
from stored import _conversation, _stage
from keys.envelope import Binding
from keys.items import ItemMeta

LONG_AGO = (datetime.date.today() - datetime.timedelta(days=30)).isoformat()


class Responder:
    """One responder logged in to the desk through the test client."""

    def __init__(self, app, login: Login):
        self.client = app.test_client()
        page = self.client.get("/login").text
        found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert found is not None, page[:200]
        token = found.group(1)
        answer = self.client.post("/login", data={"csrf_token": token, "username": login.name,
                                                   "password": login.password, "otp": login.code()})
        assert answer.status_code == 302, answer.text

    def page(self, path: str = "/") -> str:
        """The page, without what changes on every load (its form tokens)."""
        answer = self.client.get(path)
        assert answer.status_code == 200
        return re.sub(r'<input[^>]*name="csrf_token"[^>]*>', "", answer.text)


def _set(data, **settings) -> None:
    config = data / "config.toml"
    text = config.read_text()
    for name, value in settings.items():
        text, found = re.subn(rf"^{name} = .*$", f"{name} = {value}", text, flags=re.M)
        if not found:
            text += f"{name} = {value}\n"
    config.write_text(text)


@pytest.fixture
def desk(instance):
    """alexandra and bahaa on the desk, the disk under the largest upload allowed."""
    _set(instance, max_request_mib=1024 ** 3)  # more than any disk here holds: "nearly full"
    logins = {name: add_user(instance, name) for name in ("alexandra", "bahaa")}
    app = create_desk_app(Config.load(instance))
    return app, logins


def _team(store, *names):
    return tuple(r for r in store.team.members() if r.name in names)


def _make_old(store, conversation_id: str) -> None:
    with sqlite3.connect(store.database) as db:
        db.execute("UPDATE items SET created = ? WHERE conversation_id = ?", (LONG_AGO, conversation_id))


def test_a_left_out_responder_s_desk_does_not_move_with_what_leaves_them_out(desk, instance):
    app, logins = desk
    store = app.extensions["dropbox"].store
    waiting = _conversation(store, 0, _team(store, "bahaa", "mario"), None)  # only theirs
    _make_old(store, waiting)
    bahaa, alexandra = Responder(app, logins["bahaa"]), Responder(app, logins["alexandra"])
    before, audit = bahaa.page(), bahaa.page("/audit")
    assert 'id="disk"' in before and 'id="unread"' in before

    # A large report that leaves bahaa out, and alexandra downloading her bundle.
    left_out = _conversation(store, 3, _team(store, "alexandra"), None)  # a report alone
    store.conversations.add_items(left_out, "reporter", [_stage(
        store, ItemMeta("file", LONG_AGO, name="video.mp4"), bytes(64 * 1024 * 1024),
        [r.public_key for r in _team(store, "alexandra")], Binding(left_out, "reporter", 1))],
        first_position=1)
    assert alexandra.client.get("/bundle").status_code == 200

    assert bahaa.page() == before
    assert bahaa.page("/audit") == audit
    # What alexandra downloads of a conversation bahaa reads is his to see.
    _conversation(store, 6, _team(store, "alexandra", "bahaa"), None)
    assert alexandra.client.get("/bundle").status_code == 200
    assert "downloaded a conversation" in bahaa.page("/audit")


def test_the_disk_warning_names_no_figure(desk):
    app, logins = desk
    page = Responder(app, logins["bahaa"]).page()
    warning = re.search(r'<p class="warning" id="disk">(.*?)</p>', page).group(1)
    assert "nearly full" in warning and not re.search(r"\d", warning)


def test_a_report_is_unread_until_one_of_its_own_readers_has_downloaded_it(desk, instance, tmp_path):
    """alexandra's download of her own bundle silenced the warning for a report only bahaa and
    mario can read, which nobody had downloaded."""
    app, logins = desk
    store = app.extensions["dropbox"].store
    theirs = _conversation(store, 0, _team(store, "bahaa", "mario"), None)
    hers = _conversation(store, 1, _team(store, "alexandra"), None)
    for conversation in (theirs, hers):
        _make_old(store, conversation)
    days = Config.load(instance).settings.unread_warning_days
    assert unread_for(store, days) == {theirs, hers}
    assert Responder(app, logins["alexandra"]).client.get("/bundle").status_code == 200
    assert unread_for(store, days) == {theirs}
    assert "1 conversation(s) have reports no one has downloaded" in \
        dropbox("status", "--data", instance, check=False).out
    assert Responder(app, logins["bahaa"]).client.get("/bundle").status_code == 200
    assert unread_for(store, days) == set()
    dropbox("export", "--data", instance, "--out", tmp_path / "all.bundle")  # counts for every reader
    third = _conversation(store, 2, _team(store, "mario"), None)
    _make_old(store, third)
    assert unread_for(store, days) == {third}


def test_each_responder_s_unread_warning_is_the_team_s_restricted_to_their_conversations(desk, instance):
    """The desk's unread count for a responder starts its walk past that responder's own last
    download (everything before it is taken in every conversation they read); whatever each has
    downloaded, it names exactly the conversations of theirs that `unread_for` (the whole team's,
    walked from the start) names."""
    app, logins = desk
    store = app.extensions["dropbox"].store
    days = Config.load(instance).settings.unread_warning_days
    readers = [("alexandra",), ("bahaa",), ("alexandra", "bahaa"), ("bahaa", "mario"), ("mario",)]

    def add(round_: int) -> None:
        for n, names in enumerate(readers):
            _make_old(store, _conversation(store, 10 * round_ + n, _team(store, *names), None))

    def check() -> None:
        everyone = unread_for(store, days)
        for name in ("alexandra", "bahaa"):
            found = unread_of(store, name, days, limit=1000)
            expected = {cid for cid in everyone
                        if any(r.name == name for r in store.conversations.conversation(cid).recipients)}
            assert ({cid for cid, _ in found.rows}, found.total) == (expected, len(expected)), name

    alexandra, bahaa = (Responder(app, logins[name]) for name in ("alexandra", "bahaa"))
    add(0)
    check()
    assert alexandra.client.get("/bundle").status_code == 200
    check()
    add(1)
    check()
    assert bahaa.client.get("/bundle").status_code == 200
    add(2)
    check()
    assert alexandra.client.get("/bundle").status_code == 200
    check()
