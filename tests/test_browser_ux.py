"""For the people on both ends, in Chromium with JavaScript off, in every language: problems at
the top of the page, files never dropped silently, recusal that adds up, consent as the code
of practice says it, a warning about files' metadata, the truth about copies already opened.

Uses test_browser_reporter's browser, instance and Visit (axe-core and a screenshot per page).
"""
from __future__ import annotations

import json
from contextlib import contextmanager

import pytest
import requests

from conftest import TEAM
from support.browser import LANGUAGES, Visit

pytestmark = pytest.mark.slow

PROBLEM = {"en": "There is a problem", "es": "Hay un problema", "fr": "Il y a un problème",
           "ar": "هناك مشكلة"}
ARRIVED = {"en": "2 files arrived with it", "es": "Llegaron 2 archivos con él",
           "fr": "2 fichiers sont arrivés avec lui", "ar": "وصل معه ملفان"}
OFFLINE_COPIES = {"en": "already opened on the team's offline computer are not deleted",
                  "ar": "هذا لا يحذف النسخ التي فتحها الفريق"}
SENT_ONE = {"en": "Sent, with 1 file", "es": "Enviado, con 1 archivo", "fr": "Envoyé, avec 1 fichier",
            "ar": "أُرسل مع ملف واحد"}


def _to_the_report_form(page, language: str) -> None:
    page.goto(f"/language/{language}?next=/")
    page.click("form[action$='/start'] button")
    page.check("#written_down")
    page.click("form[action$='/codename'] button")


@contextmanager
def _at_the_report_form(browser, site, language: str):
    """A reporter at the report form in `language`; axe must find nothing on the pages checked."""
    visit = Visit(browser, site, language)
    try:
        _to_the_report_form(visit.page, language)
        yield visit
    finally:
        visit.close()
    assert not visit.violations, json.dumps(visit.violations, indent=1, ensure_ascii=False)


def _files(tmp_path, *names: str) -> list:
    paths = []
    for name in names:
        (tmp_path / name).write_text(f"evidence {name}")
        paths.append(tmp_path / name)
    return paths


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_a_refused_report_shows_its_problems_first_and_names_the_files_it_could_not_keep(
        browser, site, tmp_path, language):
    with _at_the_report_form(browser, site, language) as visit:
        page = visit.page
        text = f"What happened, written for a long time ({language})."
        page.fill("#message", text)
        # "Yes, someone on the team is involved", with every responder still checked.
        page.check('input[name="team_involved"][value="yes"]')
        page.set_input_files("#files", _files(tmp_path, "photo-1.jpg", "minutes.odt"))
        page.click("form[action$='/report'] button[type=submit]")

        summary = page.locator("#error-summary")
        assert PROBLEM[language] in summary.inner_text()
        assert summary.bounding_box()["y"] < 300  # at the top, not 3,000 px down
        assert summary.evaluate("element => element === document.activeElement")
        assert "photo-1.jpg" in summary.inner_text() and "minutes.odt" in summary.inner_text()
        # Each problem links to its field, which exists on the page.
        for link in summary.locator("a").all():
            assert page.locator(link.get_attribute("href")).count() == 1, link.get_attribute("href")
        assert summary.locator('a[href="#recipients-0"]').count() == 1
        assert page.input_value("#message") == text  # the words are kept
        assert page.locator('input[name="recipients"]:checked').count() == len(TEAM)
        visit.check("report-refused")

        page.uncheck('input[name="recipients"][value="bahaa"]')
        page.set_input_files("#files", _files(tmp_path, "photo-1.jpg", "minutes.odt"))
        page.click("form[action$='/report'] button[type=submit]")
        assert ARRIVED[language] in page.locator("#files-arrived").inner_text()
        visit.check("submitted-files")


@pytest.mark.parametrize("language", ["en", "ar"])
def test_a_follow_up_says_how_many_files_arrived_and_the_pages_warn_about_metadata_and_offline_copies(
        browser, site, tmp_path, language):
    with _at_the_report_form(browser, site, language) as visit:
        page = visit.page
        for hint in page.locator("#files-hint").all():
            assert hint.is_visible()
        assert page.locator("#files").get_attribute("aria-describedby") == "files-hint"
        page.fill("#message", "first words")
        page.click("form[action$='/report'] button[type=submit]")
        page.click("a.button")  # see your conversation
        assert page.locator("#files").get_attribute("aria-describedby") == "files-hint"
        # A follow-up refused (too long) names the file it could not keep, at the top.
        page.fill("#message", "x" * 50_001)
        page.set_input_files("#files", _files(tmp_path, "too-soon.jpg"))
        page.click("form[action$='/conversation'] button[type=submit]")
        summary = page.locator("#error-summary")
        assert "too-soon.jpg" in summary.inner_text() and summary.bounding_box()["y"] < 300
        assert summary.evaluate("element => element === document.activeElement")
        page.fill("#message", "and a photo")
        page.set_input_files("#files", _files(tmp_path, "later.jpg"))
        page.click("form[action$='/conversation'] button[type=submit]")
        assert SENT_ONE[language] in page.locator("#sent").inner_text()
        visit.check("conversation-sent")
        page.click("a[href$='/delete']")
        assert OFFLINE_COPIES[language] in page.locator("main").inner_text()
        visit.check("delete")


def test_consent_says_what_the_code_of_practice_says_and_the_landing_page_matches(browser, site):
    visit = Visit(browser, site, "en")
    page = visit.page
    try:
        page.goto("/")
        landing = page.locator("main").inner_text()
        assert "will contact the person reported" in landing and "usually" not in landing
        _to_the_report_form(page, "en")
        values = {b.get_attribute("value") for b in page.locator('input[name="contact_reported"]').all()}
        assert values == {"tell-me-first", "not-safe", "go-ahead"}  # no "No" the team could not keep
        assert page.locator('input[name="contact_reported"][value="tell-me-first"]').is_checked()
        legend = page.locator("fieldset", has=page.locator('input[name="contact_reported"]')).inner_text()
        assert "will contact the person you report" in legend
        assert "gets no key to your report" in page.locator("#recipients").inner_text()
    finally:
        visit.close()


def test_both_sites_serve_a_favicon_instead_of_a_404(site):
    response = requests.get(site.url + "favicon.ico", timeout=30)
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/vnd.microsoft.icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert response.headers["Content-Security-Policy"]
