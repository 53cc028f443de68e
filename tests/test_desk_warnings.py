"""The desk's warnings are a summary: a count and a link to a paged view, however many are due.

Hundreds of conversations stored through `Store` (tests/stored.py), their ages set as a steady
retention leaves them, so that many are due for deletion and many reports wait unread. The
desk app answers in this process (support/inprocess.py): what is checked is what a responder
reads on each page, and that the list stays small.
"""
from __future__ import annotations

import datetime
import random
import sqlite3

import pytest

from deskclient import add_user, designations
from dropbox.config import Config, Settings
from dropbox.storage import Store
from formclient import FormClient
from stored import populate, steady_retention
from support.inprocess import URL, in_process

CONVERSATIONS = 240
RETENTION, WARNING, UNREAD = 90, 30, 7
PAGE = 20


@pytest.fixture(scope="module")
def desk(tmp_path_factory, instance_template):
    import shutil

    from dropbox.desk.app import create_desk_app
    data = tmp_path_factory.mktemp("warnings") / "instance"
    shutil.copytree(instance_template, data, symlinks=True)
    (data / "config.toml").write_text(Settings(
        retention_days=RETENTION, retention_warning_days=WARNING, unread_warning_days=UNREAD,
        desk_page_size=PAGE).to_toml())
    config = Config.load(data)
    store = Store(config.database, config.store_dir, config.tmp_dir)
    store.prepare()
    populate(store, CONVERSATIONS, random.Random(7))
    steady_retention(config.database, RETENTION)
    login = add_user(data, "alexandra")
    client = FormClient(URL, in_process(create_desk_app(Config.load(data))))
    client.submit(client.get("login"), "Log in", fill={
        "username": login.name, "password": login.password, "otp": login.code()})
    return {"client": client, "store": store, "data": data}


def _due(store) -> int:
    """How many of alexandra's conversations are deleted within the warning's days."""
    cutoff = (datetime.date.today() + datetime.timedelta(days=WARNING - RETENTION)).isoformat()
    return len(store.conversations.recipient_of("alexandra", list(store.conversations.inactive_since(cutoff))))


def test_the_list_says_how_many_are_due_and_links_to_them_instead_of_listing_them(desk):
    client = desk["client"]
    listed = client.get("")
    due = _due(desk["store"])
    assert due > 2 * PAGE  # more than two pages of them
    warned = listed.by_id("deletions")
    assert warned is not None and f"{due} conversations" in warned.text()
    assert not listed.by_class("deletion"), "the due conversations are listed on the list page"
    unread = listed.by_id("unread")
    assert unread is not None and "conversations" in unread.text()
    # The list page stays the size of one page of conversations, not of every warning.
    assert len(listed.response.content) < 40_000
    assert len(designations(listed)) == PAGE


def test_the_due_conversations_are_paged_soonest_first_and_each_is_listed_once(desk):
    client = desk["client"]
    page = client.get(client.get("").link("See them"))
    seen, days = [], []
    while True:
        assert page.status == 200
        rows = page.by_class("deletion")
        assert 0 < len(rows) <= PAGE
        seen += [r.attrs["id"] for r in rows]
        days += [r.text().rsplit(" on ", 1)[1] for r in rows]
        if not any(n.tag == "a" and n.text() == "Next page" for n in page.root.walk()):
            break
        page = client.get(page.link("Next page"))
    assert len(seen) == len(set(seen)) == _due(desk["store"])
    assert days == sorted(days)
    # Each is a conversation on alexandra's list: its designation opens its confirmation pages.
    assert client.get(f"conversations/{seen[0]}/close").status == 200


def test_the_unread_reports_are_paged_and_counted_as_the_summary_says(desk):
    client = desk["client"]
    listed = client.get("")
    count = int(listed.by_id("unread").text().split("conversations")[0].split()[-1].replace(",", ""))
    link = next(n.attrs["href"] for n in listed.by_id("unread").walk() if n.tag == "a")
    page, seen = client.get(link), []
    while True:
        assert page.status == 200
        seen += [r.attrs["id"] for r in page.by_class("unread")]
        if not any(n.tag == "a" and n.text() == "Next page" for n in page.root.walk()):
            break
        page = client.get(page.link("Next page"))
    assert len(seen) == len(set(seen)) == count
    # Every conversation with a report older than the unread warning, and no other: none has
    # been downloaded.
    with sqlite3.connect(desk["data"] / "dropbox.sqlite3") as db:
        waiting = db.execute("SELECT count(DISTINCT i.conversation_id) FROM items i JOIN conversation_recipients r"
                             " ON r.conversation_id = i.conversation_id AND r.name = 'alexandra'"
                             " WHERE i.origin = 'reporter' AND i.created < date('now', ?)",
                             (f"-{UNREAD} days",)).fetchone()[0]
    assert 0 < count == waiting


def test_a_warnings_page_of_another_kind_or_a_wild_number_is_a_real_answer(desk):
    client = desk["client"]
    assert client.get("warnings/nothing").status == 404
    assert client.get("warnings/deletions?page=99999999999999999999").status == 200
    assert client.get("warnings/unread?page=-3").status == 200


def test_my_bundle_written_a_batch_at_a_time_holds_each_of_my_conversations_once(
        desk, airgap, tmp_path, monkeypatch):
    from dropbox import exports
    from support.airgap import opened_conversations
    monkeypatch.setattr(exports, "BUNDLE_BATCH", 7)  # many batches, one left part-full
    client, store = desk["client"], desk["store"]
    bundle = tmp_path / "mine.odbx"
    answer = client.http.get(client.get("").link("everything"), timeout=600)
    assert answer.status_code == 200
    bundle.write_bytes(answer.content)
    airgap.open(bundle, "alexandra", tmp_path / "opened")
    mine = store.conversations.recipient_of("alexandra", list(store.conversations.inactive_since("9999")))
    assert set(opened_conversations(tmp_path / "opened")) == mine
    assert "Nothing new since your last download." in client.get(client.get("").link("new items")).text


@pytest.mark.slow
def test_the_summary_and_the_warnings_pages_pass_axe_and_fit_a_small_screen(browser, desk):
    import json

    from conftest import start_server
    from deskclient import desk_url
    from support.browser import DeskSite, Visit, log_in_to_desk
    login = add_user(desk["data"], "mario")
    server = start_server(desk["data"])
    visit = Visit(browser, DeskSite(desk_url(server)), "en", width=1280)
    page = visit.page
    try:
        log_in_to_desk(page, login)
        for width, suffix in ((1280, ""), (320, "-320px")):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto("")
            assert page.locator("#deletions a").count() == 1
            assert page.locator("li.deletion").count() == 0
            assert visit.width() <= width
            visit.axe_and_screenshot(f"desk-warnings-summary{suffix}")
            page.click("#deletions a")
            assert page.locator("li.deletion").count() == PAGE
            assert visit.width() <= width
            visit.axe_and_screenshot(f"desk-deleted-soon{suffix}")
            page.goto("warnings/unread")
            assert visit.width() <= width
            visit.axe_and_screenshot(f"desk-waiting-unread{suffix}")
    finally:
        visit.close()
        server.stop()
    assert not visit.violations, json.dumps(visit.violations, indent=1)
