"""The desk as a workplace: one name for a conversation everywhere, statuses that follow the
command line, your own replies not "new", and a v0.1.0 instance keeping its reporters.

Real server, real SQLite, real `dropbox` commands; the desk is read through its pages.
"""
from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from conftest import dropbox, start_server
from support.instance import name_community
from deskclient import add_user, desk_login, desk_url, new_instance
from formclient import FormClient
from support.reporter import log_in, new_report
from keys.codename import desk_name
from dropbox.cli.upgrade import apply_upgrades

FIXTURE = Path(__file__).parent / "fixtures" / "v0.1.0"


@pytest.fixture(scope="module")
def desk(tmp_path_factory, instance_template):
    data = new_instance(tmp_path_factory.mktemp("workplace"), instance_template)
    logins = {name: add_user(data, name) for name in ("alexandra", "bahaa", "mario")}
    server = start_server(data)
    url = desk_url(server)
    clients = {name: desk_login(url, login)[0] for name, login in logins.items()}
    yield {"data": data, "server": server, "clients": clients, "url": url}
    server.stop()


def _row(client, designation: str) -> dict[str, str]:
    page = client.get("")
    row = next(n for n in page.by_class("conversation") if n.attrs["id"] == designation)
    return {n.attrs.get("class", "").split()[0]: n.text().strip()
            for n in row.walk() if n.tag in ("td", "th") and n.attrs.get("class")}


def _newest_conversation(data) -> str:
    with sqlite3.connect(data / "dropbox.sqlite3") as db:
        return db.execute("SELECT id FROM conversations ORDER BY rowid DESC LIMIT 1").fetchone()[0]


def test_command_line_export_and_import_reach_statuses_and_the_audit(desk, airgap, tmp_path):
    alexandra, bahaa = desk["clients"]["alexandra"], desk["clients"]["bahaa"]
    new_report(desk["server"], "about bahaa", exclude={"bahaa"})
    cid = _newest_conversation(desk["data"])
    name = desk_name(cid)  # the desk shows the name the air-gapped machine can compute
    assert _row(alexandra, name)["status"] == "new" and _row(alexandra, name)["new"] == "1"

    bundle = tmp_path / "team.bundle"
    dropbox("export", "--data", desk["data"], "--out", bundle)
    # An operator's export is not alexandra's download: what is new to her stays new.
    assert _row(alexandra, name)["status"] == "new" and _row(alexandra, name)["new"] == "1"
    assert "exported a bundle" in alexandra.get("audit").text

    airgap.reply(bundle, cid, "alexandra", "We read it.", tmp_path / "reply.odbx")
    said = dropbox("import-replies", tmp_path / "reply.odbx", "--data", desk["data"]).out
    assert "stored 1 reply" in said and "(ies)" not in said
    assert _row(alexandra, name)["status"] == "replied"
    audit = alexandra.get("audit")
    assert any("command line" in r.text() and "imported a reply" in r.text()
               for r in audit.by_class("audit-entry"))
    assert "imported a reply" not in bahaa.get("audit").text  # left out: no trace


def test_my_own_uploaded_reply_is_not_new_to_me_but_is_to_the_others(desk, airgap, tmp_path):
    alexandra, mario = desk["clients"]["alexandra"], desk["clients"]["mario"]
    new_report(desk["server"], "for everyone")
    cid = _newest_conversation(desk["data"])
    name = desk_name(cid)
    for client in (alexandra, mario):
        client.http.get(desk["url"] + "bundle", timeout=60)  # each downloads what is new
    assert _row(alexandra, name)["new"] == _row(mario, name)["new"] == "0"
    mine = tmp_path / "mine.odbx"
    mine.write_bytes(alexandra.http.get(desk["url"] + "bundle?all=1", timeout=60).content)
    airgap.reply(mine, cid, "alexandra", "On it.", tmp_path / "r.odbx")
    page = alexandra.submit(alexandra.get(""), "Upload replies",
                            files=[("replies", "r.odbx", (tmp_path / "r.odbx").read_bytes())])
    assert page.status == 200 and "stored 1 reply." in page.text
    assert _row(alexandra, name)["new"] == "0"
    assert _row(mario, name)["new"] == "1"


def test_a_note_uploaded_on_the_desk_is_stored_and_is_no_reply(desk, airgap, tmp_path):
    alexandra, bahaa = desk["clients"]["alexandra"], desk["clients"]["bahaa"]
    new_report(desk["server"], "not for bahaa", exclude={"bahaa"})
    cid = _newest_conversation(desk["data"])
    name = desk_name(cid)
    mine = tmp_path / "mine.odbx"
    mine.write_bytes(alexandra.http.get(desk["url"] + "bundle?all=1", timeout=60).content)
    airgap.note(mine, cid, "alexandra", "Who takes it?", tmp_path / "n.odbx")
    page = alexandra.submit(alexandra.get(""), "Upload replies",
                            files=[("replies", "n.odbx", (tmp_path / "n.odbx").read_bytes())])
    assert page.status == 200 and "stored a note" in page.text
    assert _row(alexandra, name)["status"] != "replied"  # a note is not an answer to the reporter
    assert "uploaded a note" in alexandra.get("audit").text
    assert "uploaded a note" not in bahaa.get("audit").text


def test_a_v010_instance_keeps_its_reporters_and_gets_names_from_the_curated_list(tmp_path):
    data = tmp_path / "instance"
    shutil.copytree(FIXTURE / "instance", data)
    fixture = json.loads((FIXTURE / "fixture.json").read_text())
    ids = [r["conversation"] for r in fixture["reports"]]
    # A v0.1.0 desk had drawn names from the whole EFF list; put two such names in place.
    with sqlite3.connect(data / "dropbox.sqlite3") as db:
        db.executemany("INSERT INTO desk_conversations (conversation_id, designation) VALUES (?, ?)",
                       [(ids[0], "mortality-preacher"), (ids[1], desk_name(ids[0]))])
    apply_upgrades(data)  # what `dropbox upgrade` does
    with sqlite3.connect(data / "dropbox.sqlite3") as db:
        names = dict(db.execute("SELECT conversation_id, designation FROM desk_conversations"))
    assert names == {ids[0]: desk_name(ids[0]), ids[1]: desk_name(ids[1])}
    name_community(data)
    server = start_server(data)
    try:
        for report in fixture["reports"]:
            assert len(report["codename"].split()) == 7  # made from the whole EFF list
            _, page = log_in(server, report["codename"])
            assert page.status == 200 and "Your conversation" in page.text
        client = FormClient(server.url)
        fresh = client.submit(client.get("/"), "Start a new report")
        assert len(fresh.by_id("codename").text().split()) == 8
    finally:
        server.stop()
