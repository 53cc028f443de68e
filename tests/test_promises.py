"""The deadlines the team promises reporters: to confirm a report arrived within
`acknowledge_within_days` and to reply within `respond_within_days`. Said on the landing page in
four languages; what is past them is marked on its readers' desk, counted by `dropbox status`
and in the mail notice (a number only). Both apps in this process; a real SMTP server.
"""
from __future__ import annotations

import dataclasses
import datetime
import email
import re
import sqlite3
import time

import pytest

from conftest import dropbox
from deskclient import add_user
from dropbox.config import Config, InstanceError, Settings
from dropbox.desk.app import create_desk_app
from dropbox.desk.notices import send_due_notices
from stored import _conversation
from support.instance import set_settings


def _team(store, *names):
    return tuple(r for r in store.team.members() if r.name in names)


def _made_days_ago(store, conversation_id: str, days: int) -> None:
    day = (datetime.date.today() - datetime.timedelta(days=days)).isoformat()
    with sqlite3.connect(store.database) as db:
        db.execute("UPDATE conversations SET created = ? WHERE id = ?", (day, conversation_id))


@pytest.mark.parametrize("value", ["-1", "366", '"2"', "1.5"])
def test_a_promise_out_of_range_is_refused_saying_the_range(instance, value):
    set_settings(instance, respond_within_days=value)
    with pytest.raises(InstanceError, match=r"respond_within_days must be a whole number from 0 to 365"):
        Config.load(instance)


def test_a_new_instance_promises_and_one_without_the_settings_promises_nothing(instance, tmp_path):
    settings = Config.load(instance).settings
    assert (settings.acknowledge_within_days, settings.respond_within_days) == (2, 14)
    old = tmp_path / "config.toml"
    old.write_text("retention_days = 30\n")
    assert (Settings.from_toml(old).acknowledge_within_days, Settings.from_toml(old).respond_within_days) == (0, 0)


@pytest.mark.parametrize("language,said", [
    ("en", ["We promise to confirm that we have received your report within 2 days",
            "We promise to reply to you within 14 days."]),
    ("es", ["Nos comprometemos a confirmar que hemos recibido tu reporte en un plazo de 2 días",
            "Nos comprometemos a responderte en un plazo de 14 días."]),
    ("fr", ["Nous nous engageons à confirmer la réception de votre signalement sous 2 jours",
            "Nous nous engageons à vous répondre sous 14 jours."]),
    ("ar", ["نتعهّد بتأكيد استلام بلاغك خلال 2 يومين", "نتعهّد بالرد عليك خلال 14 يومًا."]),
])
def test_the_landing_page_says_the_promises_in_the_reporter_s_language(reporter, language, said):
    reporter.get(f"/language/{language}")
    page = reporter.get("/").text
    for sentence in said:
        assert sentence in page


def test_no_promise_no_words(instance, reporter):
    set_settings(instance, acknowledge_within_days=0, respond_within_days=0)
    from dropbox.app import create_app
    app = create_app(Config.load(instance))
    assert 'id="promises"' not in app.test_client().get("/").text


class Desk:
    def __init__(self, app, login):
        self.client = app.test_client()
        page = self.client.get("/login").text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        assert self.client.post("/login", data={"csrf_token": token, "username": login.name, "password":
                                                login.password, "otp": login.code()}).status_code == 302


@pytest.fixture
def late(instance):
    """Three conversations to alexandra and bahaa, and one only to mario: made 20 days ago
    (past both promises), 5 days ago (past the acknowledgement only), today (past none)."""
    logins = {name: add_user(instance, name, "--email", f"{name}@example.org")
              for name in ("alexandra", "bahaa", "mario")}
    app = create_desk_app(Config.load(instance))
    store = app.extensions["dropbox"].store
    ours = _team(store, "alexandra", "bahaa")
    made = {days: _conversation(store, 0, ours, None) for days in (20, 5, 0)}
    for days, conversation_id in made.items():
        _made_days_ago(store, conversation_id, days)
    _made_days_ago(store, _conversation(store, 0, _team(store, "mario"), None), 30)
    return app, logins, store, made


def test_the_desk_marks_a_reader_s_late_conversations_and_nothing_for_others(late):
    app, logins, store, made = late
    page = Desk(app, logins["alexandra"]).client.get("/").text
    rows = dict(re.findall(r'<tr class="conversation[^"]*" id="([a-z-]+)">(.*?)</tr>', page, re.S))
    late_rows = {name: re.search(r'class="overdue">([^<]*)', row) for name, row in rows.items()}
    said = sorted(found.group(1) for found in late_rows.values() if found)
    assert said == [" · late: acknowledgement and reply promised", " · late: acknowledgement promised"]
    assert "overdue" in Desk(app, logins["mario"]).client.get("/").text  # mario's own
    store.cases.acknowledge([made[20], made[5]])  # a reader downloads them
    page = Desk(app, logins["bahaa"]).client.get("/").text
    assert page.count('class="overdue"') == 1 and "late: reply promised" in page


def test_status_counts_what_is_late_and_closing_ends_it(late, instance):
    _, _, store, made = late
    said = dropbox("status", "--data", instance, check=False)
    assert "PROBLEM: 3 open conversation(s) have had no acknowledgement for more than the 2 day(s)" in said.out
    assert "PROBLEM: 2 open conversation(s) have had no reply for more than the 14 day(s)" in said.out
    for conversation_id in made.values():
        store.desk.set_closed(conversation_id, True)
    said = dropbox("status", "--data", instance, check=False)
    assert "PROBLEM: 1 open conversation(s) have had no acknowledgement" in said.out  # mario's


def test_the_mail_says_how_many_of_mine_are_late_once_a_day_and_nothing_more(late, instance, mailbox):
    box, port = mailbox
    _, _, store, made = late
    settings = dataclasses.replace(Config.load(instance).settings, smtp_host="127.0.0.1", smtp_port=port,
                                   smtp_starttls=False)
    (instance / "config.toml").write_text(settings.to_toml())
    config = Config.load(instance)
    for account in store.desk.accounts():  # the new-activity notices are not what this is about
        store.desk.update_account(account.name, notice_pending=0)
    before = len(box.mails)
    assert sorted(send_due_notices(config, store)) == ["alexandra", "bahaa", "mario"]
    mails = {rcpts[0]: email.message_from_string(text).get_payload(decode=True).decode().strip()
             for rcpts, text in box.mails[before:]}
    assert mails["alexandra@example.org"] == mails["bahaa@example.org"] == (
        "Your conversations on the response desk past a deadline the team promises reporters: 2. "
        "Please log in to see which.")
    assert "promises reporters: 1." in mails["mario@example.org"]
    assert not any(cid in text or cid[:8] in text for cid in made.values() for text in mails.values())
    # An hour later, the same day: told already.
    assert send_due_notices(config, store, now=time.time() + 3601) == []
