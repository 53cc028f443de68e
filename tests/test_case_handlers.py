"""Who handles a case: a reader of the conversation takes it or hands it to another reader; the
desk's list shows the handlers and can show only mine; `keys open`'s index names them; the audit
says who took and handed over what. A left-out responder and the reporter see none of it.
"""
from __future__ import annotations

import re

import pytest

from conftest import dropbox
from support.airgap import opened_conversations
from test_case_status import _conversation, case  # noqa: F401 - the fixture

pytestmark = pytest.mark.usefixtures("case")


def _post(desk, path: str, **data):
    return desk.client.post(path, data={"csrf_token": desk.token("/"), **data})


def _handlers_cell(desk, designation: str, query: str = "") -> str | None:
    page = desk.client.get(f"/{query}").text
    row = re.search(rf'<tr class="conversation[^"]*" id="{designation}">(.*?)</tr>', page, re.S)
    return None if row is None else re.search(r'class="handlers"[^>]*>([^<]*)<', row.group(1)).group(1)  # type: ignore[union-attr]


def test_a_reader_takes_a_case_and_hands_it_to_another_reader_and_the_audit_says_so(case):  # noqa: F811
    _, desks, designation, _ = case
    alexandra, bahaa = desks["alexandra"], desks["bahaa"]
    assert _handlers_cell(alexandra, designation) == "-"
    assert _post(alexandra, f"/conversations/{designation}/take").status_code == 302
    assert _handlers_cell(bahaa, designation) == "alexandra"
    assert _post(alexandra, f"/conversations/{designation}/hand", to="bahaa").status_code == 302
    assert _handlers_cell(alexandra, designation) == "bahaa"
    assert "Handled by bahaa." in alexandra.client.get(f"/conversations/{designation}/case").text
    audit = bahaa.client.get("/audit").text
    assert "took a case" in audit and "handed a case to <bdi>bahaa</bdi>" in audit


@pytest.mark.parametrize("to", ["mario", "beatrice", "nobody", ""])
def test_handing_a_case_to_anyone_but_another_reader_is_refused_and_nothing_changes(case, to):  # noqa: F811
    _, desks, designation, store = case
    _post(desks["alexandra"], f"/conversations/{designation}/take")
    refused = _post(desks["alexandra"], f"/conversations/{designation}/hand", to=to)
    assert refused.status_code == 400 and "Only another reader of this conversation" in refused.text
    assert _handlers_cell(desks["alexandra"], designation) == "alexandra"


def test_a_left_out_responder_and_the_reporter_see_nothing_of_who_handles_it(case):  # noqa: F811
    reporter, desks, designation, _ = case
    _post(desks["alexandra"], f"/conversations/{designation}/take")
    mario = desks["mario"]
    for action in ("take", "hand"):
        assert _post(mario, f"/conversations/{designation}/{action}", to="mario").status_code == 404
    assert designation not in mario.client.get("/").text
    assert "took a case" not in mario.client.get("/audit").text
    page = _conversation(reporter)
    assert "andl" not in page  # no "handled", "handles", "handler"


def test_the_list_shows_only_the_cases_i_handle_on_asking(case, reporter):  # noqa: F811
    from formclient import open_report_form
    _, desks, designation, _ = case
    _, form = open_report_form(reporter)
    reporter.submit(form, "Send the report", fill={"message": "another"})
    bahaa = desks["bahaa"]
    assert len(re.findall(r'<tr class="conversation', bahaa.client.get("/").text)) == 2
    _post(bahaa, f"/conversations/{designation}/take")
    mine = bahaa.client.get("/?mine=1").text
    assert re.findall(r'<tr class="conversation[^"]*" id="([a-z-]+)"', mine) == [designation]
    assert "1 conversation." in mine


def test_keys_open_s_index_names_the_handlers_and_a_left_out_bundle_holds_nothing(case, airgap, instance,  # noqa: F811
                                                                                  tmp_path):
    _, desks, designation, _ = case
    _post(desks["alexandra"], f"/conversations/{designation}/take")
    bundle = tmp_path / "bahaa.odbx"
    bundle.write_bytes(desks["bahaa"].client.get("/bundle").data)
    airgap.open(bundle, "bahaa", tmp_path / "opened")
    [folder] = opened_conversations(tmp_path / "opened").values()
    assert "\nhandled by: alexandra\n" in (folder / "index.txt").read_text("utf-8")
    dropbox("export", "--data", instance, "--out", tmp_path / "export", "--all")
    said = airgap.open(tmp_path / "export", "mario", tmp_path / "mario").out
    assert "excluded from 1" in said
    assert b'"handlers":["alexandra"]' in (tmp_path / "export" / "bahaa.odbx").read_bytes()
    assert b"handlers" not in (tmp_path / "export" / "mario.odbx").read_bytes()
