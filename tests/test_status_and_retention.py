"""`dropbox status` says what needs attention, and retention warns before it deletes.

Responders see on the desk which of their conversations will be deleted soon; a logged-in
reporter sees the day theirs will be, if nothing more happens; `retention_days = 0` turns
deletion (and the warnings) off. Status exits 1 with one PROBLEM line per problem.
"""
from __future__ import annotations

import datetime
import email
import email.policy
import re
import time
import shutil
from pathlib import Path

import pytest

from conftest import dropbox, start_server
from deskclient import add_user, desk_login, desk_url
from formclient import FormClient, open_report_form
from survival import reporter_page

FIXTURE = Path(__file__).parent / "fixtures" / "v0.1.0"


def _set(data: Path, **settings) -> None:
    config = data / "config.toml"
    text = config.read_text()
    for name, value in settings.items():
        text = re.sub(rf"^{name} = .*$", f"{name} = {value}", text, flags=re.M)
        if not re.search(rf"^{name} = ", text, re.M):
            text += f"{name} = {value}\n"
    config.write_text(text)


def _problems(said: str) -> list[str]:
    return [line for line in said.splitlines() if line.startswith("PROBLEM: ")]


def test_status_says_each_problem_on_its_own_line(tmp_path):
    data = tmp_path / "instance"
    shutil.copytree(FIXTURE / "instance", data)
    old = dropbox("status", "--data", data, check=False)
    assert old.code == 1 and len(_problems(old.out)) == 1
    assert re.fullmatch(r"PROBLEM: the instance needs `dropbox upgrade` \(version 0, this program "
                        r"\d+\); serve will not start until then", _problems(old.out)[0])
    dropbox("upgrade", "--data", data)

    _set(data, max_request_mib=1024 ** 3)  # more than any disk here holds
    said = dropbox("status", "--data", data, "--control-port", "1",
                   "--control-socket", tmp_path / "none", check=False)
    problems = _problems(said.out)
    assert said.code == 1 and len(problems) == 2, said
    assert "free disk" in problems[1] and "max_request_mib" in problems[1]
    assert "tor cannot be asked" in problems[0] and "ControlPort" in problems[0]
    assert "Traceback" not in said.err

    _set(data, max_request_mib=1)
    said = dropbox("status", "--data", data, "--control-port", "1",
                   "--control-socket", tmp_path / "none", check=False)
    assert [p for p in _problems(said.out) if "disk" in p] == []


@pytest.mark.slow
def test_responders_and_reporter_are_told_before_retention_deletes(instance, tmp_path):
    _set(instance, retention_days=5, retention_warning_days=7, max_request_mib=1024 ** 3)
    day = (datetime.date.today() + datetime.timedelta(days=6)).isoformat()
    login = add_user(instance, "alexandra")
    server = start_server(instance)
    try:
        client = FormClient(server.url)
        codename, form = open_report_form(client)
        assert client.submit(form, "Send the report", fill={"message": "soon gone"}).status == 200
        page = reporter_page(server.url, codename)
        assert page.by_id("retention") is not None and day in page.by_id("retention").text()
        client_of_desk, desk = desk_login(desk_url(server), login)
        assert "Log out" in desk.text
        warned = desk.by_id("warnings")
        assert warned is not None and day in warned.text()
        designation = desk.by_class("conversation")[0].attrs["id"]
        assert desk.by_id("disk") is not None and "1 conversation is deleted soon" in warned.text()
        due = client_of_desk.get(desk.link("See them"))
        assert f"{designation} on {day}" in due.by_id(designation).text()
    finally:
        server.stop()
    said = dropbox("status", "--data", instance, check=False).out
    assert f"1 deletion(s) within 7 day(s), the next on {day}" in said

    _set(instance, retention_days=0, max_request_mib=100)
    server = start_server(instance)
    try:
        page = reporter_page(server.url, codename)
        assert page.by_id("retention") is None and "deleted on" not in page.text
        _, desk = desk_login(desk_url(server), login, code=login.code(1))  # each code works once
        assert "Log out" in desk.text and desk.by_id("warnings") is None
    finally:
        server.stop()
    assert "retention: off" in dropbox("status", "--data", instance, check=False).out
    assert "retention is off" in dropbox("purge", "--data", instance).out


def test_reports_no_one_has_downloaded_are_flagged_until_exported(instance, tmp_path):
    from dropbox.config import Config
    from dropbox.health import unread_for
    from dropbox.storage import Store
    server = start_server(instance)
    try:
        client = FormClient(server.url)
        _, form = open_report_form(client)
        assert client.submit(form, "Send the report", fill={"message": "waiting"}).status == 200
    finally:
        server.stop()
    config = Config.load(instance)
    store = Store(config.database, config.store_dir, config.tmp_dir)
    later = datetime.date.today() + datetime.timedelta(days=8)
    assert len(unread_for(store, 7, today=later)) == 1
    assert unread_for(store, 7) == set()  # not yet 7 days old
    dropbox("export", "--data", instance, "--out", tmp_path / "e.bundle")
    assert unread_for(store, 7, today=later) == set()


def test_responders_get_one_bare_mail_before_a_deletion_and_the_recused_none(
        instance, mailbox, tmp_path):
    from dropbox.config import Config
    from dropbox.desk.housekeeping import warn_of_deletions
    from dropbox.desk.notices import send_due_notices
    from dropbox.storage import Store
    box, port = mailbox
    add_user(instance, "alexandra", "--email", "alexandra@example.org")
    add_user(instance, "bahaa", "--email", "bahaa@example.org")
    _set(instance, retention_days=5, retention_warning_days=7)
    server = start_server(instance)
    try:
        client = FormClient(server.url)
        _, form = open_report_form(client)
        done = client.submit(form, "Send the report", fill={"message": "about bahaa"},
                             uncheck={"recipients": {"bahaa"}})
        assert done.status == 200
    finally:
        server.stop()
    _set(instance, smtp_host='"127.0.0.1"', smtp_port=port, smtp_starttls="false")
    config = Config.load(instance)
    store = Store(config.database, config.store_dir, config.tmp_dir)
    for account in ("alexandra", "bahaa"):  # the report's own activity notice is not the point
        store.desk.update_account(account, notice_pending=0)
    assert warn_of_deletions(config, store) == {"alexandra", "mario"}
    assert warn_of_deletions(config, store) == set()  # once, not every round
    assert send_due_notices(config, store, now=time.time() + 3601) == ["alexandra"]
    [mail] = box.to("alexandra@example.org")
    body = email.message_from_string(mail, policy=email.policy.default).get_content().strip()
    assert body == ("A conversation on the response desk will be deleted soon under the retention "
                    "rules unless there is new activity. Please log in to see which.")
    assert box.to("bahaa@example.org") == []
