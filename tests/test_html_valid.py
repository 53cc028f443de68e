"""Every reporter and desk page passes the Nu HTML checker (the W3C's, vnu.jar) without an error.

The pages are fetched from the real server in the states a person meets them
(forms refused with errors, a deletion waiting, a refused login, problem
pages), in English and in Arabic (right to left), and handed to vnu.jar in
one run. vnu.jar comes from npm (`vnu-jar`, pinned in tests/browser/
package-lock.json); it needs a Java runtime (`default-jre-headless` in .ci/run).
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import require_tool, start_server, unavailable
from conftest import dropbox
from deskclient import desk_url, enrol, new_instance, parse_enrolment_code
from formclient import FormClient, open_report_form

STYLESHEET = Path(__file__).parent.parent / "dropbox" / "static" / "site.css"
VNU = Path(__file__).parent / "browser" / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"

pytestmark = pytest.mark.slow


def _reporter_pages(url: str, language: str) -> dict[str, str]:
    client = FormClient(url)
    pages = {"landing": client.get(f"/language/{language}?next=/")}
    start = client.submit(pages["landing"], "")
    pages["codename"] = start
    pages["codename-refused"] = client.submit(start, "", fill={})  # "I have written it down" unchecked
    pages["report"] = client.submit(start, "", fill={"written_down": "y"})
    pages["report-refused"] = client.submit(pages["report"], "", fill={
        "message": "words", "team_involved": "yes"}, files=[("files", "photo one.jpg", b"x"),
                                                            ("files", "notes.txt", b"y")])
    pages["submitted"] = client.submit(pages["report-refused"], "", fill={"message": "words"},
                                       uncheck={"recipients": {"bahaa"}},
                                       files=[("files", "photo one.jpg", b"x")])
    pages["login"] = client.get("/login")
    pages["login-refused"] = client.submit(pages["login"], "", fill={"codename": "not a codename"})
    pages["problem-404"] = client.get("/no-such-page")
    tor2web = FormClient(url)
    tor2web.http.headers["Host"] = "example.onion.to"
    pages["tor2web"] = tor2web.get("/")
    # A logged-in reporter: a conversation, a follow-up with a file, the delete pages.
    reporter = FormClient(url)
    codename, form = open_report_form(reporter)
    reporter.submit(form, "", fill={"message": "first"})
    reporter.get(f"/language/{language}?next=/")
    conversation = reporter.get("/conversation")
    pages["conversation"] = conversation
    pages["conversation-sent"] = reporter.submit(conversation, "", fill={"message": "more"},
                                                 files=[("files", "a.txt", b"a")])
    pages["conversation-refused"] = reporter.submit(conversation, "", fill={"message": ""})
    pages["delete"] = reporter.get("/delete")
    pages["deleted"] = reporter.submit(pages["delete"], "")
    for name, page in pages.items():
        assert page.status < 500, (language, name)
    return {f"reporter-{language}-{name}": page.response.text for name, page in pages.items()}


# The desk's buttons a test presses, in each language it visits (a logged-in page's first
# button is "Log out").
BUTTONS = {"en": {"delete": "Delete it on", "upload": "Upload replies", "passphrase": "Change my passphrase",
                  "invite": "Make an invitation"},
           "ar": {"delete": "احذفها في", "upload": "رفع الردود", "passphrase": "تغيير عبارة المرور",
                  "invite": "إنشاء دعوة"}}


def _desk_pages(data: Path, server, language: str, name: str) -> dict[str, str]:
    """Every desk page in `language`, as responder `name` meets it from enrolment on."""
    url = desk_url(server)
    code = parse_enrolment_code(dropbox("desk", "add-user", name, "--data", data).out)
    client = FormClient(url)
    pages = {"login": client.get(f"language/{language}?next=/login")}
    pages["enrol"] = client.get("enrol")
    pages["enrol-refused"] = client.submit(pages["enrol"], "", fill={"code": "not-a-code"})
    pages["enrol-choose"] = client.submit(pages["enrol"], "", fill={"code": code})
    pages["enrol-choose-refused"] = client.submit(pages["enrol-choose"], "", fill={
        "passphrase": "short", "again": "short", "otp": "000000"})
    login = enrol(data, name, code)
    refused = FormClient(url)
    refused.get(f"language/{language}?next=/login")
    pages["login-refused"] = refused.submit(refused.get("login"), "", fill={
        "username": name, "password": "wrong password", "otp": login.code()})
    listed = client.submit(client.get("login"), "", fill={
        "username": name, "password": login.password, "otp": login.code()})
    # One no deletion waits for (a language visited before asked to delete its first).
    first = next(n.attrs["id"] for n in listed.by_class("conversation") if not n.has_class("deleting"))
    pages["close"] = client.get(f"conversations/{first}/close")
    pages["delete"] = client.get(f"conversations/{first}/delete")
    client.submit(pages["delete"], BUTTONS[language]["delete"])
    pages["keep"] = client.get(f"conversations/{first}/keep")
    pages["conversations"] = client.get("")
    pages["upload-refused"] = client.submit(pages["conversations"], BUTTONS[language]["upload"],
                                            files=[("replies", "junk.odbx", b"junk")])
    pages["audit"] = client.get("audit")
    pages["account"] = client.get("account")
    pages["account-refused"] = client.submit(pages["account"], BUTTONS[language]["passphrase"], fill={
        "passphrase-current": "wrong", "passphrase-otp": "000000",
        "passphrase-passphrase": "a new passphrase", "passphrase-again": "a new passphrase"})
    pages["problem-404"] = client.get("no-such-page")
    client.get("bundle")
    pages["nothing-new"] = client.get("bundle")
    # The person reported: invited on the desk, their pages on the reporter site (respondent.py).
    pages["invitations"] = client.get(f"conversations/{first}/invitations")
    pages["invitation-made"] = client.submit(pages["invitations"], BUTTONS[language]["invite"])
    made = pages["invitation-made"].by_id("codename")
    assert made is not None
    respondent = FormClient(server.url)
    respondent.get(f"/language/{language}?next=/")
    theirs = {"login": respondent.get("/respond/")}
    theirs["login-refused"] = respondent.submit(theirs["login"], "", fill={"codename": "not a codename"})
    theirs["page"] = respondent.submit(theirs["login"], "", fill={"codename": made.text().strip()})
    theirs["sent"] = respondent.submit(theirs["page"], "", fill={"message": "my side"},
                                       files=[("files", "a.txt", b"a")])
    theirs["refused"] = respondent.submit(theirs["page"], "", fill={"message": ""})
    for what, page in {**pages, **theirs}.items():
        assert page.status < 500, (language, what)
    return {**{f"desk-{language}-{what}": page.response.text for what, page in pages.items()},
            **{f"respondent-{language}-{what}": page.response.text for what, page in theirs.items()}}


def test_every_reporter_and_desk_page_passes_the_nu_html_checker(tmp_path, instance_template):
    java = require_tool("java")
    if not VNU.is_file():
        unavailable("vnu.jar is not installed: run `make install` (npm ci in tests/browser)")
    data = new_instance(tmp_path, instance_template)
    server = start_server(data)
    try:
        pages = {}
        for language in ("en", "ar"):
            pages.update(_reporter_pages(server.url, language))
        for language, name in (("en", "alexandra"), ("ar", "mario")):
            pages.update(_desk_pages(data, server, language, name))
    finally:
        server.stop()
    folder = tmp_path / "pages"
    folder.mkdir()
    for name, html in pages.items():
        (folder / f"{name}.html").write_text(html, "utf-8")
    run = subprocess.run([java, "-jar", str(VNU), "--format", "json", "--also-check-css",
                          *sorted(str(p) for p in folder.iterdir()), str(STYLESHEET)],
                         capture_output=True, check=False, text=True, timeout=300)
    messages = json.loads(run.stderr or run.stdout)["messages"]
    errors = [f"{Path(m.get('url', '')).name}:{m.get('lastLine')}: {m['message']} [{m.get('extract', '').strip()}]"
              for m in messages if m["type"] in ("error", "non-document-error")]
    assert len(pages) >= 40
    assert not errors, f"{len(errors)} Nu checker errors in {len(pages)} pages:\n" + "\n".join(errors)
