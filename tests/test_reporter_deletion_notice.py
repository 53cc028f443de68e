"""The reporter's page names the deletion that will really happen first (a responder's request
on the desk, or retention) and what the reporter can do about it; a message from the reporter
cancels a responder's request, and the conversation's readers see that in the desk's audit."""
from __future__ import annotations

import datetime

from formclient import FormClient, open_report_form
from support.instance import set_settings


def _day(days: int) -> str:
    return (datetime.date.today() + datetime.timedelta(days=days)).isoformat()


def _reporter_and_store(instance):
    """A reporter's browser on the app in this process, and the instance's store beside it."""
    from dropbox.app import create_app
    from dropbox.config import Config
    from dropbox.storage import Store
    from support.inprocess import URL, in_process
    config = Config.load(instance)
    store = Store(config.database, config.store_dir, config.tmp_dir)
    store.prepare()
    return FormClient(URL, in_process(create_app(config))), store


def _reported(client: FormClient, store) -> str:
    _, form = open_report_form(client)
    assert client.submit(form, "Send the report", fill={"message": "what happened"}).status == 200
    [conversation_id] = store.conversations.inactive_since(_day(1))
    return conversation_id


def test_a_responders_deletion_request_is_what_the_reporter_is_told_and_a_message_cancels_it(instance):
    from dropbox.desk import deletions
    set_settings(instance, retention_days=90, deletion_grace_days=2)
    client, store = _reporter_and_store(instance)
    conversation_id = _reported(client, store)
    notice = client.get("/conversation").by_id("retention")
    assert notice is not None and _day(91) in notice.text()

    deletions.ask(store, conversation_id, "alexandra", 2)
    page = client.get("/conversation")
    notice = page.by_id("retention")
    assert notice is not None, page.text
    assert _day(2) in notice.text() and _day(91) not in notice.text(), notice.text()
    assert "asked" in notice.text() and "send a message" in notice.text().lower()

    sent = client.submit(page, "Send", fill={"message": "Please keep it: I have more to say."})
    assert sent.status == 200 and sent.by_id("sent") is not None
    assert store.desk.pending_deletions() == {}
    notice = sent.by_id("retention")
    assert notice is not None and _day(91) in notice.text() and _day(2) not in notice.text()
    # The readers are told, in the audit the desk shows them; the reporter is never named.
    said = {(actor, action) for (_, actor, action), _ in store.desk.audit_counts("alexandra")}
    assert ("the reporter", "wrote again, which cancelled the deletion") in said


def test_retention_is_named_when_it_comes_before_the_requested_deletion(instance):
    from dropbox.desk import deletions
    set_settings(instance, retention_days=1, deletion_grace_days=10)
    client, store = _reporter_and_store(instance)
    deletions.ask(store, _reported(client, store), "alexandra", 10)
    notice = client.get("/conversation").by_id("retention")
    assert notice is not None and _day(2) in notice.text() and _day(10) not in notice.text()
    assert "Sending a message keeps it" in notice.text()


def test_with_retention_off_a_requested_deletion_is_still_named(instance):
    from dropbox.desk import deletions
    set_settings(instance, retention_days=0, deletion_grace_days=3)
    client, store = _reporter_and_store(instance)
    deletions.ask(store, _reported(client, store), "bahaa", 3)
    notice = client.get("/conversation").by_id("retention")
    assert notice is not None and _day(3) in notice.text()


def test_a_team_reply_does_not_cancel_a_requested_deletion(instance):
    from dropbox.desk import deletions
    client, store = _reporter_and_store(instance)
    conversation_id = _reported(client, store)
    deletions.ask(store, conversation_id, "alexandra", 2)
    store.conversations.add_items(conversation_id, "team", [])
    assert conversation_id in store.desk.pending_deletions()
