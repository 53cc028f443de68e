"""Retention and mail notices, with the real server's scheduled job and a real SMTP server.

The SMTP server is aiosmtpd on loopback; the mails checked are the ones it
received. STARTTLS is off there: a test certificate authority is not worth
its weight here, and smtplib's STARTTLS is not ours to test.
"""
from __future__ import annotations

import dataclasses
import datetime
import email
import sqlite3
import time

import pytest

from conftest import dropbox, start_server
from deskclient import new_instance, add_user
from support.reporter import log_in, new_report
from dropbox.config import Config
from dropbox.desk.notices import send_due_notices
from dropbox.storage import Store


def _age(data, conversation_id: str, days: int) -> None:
    old = (datetime.date.today() - datetime.timedelta(days=days)).isoformat()
    with sqlite3.connect(data / "dropbox.sqlite3") as db:
        db.execute("UPDATE conversations SET last_activity = ? WHERE id = ?", (old, conversation_id))


def _newest(data) -> str:
    with sqlite3.connect(data / "dropbox.sqlite3") as db:
        return db.execute("SELECT id FROM conversations ORDER BY rowid DESC LIMIT 1").fetchone()[0]


def _wait_for(condition, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture(scope="module")
def instance_with_mail(tmp_path_factory, mailbox, instance_template):
    _, port = mailbox
    data = new_instance(tmp_path_factory.mktemp("housekeeping"), instance_template)
    settings = dataclasses.replace(Config.load(data).settings, smtp_host="127.0.0.1", smtp_port=port,
                                   smtp_starttls=False, housekeeping_seconds=1, retention_days=30)
    (data / "config.toml").write_text(settings.to_toml())
    logins = {"alexandra": add_user(data, "alexandra", "--email", "alexandra@example.org"),
              "bahaa": add_user(data, "bahaa", "--email", "bahaa@example.org"),
              "mario": add_user(data, "mario")}
    server = start_server(data)
    yield data, server, logins
    server.stop()


def test_new_activity_mails_each_recipient_once_an_hour_without_content(instance_with_mail, mailbox):
    box, _ = mailbox
    data, server, _ = instance_with_mail
    new_report(server, "first report")
    assert _wait_for(lambda: box.to("alexandra@example.org") and box.to("bahaa@example.org"))
    [mail] = box.to("alexandra@example.org")
    message = email.message_from_string(mail)
    assert message["Subject"] == "New activity on the response desk"
    # The whole body: no designation, no count, no content.
    assert message.get_payload().strip() == "There is new activity on the response desk. Please log in to see it."
    # More activity within the hour, some of it bahaa is left out of: no mail yet (batched).
    new_report(server, "second report", exclude={"bahaa"})
    new_report(server, "third report", exclude={"bahaa"})
    time.sleep(3)  # several rounds of the server's scheduled job
    assert len(box.to("alexandra@example.org")) == 1 and len(box.to("bahaa@example.org")) == 1
    # An hour later: one mail for both reports to alexandra, none to the recused bahaa.
    config = Config.load(data)
    store = Store(config.database, config.store_dir, config.tmp_dir)
    assert send_due_notices(config, store, now=time.time() + 3601) == ["alexandra"]
    assert len(box.to("alexandra@example.org")) == 2 and len(box.to("bahaa@example.org")) == 1
    assert not any("mario" in text for _, text in box.mails)  # no address, no mail


def test_scheduled_job_deletes_conversations_past_retention(instance_with_mail):
    data, server, _ = instance_with_mail
    codename, _ = new_report(server, "this one will expire")
    cid = _newest(data)
    _age(data, cid, 31)
    assert _wait_for(lambda: not (data / "store" / cid[:2] / cid).exists())
    _, page = log_in(server, codename)
    assert page.status == 403


def test_purge_by_hand_deletes_only_conversations_past_retention(server):
    new_report(server, "old")
    old = _newest(server.data)
    new_report(server, "recent")
    recent = _newest(server.data)
    server.stop()
    _age(server.data, old, 91)
    _age(server.data, recent, 89)
    said = dropbox("purge", "--data", server.data).out
    assert "deleted 1 conversation without" in said and "90 days" in said
    assert not (server.data / "store" / old[:2] / old).exists() and (server.data / "store" / recent[:2] / recent).exists()
    with sqlite3.connect(server.data / "dropbox.sqlite3") as db:
        ids = {r[0] for r in db.execute("SELECT id FROM conversations")}
        assert ids == {recent}
        assert db.execute("SELECT count(*) FROM items WHERE conversation_id = ?", (old,)).fetchone() == (0,)
        [(actor, action)] = db.execute("SELECT actor, action FROM desk_audit").fetchall()
    assert (actor, action) == ("retention", "deleted a conversation")
