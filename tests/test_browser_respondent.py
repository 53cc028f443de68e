"""The person reported's whole path in Chromium with JavaScript off, in every language (issue 21).

A report arrives; a reader invites the person reported on the desk (the codename shown once);
the team writes to them offline (`keys reply --to-respondent`) and imports it; they log in with
the invitation, read the process and the team's words, and respond with a file; the team opens
the response offline, named as theirs, and replies; they read the reply. Every page of theirs is
checked with axe-core and saved as a screenshot (tests/artifacts/screenshots/), as the reporter's
are (support/browser.py).
"""
from __future__ import annotations

import json
import secrets

import pytest

from conftest import dropbox, opened_conversations, start_server
from deskclient import add_user, desk_url, new_instance
from support.browser import LANGUAGES, DeskSite, Visit, log_in_to_desk
from support.reporter import new_report

pytestmark = pytest.mark.slow

# The process in the team's words (code-of-practice.toml, [[for_the_person_reported]]), by language.
RETALIATION = {"en": "Retaliation against anyone", "es": "Las represalias contra quien reporta",
               "fr": "Les représailles contre une personne", "ar": "الانتقام من أي شخص يُبلّغ"}


@pytest.fixture(scope="module")
def team(tmp_path_factory, instance_template, browser):
    """The site and its desk, with alexandra logged in to the desk once (a code serves once)."""
    data = new_instance(tmp_path_factory.mktemp("respondent-browser"), instance_template)
    login = add_user(data, "alexandra")
    server = start_server(data)
    visit = Visit(browser, DeskSite(desk_url(server)), "en", width=1280)
    log_in_to_desk(visit.page, login)
    yield server, visit
    visit.close()
    server.stop()


def _write_to_them(server, airgap, tmp_path, conversation: str, invitation: str, words: str, name: str) -> None:
    """The team's side: export, write to the person reported offline, import the reply file."""
    bundle = tmp_path / f"{name}.export"
    dropbox("export", "--data", server.data, "--out", bundle, "--all")
    out = tmp_path / f"{name}.reply.odbx"
    (tmp_path / f"{name}.txt").write_text(words, "utf-8")
    dropbox("keys", "reply", bundle, conversation, "--key", airgap.key("bahaa"), "--message-file",
            tmp_path / f"{name}.txt", "--out", out, "--passphrase-file", airgap.passphrase_file,
            "--to-respondent", invitation)
    dropbox("import-replies", out, "--data", server.data)


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_the_person_reported_reads_the_team_s_words_and_responds_without_javascript(
        browser, team, airgap, tmp_path, language):
    server, desk = team
    marker = secrets.token_hex(6)
    new_report(server, f"It happened at the meetup. {marker}")
    exported = tmp_path / "first.export"
    dropbox("export", "--data", server.data, "--out", exported, "--all")
    opened = tmp_path / "opened"
    airgap.open(exported, "bahaa", opened)
    [(conversation, folder)] = [(cid, folder) for cid, folder in opened_conversations(opened).items()
                                if marker in (folder / "report.txt").read_text("utf-8")]
    designation = folder.name.rsplit("_", 1)[0]
    # The desk: the conversation invited; the codename is on this page only.
    desk.page.goto(f"conversations/{designation}/invitations")
    desk.page.click("main form button[type=submit]")
    codename = desk.page.locator("#codename").inner_text().strip()
    assert len(codename.split()) == 8
    invitation = desk.page.locator("table.invitations tbody th code").first.inner_text()
    desk.axe_and_screenshot("desk-invitation")
    desk.page.set_viewport_size({"width": 320, "height": 900})
    assert desk.width() <= 320
    desk.axe_and_screenshot("desk-invitation-320px")
    desk.page.set_viewport_size({"width": 1280, "height": 900})
    first_words = f"A report names you. You may answer here, or not. {marker}"
    _write_to_them(server, airgap, tmp_path, conversation, invitation, first_words, "first")

    visit = Visit(browser, server, "en")
    page = visit.page
    try:
        page.goto("/respond/")
        if language != "en":
            page.click(f'a[hreflang="{language}"]')
        visit.language = language
        visit.check("respondent-login")
        page.fill("#codename", codename)
        page.click("form[action$='/respond/'] button")
        assert RETALIATION[language] in page.locator("main").inner_text()
        assert first_words in page.locator(".reply").inner_text()
        assert marker not in page.locator(".process").inner_text()
        assert "It happened at the meetup" not in page.content()
        visit.check("respondent-page")
        statement = tmp_path / f"statement-{marker}.txt"
        statement.write_text(f"my side {marker}")
        page.fill("#message", f"My account of that evening. {marker}")
        page.set_input_files("#files", statement)
        page.click("form[action$='/respond/answer'] button[type=submit]")
        assert page.locator("#sent").count() == 1
        visit.check("respondent-sent")

        # The team opens the response offline, named as the person reported's, and answers.
        second = tmp_path / "second.export"
        dropbox("export", "--data", server.data, "--out", second)
        airgap.open(second, "bahaa", opened)
        folder = opened_conversations(opened)[conversation]
        index = (folder / "index.txt").read_text("utf-8")
        assert f"response from the person reported (invitation {invitation})" in index
        assert (folder / "attachments" / statement.name).read_text() == f"my side {marker}"
        reply = f"Thank you: we will tell you what we decide. {marker}"
        _write_to_them(server, airgap, tmp_path, conversation, invitation, reply, "second")
        page.goto("/respond/answer")
        assert reply in page.locator("ol.items").inner_text()
        visit.check("respondent-reply")
        page.set_viewport_size({"width": 320, "height": 900})
        assert visit.width() <= 320  # readable on a phone, in every language
        visit.check("respondent-reply-320px")
    finally:
        visit.close()
    assert not visit.violations, json.dumps(visit.violations, indent=1, ensure_ascii=False)
    assert not desk.violations, json.dumps(desk.violations, indent=1)
