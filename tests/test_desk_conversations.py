"""What responders see and do on the desk, through the real server: recusal leaves no trace.

One instance for the module: three reports (one leaves bahaa out), desk
logins for alexandra and bahaa, the real `dropbox serve` with its desk.
"""
from __future__ import annotations

import datetime
import re
import sqlite3

import pytest
import requests

from conftest import start_server
from deskclient import new_instance, add_user, desk_login, desk_url, designations
from support.reporter import log_in, new_report
from dropbox.desk import deletions
from dropbox.headers import HEADERS
from dropbox.storage import Store


@pytest.fixture(scope="module")
def desk(tmp_path_factory, instance_template):
    data = new_instance(tmp_path_factory.mktemp("desk"), instance_template)
    logins = {name: add_user(data, name) for name in ("alexandra", "bahaa")}
    server = start_server(data)
    url = desk_url(server)
    reports = {}
    for key, message, exclude in (("open", "to everyone", set()), ("secret", "about bahaa", {"bahaa"}),
                                  ("third", "a third one", set())):
        codename, _ = new_report(server, message, files=[("files", "a.txt", b"a" * 5000)], exclude=exclude)
        [(cid,)] = _rows(data, "SELECT id FROM conversations ORDER BY rowid DESC LIMIT 1")
        reports[key] = (codename, cid)
    clients = {name: desk_login(url, login)[0] for name, login in logins.items()}
    yield {"data": data, "server": server, "url": url, "reports": reports, "clients": clients}
    server.stop()


def _rows(data, sql, *args):
    with sqlite3.connect(data / "dropbox.sqlite3") as db:
        return db.execute(sql, args).fetchall()


def _designation(desk, conversation_id: str) -> str:
    """The designation of a conversation, as alexandra's list (she is on every one) shows it."""
    desk["clients"]["alexandra"].get("")
    [(designation,)] = _rows(desk["data"], "SELECT designation FROM desk_conversations"
                             " WHERE conversation_id = ?", conversation_id)
    return designation


def test_each_responder_sees_only_their_conversations_under_two_word_designations(desk):
    alexandra = desk["clients"]["alexandra"].get("")
    bahaa = desk["clients"]["bahaa"].get("")
    assert len(designations(alexandra)) == 3
    assert len(designations(bahaa)) == 2
    assert set(designations(bahaa)) < set(designations(alexandra))
    for row in alexandra.by_class("conversation"):
        cells = [n.text().strip() for n in row.walk() if n.tag in ("td", "th")]
        designation = row.attrs["id"]
        assert len(designation.split("-")) == 2
        assert cells[1] == designation and cells[2] in ("new", "downloaded", "replied", "closed")
        assert len(cells[3]) == 10 and len(cells[4]) == 10  # dates to the day
    assert "3 conversations." in alexandra.text and "2 conversations." in bahaa.text


def test_recused_responder_finds_no_trace_of_the_conversation_on_any_page(desk, airgap, tmp_path):
    alexandra, bahaa = desk["clients"]["alexandra"], desk["clients"]["bahaa"]
    hidden = (set(designations(alexandra.get(""))) - set(designations(bahaa.get("")))).pop()
    [(hidden_id,)] = _rows(desk["data"], "SELECT conversation_id FROM desk_conversations WHERE designation = ?",
                           hidden)
    # alexandra works on it: downloads, replies, closes; all of that is audited.
    bundle = tmp_path / "alexandra.odbx"
    bundle.write_bytes(alexandra.http.get(alexandra.get("").link("everything"), timeout=60).content)
    airgap.reply(bundle, hidden_id, "alexandra", "We are on it.", tmp_path / "r.odbx")
    uploaded = alexandra.submit(alexandra.get(""), "Upload replies",
                                files=[("replies", "r.odbx", (tmp_path / "r.odbx").read_bytes())])
    assert uploaded.status == 200 and "stored 1" in uploaded.text
    confirm = alexandra.get(f"conversations/{hidden}/close")
    assert alexandra.submit(confirm, "Close it").status == 200
    assert "uploaded a reply" in alexandra.get("audit").text

    pages = {path: bahaa.get(path) for path in ("", "audit")}
    for path, page in pages.items():
        assert page.status == 200
        assert hidden not in page.response.text and hidden_id not in page.response.text, path
    assert "uploaded a reply" not in pages["audit"].text
    assert "closed a conversation" not in pages["audit"].text
    assert "2 conversations." in pages[""].text
    # By its designation, the conversation answers exactly like one that does not exist.
    for action in ("close", "reopen", "delete", "keep"):
        hidden_page = bahaa.get(f"conversations/{hidden}/{action}")
        unknown_page = bahaa.get(f"conversations/no-such/{action}")
        assert hidden_page.status == unknown_page.status == 404
        # Byte for byte, but for the logout form's CSRF token, which is timestamped to the second.
        assert _tokens_out(hidden_page.response.text) == _tokens_out(unknown_page.response.text)
    token = pages[""].forms()[0].defaults()
    for action in ("star", "delete"):
        response = bahaa.http.post(f"{desk['url']}conversations/{hidden}/{action}", data=token, timeout=60)
        assert response.status_code == 404 and hidden not in response.text
    # Its reply file, uploaded by bahaa, is refused like a reply to an unknown conversation.
    refused = bahaa.submit(bahaa.get(""), "Upload replies",
                           files=[("replies", "r.odbx", (tmp_path / "r.odbx").read_bytes())])
    assert refused.status == 400 and "not a reply to one of your conversations" in refused.text
    assert hidden not in refused.response.text and hidden_id not in refused.response.text
    # bahaa's bundle holds nothing of it: opened offline, not even "excluded from".
    mine = tmp_path / "bahaa.odbx"
    mine.write_bytes(bahaa.http.get(bahaa.get("").link("everything"), timeout=60).content)
    said = airgap.open(mine, "bahaa", tmp_path / "opened")
    assert "in 2 conversation(s)" in said.out and "excluded" not in said.out
    assert hidden_id.encode() not in mine.read_bytes()
    assert _rows(desk["data"], "SELECT closed FROM desk_conversations WHERE designation = ?", hidden) == [(1,)]


def test_my_bundle_holds_new_items_then_nothing_new_then_everything_on_request(desk, airgap, tmp_path):
    bahaa = desk["clients"]["bahaa"]
    first = bahaa.http.get(desk["url"] + "bundle?all=1", timeout=60)
    assert first.status_code == 200 and "attachment" in first.headers["Content-Disposition"]
    again = bahaa.get("bundle")
    assert "Nothing new since your last download" in again.text
    statuses = {n.text().strip() for n in again.by_class("status")}
    assert statuses <= {"downloaded", "replied", "closed"}
    new_report(desk["server"], "yet another")
    listed = bahaa.get("")
    assert any(n.text().strip() == "1" for n in listed.by_class("new"))
    fresh = tmp_path / "fresh.odbx"
    fresh.write_bytes(bahaa.http.get(listed.link("new items"), timeout=60).content)
    said = airgap.open(fresh, "bahaa", tmp_path / "opened")
    assert "opened 1 item(s) in 1 conversation(s)" in said.out


def test_reply_uploaded_on_the_desk_reaches_the_reporter(desk, airgap, tmp_path):
    alexandra = desk["clients"]["alexandra"]
    codename, cid = desk["reports"]["open"]
    designation = _designation(desk, cid)
    bundle = tmp_path / "b.odbx"
    bundle.write_bytes(alexandra.http.get(desk["url"] + "bundle?all=1", timeout=60).content)
    airgap.reply(bundle, cid, "alexandra", "Thank you, we read it.", tmp_path / "one.odbx")
    airgap.reply(bundle, cid, "alexandra", "And a second note.", tmp_path / "two.odbx")
    page = alexandra.submit(alexandra.get(""), "Upload replies", files=[
        ("replies", "one.odbx", (tmp_path / "one.odbx").read_bytes()),
        ("replies", "two.odbx", (tmp_path / "two.odbx").read_bytes())])
    assert page.status == 200 and page.text.count("stored 1 reply") == 2
    row = next(n for n in page.by_class("conversation") if n.attrs["id"] == designation)
    assert "replied" in row.text()
    _, reporter = log_in(desk["server"], codename)
    texts = [n.text() for n in reporter.by_class("reply")]
    assert any("Thank you, we read it." in t for t in texts) and any("second note" in t for t in texts)


def test_malformed_reply_files_are_refused_with_a_clear_message_and_nothing_is_stored(desk, airgap, tmp_path):
    alexandra = desk["clients"]["alexandra"]
    export = tmp_path / "x.odbx"
    export.write_bytes(alexandra.http.get(desk["url"] + "bundle?all=1", timeout=60).content)
    _, cid = desk["reports"]["open"]
    airgap.reply(export, cid, "alexandra", "a reply", tmp_path / "good.odbx")
    good = (tmp_path / "good.odbx").read_bytes()
    items_before = _rows(desk["data"], "SELECT count(*) FROM items")
    cases = {
        "truncated.odbx": (good[:len(good) // 2], "truncated"),
        "tampered.odbx": (good[:-1] + bytes([good[-1] ^ 1]), "damaged"),
        "export.odbx": (export.read_bytes(), "not a reply file"),
        "junk.odbx": (b"hello, this is not a bundle", "not an onion-dropbox bundle"),
        "empty.odbx": (b"", "not an onion-dropbox bundle"),
    }
    for name, (content, expected) in cases.items():
        page = alexandra.submit(alexandra.get(""), "Upload replies", files=[("replies", name, content)])
        assert page.status == 400, name
        [result] = page.by_class("refused")
        assert name in result.text() and expected in result.text(), (name, result.text())
    assert _rows(desk["data"], "SELECT count(*) FROM items") == items_before
    assert alexandra.submit(alexandra.get(""), "Upload replies",
                            files=[("replies", "good.odbx", good)]).status == 200
    twice = alexandra.submit(alexandra.get(""), "Upload replies", files=[("replies", "good.odbx", good)])
    assert twice.status == 400 and "imported already" in twice.text
    nothing = alexandra.submit(alexandra.get(""), "Upload replies")
    assert nothing.status == 400 and "Choose one or more reply files" in nothing.text


def test_star_marks_a_conversation_for_me_only(desk):
    alexandra, bahaa = desk["clients"]["alexandra"], desk["clients"]["bahaa"]
    shared = designations(bahaa.get(""))[0]
    page = alexandra.get("")
    star = next(f for f in page.forms() if f.action.endswith(f"/{shared}/star"))
    alexandra.http.post(star.action, data=star.defaults(), timeout=60)
    def starred(page) -> set[str]:
        return {n.attrs["id"] for n in page.by_class("conversation") if "★" in n.text()}
    assert shared in starred(alexandra.get(""))
    assert shared not in starred(bahaa.get(""))


def test_delete_waits_a_grace_period_then_removes_rows_and_ciphertext_for_everyone(desk):
    alexandra, bahaa = desk["clients"]["alexandra"], desk["clients"]["bahaa"]
    _, cid = desk["reports"]["third"]
    designation = _designation(desk, cid)
    row = next(n for n in alexandra.get("").by_class("conversation") if n.attrs["id"] == designation)
    confirm = alexandra.get(next(n.attrs["href"] for n in row.walk() if n.text() == "Delete"))
    due = (datetime.date.today() + datetime.timedelta(days=2)).isoformat()
    assert confirm.status == 200 and f"deleted on {due}" in confirm.text
    assert "any of its readers can cancel" in confirm.text
    assert "so does a message from the reporter" in confirm.text  # as the reporter's page says
    assert designation in designations(alexandra.get(""))  # only asked, nothing done yet
    done = alexandra.submit(confirm, f"Delete it on {due}")
    # Asked, not done: it stays, marked for every reader, until the day comes.
    assert done.status == 200 and designation in designations(done)
    marked = next(n for n in bahaa.get("").by_class("conversation") if n.attrs["id"] == designation)
    assert f"deleted on {due} (asked by alexandra)" in marked.text()
    assert _rows(desk["data"], "SELECT count(*) FROM items WHERE conversation_id = ?", cid) != [(0,)]
    assert "asked to delete a conversation" in bahaa.get("audit").text
    # The day after tomorrow, housekeeping carries it out (here by hand, as `serve` would).
    store = Store(desk["data"] / "dropbox.sqlite3", desk["data"] / "store", desk["data"] / "tmp")
    assert deletions.carry_out_due(store, datetime.date.today() + datetime.timedelta(days=1)) == 0
    assert deletions.carry_out_due(store, datetime.date.today() + datetime.timedelta(days=2)) == 1
    assert designation not in designations(alexandra.get(""))
    assert designation not in designations(bahaa.get(""))
    assert _rows(desk["data"], "SELECT count(*) FROM items WHERE conversation_id = ?", cid) == [(0,)]
    assert not (desk["data"] / "store" / cid[:2] / cid).exists()
    assert "deleted a conversation" in bahaa.get("audit").text


def test_any_reader_can_cancel_a_deletion_before_it_is_due(desk):
    alexandra, bahaa = desk["clients"]["alexandra"], desk["clients"]["bahaa"]
    _, cid = desk["reports"]["open"]
    designation = _designation(desk, cid)
    asked = alexandra.submit(alexandra.get(f"conversations/{designation}/delete"), "Delete it on")
    assert asked.status == 200
    row = next(n for n in bahaa.get("").by_class("conversation") if n.attrs["id"] == designation)
    keep = bahaa.get(next(n.attrs["href"] for n in row.walk() if n.text() == "Cancel deletion"))
    assert "alexandra asked to delete it" in keep.text
    kept = bahaa.submit(keep, "Keep it")
    row = next(n for n in kept.by_class("conversation") if n.attrs["id"] == designation)
    assert "deleted on" not in row.text() and "Delete" in row.text()
    store = Store(desk["data"] / "dropbox.sqlite3", desk["data"] / "store", desk["data"] / "tmp")
    assert deletions.carry_out_due(store, datetime.date.today() + datetime.timedelta(days=30)) == 0
    assert designation in designations(alexandra.get(""))
    assert "cancelled a deletion" in alexandra.get("audit").text


def test_closing_says_what_it_does_before_it_is_done(desk):
    alexandra = desk["clients"]["alexandra"]
    some = designations(alexandra.get(""))[0]
    page = alexandra.get(f"conversations/{some}/close")
    assert "Nothing is deleted" in page.by_id("explained").text()
    assert "the reporter can still read it and write" in page.text


def test_reporter_deletes_their_own_conversation_after_confirming(desk):
    server, alexandra = desk["server"], desk["clients"]["alexandra"]
    codename, _ = new_report(server, "I will delete this")
    before = set(designations(alexandra.get("")))
    client, page = log_in(server, codename)
    confirm = client.get(page.link("Delete this conversation"))
    assert "cannot be undone" in confirm.text
    assert len(designations(alexandra.get(""))) == len(before)
    done = client.submit(confirm, "Delete everything")
    assert done.status == 200 and "has been deleted" in done.text
    assert len(designations(alexandra.get(""))) == len(before) - 1
    _, again = log_in(server, codename)
    assert again.status == 403
    assert "the reporter" in alexandra.get("audit").text


def test_every_desk_page_carries_strict_headers_and_posts_need_a_csrf_token(desk):
    alexandra = desk["clients"]["alexandra"]
    some = designations(alexandra.get(""))[0]
    for path in ("", "audit", "login", "bundle?all=1", f"conversations/{some}/close", "no-such-page",
                 "static/site.css"):
        response = alexandra.http.get(desk["url"] + path, timeout=60)
        for name, value in HEADERS.items():
            assert response.headers.get(name) == value, (path, name)
        assert "Server" not in response.headers or response.headers["Server"] == ""
    for path in ("replies", f"conversations/{some}/close", f"conversations/{some}/star", "logout"):
        response = alexandra.http.post(desk["url"] + path, data={}, timeout=60)
        assert response.status_code == 400 and "expired" in response.text, path
    assert alexandra.get("").status == 200  # still logged in: the refused logout did nothing


def test_desk_pages_need_a_login(desk):
    anonymous = requests.get(desk["url"], timeout=60, allow_redirects=False)
    assert anonymous.status_code == 302 and anonymous.headers["Location"].endswith("/login")
    assert requests.get(desk["url"] + "bundle?all=1", timeout=60).url.endswith("/login")


def test_reply_forged_by_a_left_out_responder_is_refused_under_any_name(desk, airgap, tmp_path):
    """bahaa was left out of "secret"; even holding alexandra's bundle, no reply of his is stored."""
    from keys.responder import ResponderKey
    from keys_support import forge_reply
    from conftest import PASSPHRASE
    alexandra, bahaa = desk["clients"]["alexandra"], desk["clients"]["bahaa"]
    _, cid = desk["reports"]["secret"]
    bundle = tmp_path / "alexandra.odbx"
    bundle.write_bytes(alexandra.http.get(desk["url"] + "bundle?all=1", timeout=60).content)
    bahaa_key = ResponderKey.load(airgap.key("bahaa"), PASSPHRASE)
    items_before = _rows(desk["data"], "SELECT count(*) FROM items")
    for claimed in ("alexandra", "mario", "bahaa"):
        forged = forge_reply(bundle, cid, bahaa_key, claimed, tmp_path / f"forged-{claimed}.odbx").read_bytes()
        for uploader in (alexandra, bahaa):
            page = uploader.submit(uploader.get(""), "Upload replies",
                                   files=[("replies", "r.odbx", forged)])
            assert page.status == 400, (claimed, page.text)
            assert "refused" in page.text or "not a reply to one of your" in page.text
    assert _rows(desk["data"], "SELECT count(*) FROM items") == items_before


def _tokens_out(page: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token" value=""', page)
