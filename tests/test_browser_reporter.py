"""The reporter's whole flow in a real browser with JavaScript off, in every language.

Playwright drives Debian's Chromium (never a downloaded browser) with
JavaScript disabled, as Tor Browser at its Safest level would run. Every
page is saved as a screenshot in tests/artifacts/screenshots/ and checked
with axe-core (from npm). axe needs JavaScript to run, so each page the
no-JavaScript browser shows is handed, exactly as it is, to a second
context that loads it at the same address (its stylesheet from the real
server) and runs axe there. One browser serves the whole module; each
language's flow runs in one browser context.
"""
from __future__ import annotations

import json
import secrets

import pytest

from conftest import TEAM, dropbox, opened_conversations
from support.browser import LANGUAGES, SCREENSHOTS, Visit

# What each language's pages must say, so a test notices an untranslated page.
SENT = {"en": "has been sent", "es": "ha sido enviado", "fr": "a été envoyé", "ar": "تم إرسال بلاغك"}

pytestmark = pytest.mark.slow


def _export_and_reply(site, airgap, tmp_path, marker: str, reply_text: str) -> None:
    """The responders' side: open what is new, find the report with `marker`, reply to it."""
    bundle = tmp_path / "export.bundle"
    dropbox("export", "--data", site.data, "--out", bundle)
    opened = tmp_path / "opened"
    airgap.open(bundle, "alexandra", opened)
    [(conversation_id, conversation)] = [
        (cid, p) for cid, p in opened_conversations(opened).items()
        if (p / "report.txt").is_file() and marker in (p / "report.txt").read_text("utf-8")]
    report = (conversation / "report.txt").read_text("utf-8")
    assert report.startswith("CONTENT WARNING")
    assert "Threats of violence" in report  # the answers reach the responders in English
    assert (conversation / "attachments" / f"evidence-{marker}.txt").read_text() == marker
    reply = tmp_path / "reply.odbx"
    airgap.reply(bundle, conversation_id, "alexandra", reply_text, reply)
    dropbox("import-replies", reply, "--data", site.data)


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_whole_flow_without_javascript_passes_axe_on_every_page(browser, site, airgap, tmp_path, language):
    marker = secrets.token_hex(6)
    visit = Visit(browser, site, "en")
    page = visit.page
    try:
        page.goto("/")
        if language != "en":
            page.click(f'a[hreflang="{language}"]')
        visit.language = language
        visit.check("landing")

        page.click("form[action$='/start'] button")
        codename = page.locator("#codename").inner_text().split()
        assert len(codename) == 8
        visit.check("codename")
        # The browser itself refuses to go on until "I have written it down" is checked.
        assert page.locator("#written_down").get_attribute("required") is not None
        page.check("#written_down")
        page.click("form[action$='/codename'] button")

        assert page.locator('input[name="recipients"]:checked').count() == len(TEAM)
        visit.check("report")
        page.fill("#message", f"It happened at the meetup. {marker}")
        page.check("#content_warning")
        page.check('input[name="behaviours"][value="threats"]')
        page.check('input[name="places"][value="event"]')
        page.fill("#when", "last spring")
        evidence = tmp_path / f"evidence-{marker}.txt"
        evidence.write_text(marker)
        page.set_input_files("#files", evidence)
        page.click("form[action$='/report'] button[type=submit]")
        assert SENT[language] in page.locator("main").inner_text()
        visit.check("submitted")

        reply_text = f"We have read your report. {marker}"
        _export_and_reply(site, airgap, tmp_path, marker, reply_text)

        page.click("form[action$='/logout'] button")
        page.click("a[href$='/login']")
        visit.check("login")
        page.fill("#codename", " ".join(codename))
        page.click("form[action$='/login'] button")
        assert reply_text in page.locator(".reply").inner_text()
        visit.check("conversation")
    finally:
        visit.close()
    assert not visit.violations, json.dumps(visit.violations, indent=1, ensure_ascii=False)


def _tab_to(page, selector: str, presses: int = 120) -> None:
    """Press Tab until the element matching `selector` has the focus, as a keyboard user would."""
    target = page.locator(selector)
    for _ in range(presses):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{selector} cannot be reached with the Tab key on {page.url}")


def _press(page, selector: str, key: str, then_at: str | None = None) -> None:
    """Tab to `selector`, press `key` there, and wait for the page it leads to."""
    _tab_to(page, selector)
    page.keyboard.press(key)
    if then_at:
        page.wait_for_url(then_at)


def test_whole_flow_can_be_done_with_the_keyboard_alone(browser, site):
    visit = Visit(browser, site, "en")
    page = visit.page
    try:
        page.goto("/")
        page.keyboard.press("Tab")  # the first stop on every page is the quick exit
        assert page.locator("a.quick-exit").evaluate("e => e === document.activeElement")
        _press(page, "form[action$='/start'] button", "Enter", "**/codename")
        codename = " ".join(page.locator("#codename li").all_inner_texts())  # its numbered words
        _press(page, "#written_down", "Space")
        _press(page, "form[action$='/codename'] button", "Enter", "**/report")
        _tab_to(page, "#message")
        page.keyboard.type("Typed with the keyboard alone.")
        _press(page, "#content_warning", "Space")
        _press(page, "input[name=behaviours][value=intimidation]", "Space")
        _press(page, "form[action$='/report'] button[type=submit]", "Enter", "**/submitted")
        _press(page, "form[action$='/logout'] button", "Enter", site.url)
        _press(page, "a[href$='/login']", "Enter", "**/login")
        _tab_to(page, "#codename")
        page.keyboard.type(codename)
        page.keyboard.press("Enter")
        page.wait_for_url("**/conversation")
        assert "Your conversation" in page.locator("h1").inner_text()
    finally:
        visit.close()


@pytest.mark.parametrize("language", ["en", "ar"])
def test_every_page_fits_a_320_pixel_wide_screen(browser, site, language):
    visit = Visit(browser, site, language, width=320)
    page = visit.page
    try:
        page.goto(f"/language/{language}?next=/")
        widths = {"landing": visit.width()}
        page.click("form[action$='/start'] button")
        widths["codename"] = visit.width()
        page.check("#written_down")
        page.click("form[action$='/codename'] button")
        widths["report"] = visit.width()
        page.screenshot(path=SCREENSHOTS / f"{language}-report-320px.png", full_page=True)
        page.goto("/login")
        widths["login"] = visit.width()
    finally:
        visit.close()
    assert all(width <= 320 for width in widths.values()), widths
