"""Where a case stands, on the reporter's conversation page in a real browser with JavaScript
off, in every language: the day the team received the report and the state a reader set.
Screenshots (wide and 320 px) go to tests/artifacts/screenshots/ with the others.
"""
from __future__ import annotations

import datetime
import json

import pytest

from conftest import dropbox
from dropbox.config import Config
from dropbox.practice import EXAMPLE, Practice
from dropbox.storage import Store
from support.browser import LANGUAGES, SCREENSHOTS, Visit
from support.reporter import new_report

pytestmark = pytest.mark.slow
RECEIVED = {"en": "The response team has received your report", "es": "El equipo de respuesta ha recibido tu reporte",
            "fr": "L’équipe de réponse a bien reçu votre signalement", "ar": "تسلّم فريق الاستجابة بلاغك"}


@pytest.fixture(scope="module")
def codename(site, tmp_path_factory):
    """A report the team has downloaded (a team export) and whose state a reader set."""
    codename, _ = new_report(site, "a report whose case moves on")
    dropbox("export", "--data", site.data, "--out", tmp_path_factory.mktemp("export"))
    config = Config.load(site.data)
    store = Store(config.database, config.store_dir, config.tmp_dir)
    (conversation_id,) = store.conversations.inactive_since("9999")
    store.cases.set_state(conversation_id, "waiting-for-you")
    return codename


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_the_reporter_sees_the_acknowledgement_and_the_state_in_their_language(browser, site, codename, language):
    today = datetime.date.today().isoformat()
    state = Practice.load(EXAMPLE).case_state("waiting-for-you")
    assert state is not None
    for width in (1000, 320) if language in ("en", "ar") else (1000,):
        visit = Visit(browser, site, language, width=width)
        page = visit.page
        try:
            page.goto(f"/language/{language}?next=/login")
            page.fill("#codename", codename)
            page.click("form[action$='/login'] button")
            received = page.locator("#acknowledged").inner_text()
            assert RECEIVED[language].replace("’", "'") in received.replace("’", "'") and today in received
            shown = page.locator("#case-state").inner_text()
            assert state(language) in shown and today in shown
            if width == 320:
                assert visit.width() <= 320
                page.screenshot(path=SCREENSHOTS / f"{language}-conversation-case-320px.png", full_page=True)
            else:
                visit.check("conversation-case")
        finally:
            visit.close()
        assert not visit.violations, json.dumps(visit.violations, indent=1, ensure_ascii=False)
