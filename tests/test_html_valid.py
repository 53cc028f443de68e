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
from deskclient import add_user, desk_login, desk_url, new_instance
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


def _desk_pages(data: Path, server) -> dict[str, str]:
    url = desk_url(server)
    login = add_user(data, "alexandra")
    refused_client, refused = desk_login(url, login, password="wrong password")
    client, listed = desk_login(url, login)
    first = listed.by_class("conversation")[0].attrs["id"]
    pages = {"login": FormClient(url).get("login"), "login-refused": refused,
             "close": client.get(f"conversations/{first}/close"),
             "delete": client.get(f"conversations/{first}/delete")}
    client.submit(pages["delete"], "Delete it on")
    pages["keep"] = client.get(f"conversations/{first}/keep")
    pages["conversations"] = client.get("")
    pages["upload-refused"] = client.submit(pages["conversations"], "Upload replies",
                                            files=[("replies", "junk.odbx", b"junk")])
    pages["audit"] = client.get("audit")
    pages["problem-404"] = client.get("no-such-page")
    pages["nothing-new"] = client.get("bundle")
    client.get("bundle")
    pages["nothing-new"] = client.get("bundle")
    # The person reported: invited on the desk, their pages on the reporter site (respondent.py).
    pages["invitations"] = client.get(f"conversations/{first}/invitations")
    pages["invitation-made"] = client.submit(pages["invitations"], "Make an invitation")
    made = pages["invitation-made"].by_id("codename")
    assert made is not None
    theirs = {}
    for language in ("en", "ar"):
        respondent = FormClient(server.url)
        respondent.get(f"/language/{language}?next=/")
        theirs[f"{language}-login"] = respondent.get("/respond/")
        theirs[f"{language}-login-refused"] = respondent.submit(theirs[f"{language}-login"], "",
                                                                 fill={"codename": "not a codename"})
        theirs[f"{language}-page"] = respondent.submit(theirs[f"{language}-login"], "",
                                                       fill={"codename": made.text().strip()})
        theirs[f"{language}-sent"] = respondent.submit(theirs[f"{language}-page"], "", fill={
            "message": "my side"}, files=[("files", "a.txt", b"a")])
        theirs[f"{language}-refused"] = respondent.submit(theirs[f"{language}-page"], "", fill={"message": ""})
    return {**{f"desk-{name}": page.response.text for name, page in pages.items()},
            **{f"respondent-{name}": page.response.text for name, page in theirs.items()}}


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
        pages.update(_desk_pages(data, server))
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
