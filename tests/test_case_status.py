"""Where a case stands, for its reporter: the day the team received the report, and the state a
reader set on the desk, in the team's words (the code of practice's `[[case_states]]`) and the
reporter's language. Through Flask's test clients, one instance, both apps in this process.
"""
from __future__ import annotations

import datetime
import re
import shutil

import pytest

from deskclient import add_user
from dropbox.config import Config
from dropbox.desk.app import create_desk_app
from dropbox.practice import EXAMPLE, Practice, PracticeError
from formclient import FormClient, open_report_form
from support.commands import dropbox

TODAY = datetime.date.today().isoformat()


class Desk:
    """One responder logged in to the desk through the test client."""

    def __init__(self, app, login):
        self.client = app.test_client()
        answer = self.client.post("/login", data={"csrf_token": self.token("/login"), "username": login.name,
                                                  "password": login.password, "otp": login.code()})
        assert answer.status_code == 302, answer.text

    def token(self, path: str) -> str:
        found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', self.client.get(path).text)
        assert found is not None
        return found.group(1)

    def set_state(self, designation: str, state: str):
        path = f"/conversations/{designation}/case"
        return self.client.post(path, data={"csrf_token": self.token("/"), "state": state})


@pytest.fixture
def case(instance, reporter: FormClient):
    """A report to alexandra and bahaa (mario left out), and the desk of all three."""
    _, form = open_report_form(reporter)
    sent = reporter.submit(form, "Send the report", fill={"message": "what happened"},
                           uncheck={"recipients": {"mario", "beatrice"}})
    assert sent.status == 200, sent.text
    logins = {name: add_user(instance, name) for name in ("alexandra", "bahaa", "mario")}
    app = create_desk_app(Config.load(instance))
    desks = {name: Desk(app, login) for name, login in logins.items()}
    store = app.extensions["dropbox"].store
    (designation,) = re.findall(r'<tr class="conversation[^"]*" id="([a-z-]+)"',
                                desks["alexandra"].client.get("/").text)
    return reporter, desks, designation, store


def _conversation(reporter: FormClient, language: str = "en") -> str:
    reporter.get(f"/language/{language}")
    page = reporter.get("/conversation")
    assert page.status == 200
    return page.text


def test_the_reporter_is_told_the_team_received_the_report_once_a_reader_downloads_it(case):
    reporter, desks, _, _ = case
    assert "received your report" not in _conversation(reporter)
    assert desks["alexandra"].client.get("/bundle").status_code == 200
    for language, said in (("en", "The response team has received your report"),
                           ("es", "El equipo de respuesta ha recibido tu reporte"),
                           ("fr", "L'équipe de réponse a bien reçu votre signalement"),
                           ("ar", "تسلّم فريق الاستجابة بلاغك")):
        assert f"{said} ({TODAY})." in _conversation(reporter, language)


def test_a_team_export_is_a_download_for_every_reader(case, instance, tmp_path):
    reporter, _, _, _ = case
    dropbox("export", "--data", instance, "--out", tmp_path / "out")
    assert f"has received your report ({TODAY})" in _conversation(reporter)


def test_the_state_a_reader_sets_is_shown_in_the_reporter_s_language_with_its_day(case):
    reporter, desks, designation, _ = case
    assert desks["bahaa"].set_state(designation, "waiting-for-you").status_code == 302
    practice = Practice.load(EXAMPLE)
    for language in ("en", "es", "fr", "ar"):
        page = _conversation(reporter, language)
        assert practice.case_state("waiting-for-you")(language) in page
        assert TODAY in page
    desk_page = desks["alexandra"].client.get(f"/conversations/{designation}/case").text
    assert f"The response team is waiting for your answer. (since {TODAY})" in desk_page
    assert "set a case&#39;s state" in desks["alexandra"].client.get("/audit").text


def test_a_left_out_responder_cannot_see_or_set_the_state(case):
    reporter, desks, designation, store = case
    assert desks["mario"].set_state(designation, "decided").status_code == 404
    assert desks["mario"].client.get(f"/conversations/{designation}/case").status_code == 404
    assert store.cases.progress(store.conversations.inactive_since("9999").popitem()[0]).state is None
    assert "set a case" not in desks["mario"].client.get("/audit").text


def test_a_state_not_in_the_code_of_practice_is_refused_and_nothing_changes(case):
    reporter, desks, designation, _ = case
    assert desks["alexandra"].set_state(designation, "guilty as charged").status_code == 400
    assert desks["alexandra"].set_state(designation, "").status_code == 400
    assert "since" not in _conversation(reporter)


def test_case_states_need_every_language(tmp_path):
    text = EXAMPLE.read_text("utf-8")
    broken = tmp_path / "code-of-practice.toml"
    broken.write_text(text.replace('fr = "L\'équipe de réponse a décidé de la suite à donner."\n', ""), "utf-8")
    with pytest.raises(PracticeError, match=r"\[\[case_states\]\] 'decided' needs a text in every language; "
                                            r"it has none in: fr"):
        Practice.load(broken)


def test_a_code_of_practice_without_case_states_gets_the_example_s(tmp_path):
    v0_1_0 = tmp_path / "code-of-practice.toml"
    shutil.copyfile("tests/fixtures/v0.1.0/instance/code-of-practice.toml", v0_1_0)
    assert "case_states" not in v0_1_0.read_text("utf-8")
    assert Practice.load(v0_1_0).case_states == Practice.load(EXAMPLE).case_states


def test_a_v0_1_0_instance_upgraded_has_case_states_and_its_exported_reports_are_received(tmp_path):
    data = tmp_path / "instance"
    shutil.copytree("tests/fixtures/v0.1.0/instance", data)
    dropbox("upgrade", "--data", data)
    config = Config.load(data)
    assert [s.id for s in config.practice.case_states] == [s.id for s in Practice.load(EXAMPLE).case_states]
    from dropbox.storage import Store
    store = Store(config.database, config.store_dir, config.tmp_dir)
    conversations = store.conversations.inactive_since("9999")
    assert conversations  # all of them were in a team export (export-1.bundle)
    for conversation_id in conversations:
        assert store.cases.progress(conversation_id).acknowledged == TODAY
