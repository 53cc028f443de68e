"""Figures without content for a transparency report: what the server counts without reading
(`dropbox figures`, the desk's Figures page), deleted conversations included through the
counters they leave, and what only content says (the behaviours) counted offline by
`keys figures` from the folders `keys open` wrote.
"""
from __future__ import annotations

import datetime
import re
import sqlite3

import pytest

from conftest import dropbox
from deskclient import add_user
from dropbox.config import Config
from dropbox.desk.app import create_desk_app
from dropbox.figures import yearly
from formclient import FormClient, open_report_form
from keys.envelope import Binding, Origin
from keys.figures import BEHAVIOURS_QUESTION
from keys.items import ItemMeta
from stored import _conversation, _stage

THIS_MONTH = datetime.date.today().isoformat()[:7]


def _team(store, *names):
    return tuple(r for r in store.team.members() if r.name in names)


def _case(store, recipients, opened, acknowledged=None, replied=None, closed=None) -> str:
    """A conversation opened on `opened`, downloaded, replied to and closed on those days."""
    cid = _conversation(store, 0, recipients, None)
    if replied:
        store.conversations.add_items(cid, Origin.TEAM, [_stage(store, ItemMeta("reply", replied), b"reply",
                                                           [r.public_key for r in recipients],
                                                           Binding(cid, Origin.TEAM, 0))])
    if acknowledged:
        store.cases.acknowledge([cid])
    if closed:
        store.desk.set_closed(cid, True)
    with sqlite3.connect(store.database) as db:
        db.execute("UPDATE conversations SET created = ? WHERE id = ?", (opened, cid))
        db.execute("UPDATE items SET created = ? WHERE conversation_id = ? AND origin = 'reporter'", (opened, cid))
        db.execute("UPDATE items SET created = ? WHERE conversation_id = ? AND origin = 'team'", (replied, cid))
        db.execute("UPDATE case_progress SET acknowledged = ?, closed = ? WHERE conversation_id = ?",
                   (acknowledged, closed, cid))
    return cid


@pytest.fixture
def year_2025(instance):
    app = create_desk_app(Config.load(instance))
    store = app.extensions["dropbox"].store
    ours, mario = _team(store, "alexandra", "bahaa"), _team(store, "mario", "alexandra")
    made = [_case(store, ours, "2025-03-01", "2025-03-02", "2025-03-05", "2025-04-01"),
            _case(store, ours, "2025-03-10", "2025-03-13"),
            _case(store, mario, "2025-03-20", "2025-03-20", "2025-03-21", "2025-03-30")]
    return app, store, made


def _month(rows, month):
    return next(row for row in rows if row["month"] == month)


def test_the_server_counts_opened_closed_and_medians_and_a_deletion_changes_none_of_them(year_2025):
    _, store, made = year_2025
    before = yearly(store, 2025)
    assert _month(before, "2025-03") == {
        "month": "2025-03", "opened": 3, "closed": 1, "deleted": 0, "median days to acknowledgement": 1,
        "median days to first reply": 2.5, "median days to closing": 20.5}
    assert _month(before, "2025-04")["closed"] == 1 and _month(before, "year")["opened"] == 3
    store.conversations.delete_conversations([made[2]], "retention")
    assert yearly(store, 2025) == before  # what it was, it still is: only counters, no rows
    assert _month(yearly(store, int(THIS_MONTH[:4])), THIS_MONTH)["deleted"] == 1


def test_dropbox_figures_prints_a_table_and_a_csv_and_nothing_of_any_conversation(year_2025, instance):
    _, store, made = year_2025
    table = dropbox("figures", "--data", instance, "--year", "2025").out
    assert re.search(r"^2025-03 +3 +1 +0 +1 +2\.5 +20\.5$", table, re.M), table
    csv = dropbox("figures", "--data", instance, "--year", "2025", "--csv").out
    assert "2025-03,3,1,0,1,2.5,20.5\n" in csv and csv.count("\n") == 14
    designations = store.desk.designations(made, lambda cid, tries: "")
    for shown in (table, csv):
        assert not any(cid in shown or name in shown for cid in made for name, _ in designations.values())
    refused = dropbox("figures", "--data", instance, "--year", "1999", check=False)
    assert refused.code == 2 and "1999" in refused.err


class Desk:
    def __init__(self, app, login):
        self.client = app.test_client()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',  # type: ignore[union-attr]
                          self.client.get("/login").text).group(1)
        assert self.client.post("/login", data={"csrf_token": token, "username": login.name, "password":
                                                login.password, "otp": login.code()}).status_code == 302


def test_a_responder_s_figures_on_the_desk_count_only_what_they_read_deleted_included(year_2025, instance):
    app, store, made = year_2025
    bahaa, mario = (Desk(app, add_user(instance, name)) for name in ("bahaa", "mario"))

    def row(desk, month):
        page = desk.client.get("/figures?year=2025").text
        found = re.search(rf'<tr id="{month}">(.*?)</tr>', page, re.S)
        assert found is not None
        return re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", found.group(1))

    assert row(bahaa, "2025-03") == ["2025-03", "2", "0", "0", "2", "4", "31"]
    assert row(mario, "2025-03") == ["2025-03", "1", "1", "0", "0", "1", "10"]
    before = row(bahaa, "2025-03"), bahaa.client.get(f"/figures?year={THIS_MONTH[:4]}").text
    store.conversations.delete_conversations([made[2]], "retention")  # mario's, not bahaa's
    assert (row(bahaa, "2025-03"), bahaa.client.get(f"/figures?year={THIS_MONTH[:4]}").text) == before
    assert row(mario, "2025-03") == ["2025-03", "1", "1", "0", "0", "1", "10"]
    assert bahaa.client.get("/figures?year=99999").status_code == 404


def test_the_report_form_asks_the_behaviours_question_keys_figures_reads():
    from dropbox.forms import ReportForm
    assert str(ReportForm.behaviours.args[0]) == BEHAVIOURS_QUESTION


def test_keys_figures_counts_behaviours_offline_never_quoting_a_reporter(instance, reporter: FormClient,
                                                                        airgap, tmp_path):
    for behaviours, other in ((["threats", "stalking"], ""), (["threats"], "my secret words")):
        _, form = open_report_form(reporter)
        fields = {"message": "what happened", "behaviour_other": other}
        send = form.form("Send the report")
        data = [(n, v) for n, v in send.defaults() if n not in {"behaviours", *fields}]
        data += [("behaviours", b) for b in behaviours] + list(fields.items())
        sent = reporter.http.post(send.action, data=data, files=[("files", ("", b""))])
        assert sent.status_code == 200 and "has been sent" in sent.text
    dropbox("export", "--data", instance, "--out", tmp_path / "export")
    airgap.open(tmp_path / "export", "alexandra", tmp_path / "opened")
    year = THIS_MONTH[:4]
    table = dropbox("keys", "figures", tmp_path / "opened", "--year", year).out
    header, = [line for line in table.splitlines() if line.startswith("month")]
    assert "Threats of violence" in header and "Stalking or following" in header and "Other" in header
    assert re.search(rf"^{THIS_MONTH} +2 +- +- +- +- +- +2 +1 +1$", table, re.M), table
    assert "secret" not in table
    server = tmp_path / "figures.csv"
    server.write_text(dropbox("figures", "--data", instance, "--year", year, "--csv").out)
    both = dropbox("keys", "figures", tmp_path / "opened", "--year", year, "--server", server, "--csv").out
    assert f"\n{THIS_MONTH},2,0,0,0,,,2,1,1\n" in both, both
    server.write_text("month,opened\n2026-01,1\n")
    refused = dropbox("keys", "figures", tmp_path / "opened", "--year", year, "--server", server, check=False)
    assert refused.code == 1 and "is not the server's figures" in refused.err


def test_keys_figures_refuses_a_folder_keys_open_did_not_write_in_one_line(tmp_path):
    refused = dropbox("keys", "figures", tmp_path, "--year", "2026", check=False)
    assert refused.code == 1 and "holds no index.txt" in refused.err and "Traceback" not in refused.err
    (tmp_path / "index.txt").write_text("maple-river\t../../etc\taa/maple-river_x\n")
    refused = dropbox("keys", "figures", tmp_path, "--year", "2026", check=False)
    assert refused.code == 1 and "invalid id" in refused.err and "Traceback" not in refused.err


@pytest.mark.parametrize("year", ["99999999999999999999", "9" * 5000, "２０２６", "-5", "1999", "abc", "1e3", ""])
def test_keys_figures_refuses_a_wild_year_in_one_short_line(tmp_path, year):
    refused = dropbox("keys", "figures", tmp_path, "--year", year, check=False)
    assert refused.code == 2 and "--year" in refused.err and "2000" in refused.err
    assert len(refused.err.strip().splitlines()[-1]) < 200, refused.err  # not every year allowed, listed
