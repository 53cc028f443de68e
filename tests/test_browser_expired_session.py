"""Issue 13: a reporter never loses what they wrote when the session ends mid-form.

In Chromium with JavaScript off (as in test_browser_reporter.py): the session
ends while the reporter writes; sending brings a new codename to write down,
one line saying what happened and which files to attach again, and then the
report form with every answer still in it. Each page is checked with axe-core
and saved as a screenshot.
"""
from __future__ import annotations

import json
import secrets
import time

import pytest

from conftest import dropbox, opened_conversations
from support.browser import Visit

IDLE_SECONDS = 3
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("configured_server", [{"session_idle_seconds": IDLE_SECONDS}], indirect=True)
def test_report_written_while_the_session_ended_comes_back_filled_in(browser, configured_server,
                                                                     airgap, tmp_path):
    site = configured_server
    marker = secrets.token_hex(6)
    visit = Visit(browser, site, "en")
    page = visit.page
    try:
        page.goto("/")
        page.click("form[action$='/start'] button")
        first_codename = page.locator("#codename").inner_text()
        page.check("#written_down")
        page.click("form[action$='/codename'] button")
        words = f"It happened at the meetup, an hour of writing. {marker}"
        page.fill("#message", words)
        page.fill("#when", "last spring")
        page.fill("#involved", "a person at the meetup")
        page.check("#content_warning")
        page.check('input[name="behaviours"][value="threats"]')
        page.uncheck('input[name="recipients"][value="bahaa"]')
        evidence = tmp_path / f"evidence-{marker}.txt"
        evidence.write_text(marker)
        page.set_input_files("#files", evidence)
        time.sleep(IDLE_SECONDS + 1.5)  # the session ends while the reporter writes
        page.click("form[action$='/report'] button[type=submit]")

        # Not thrown away: a new codename to write down, one line saying why and which file.
        notice = page.locator("#error-summary").inner_text()
        assert "Your session had ended" in notice and f"evidence-{marker}.txt" in notice
        visit.check("expired-codename")
        # A codename that is hard to write down can be swapped without losing the words.
        page.click("form[action$='/start'] button")
        assert f"evidence-{marker}.txt" in page.locator("#error-summary").inner_text()
        assert page.locator("#codename").inner_text() != first_codename
        page.check("#written_down")
        page.click("form[action$='/codename'] button")

        # The report form again, every answer in it, and the file asked for by name.
        assert page.locator("#message").input_value() == words
        assert page.locator("#when").input_value() == "last spring"
        assert page.locator("#involved").input_value() == "a person at the meetup"
        assert page.locator("#content_warning").is_checked()
        assert page.locator('input[name="behaviours"][value="threats"]').is_checked()
        assert not page.locator('input[name="recipients"][value="bahaa"]').is_checked()
        dropped = page.locator("#error-summary").inner_text()
        assert "was not kept" in dropped and f"evidence-{marker}.txt" in dropped
        visit.check("expired-report")
        page.set_input_files("#files", evidence)
        page.click("form[action$='/report'] button[type=submit]")
        assert "has been sent" in page.locator("main").inner_text()
    finally:
        visit.close()
    assert not visit.violations, json.dumps(visit.violations, indent=1, ensure_ascii=False)

    # The report, with its file, is filed under the codename the reporter wrote down second.
    bundle = tmp_path / "export.bundle"
    dropbox("export", "--data", site.data, "--out", bundle)
    opened = tmp_path / "opened"
    airgap.open(bundle, "alexandra", opened)
    [conversation] = [p for p in opened_conversations(opened).values() if (p / "report.txt").is_file()
                      and marker in (p / "report.txt").read_text("utf-8")]
    assert (conversation / "attachments" / f"evidence-{marker}.txt").read_text() == marker
