"""What a reporter sees, in Chromium, in English and Arabic, 320 px and wide: the deletion that
will really happen, what arrived, English text shown left to right inside Arabic pages, the
codename's numbered words, "Keep it" as the delete page's prominent choice, and a warning
when the browser runs scripts (Tor Browser not at Safest), with JavaScript on and off.

Uses the module's browser and server (conftest) and Visit (axe-core and a screenshot per page).
"""
from __future__ import annotations

import json
import secrets
from contextlib import contextmanager

import pytest

from conftest import dropbox, opened_conversations
from support.browser import Visit

pytestmark = pytest.mark.slow

WIDE, NARROW = 1280, 320
ENGLISH_REPLY = "Thank you. Please attach a screenshot."
FILE = "chat-screenshot.png"
WARNING = {"en": "Your browser is running scripts", "ar": "متصفحك يشغّل البرامج النصية"}


@contextmanager
def _visit(browser, site, language: str, width: int = WIDE):
    visit = Visit(browser, site, language, width=width)
    try:
        visit.page.goto(f"/language/{language}?next=/")
        yield visit
    finally:
        visit.close()
    assert not visit.violations, json.dumps(visit.violations, indent=1, ensure_ascii=False)


def _report(visit, tmp_path, message: str = "It happened at the meetup.") -> str:
    """Start, confirm the codename, send a report with one file; returns the codename."""
    page = visit.page
    page.click("form[action$='/start'] button")
    codename = page.locator("#codename").inner_text()
    page.check("#written_down")
    page.click("form[action$='/codename'] button")
    page.fill("#message", message)
    evidence = tmp_path / FILE
    evidence.write_bytes(b"\x89PNG" + b"x" * 2000)
    page.set_input_files("#files", evidence)
    page.click("form[action$='/report'] button[type=submit]")
    page.click("a.button")  # to the conversation
    return codename


def _reply(site, airgap, tmp_path, marker: str, text: str) -> str:
    """The responders' side: export, open, reply to the report holding `marker`; its id."""
    bundle = tmp_path / "export.bundle"
    dropbox("export", "--data", site.data, "--out", bundle)
    opened = tmp_path / "opened"
    airgap.open(bundle, "alexandra", opened)
    [conversation_id] = [cid for cid, folder in opened_conversations(opened).items()
                         if (folder / "report.txt").is_file()
                         and marker in (folder / "report.txt").read_text("utf-8")]
    reply = tmp_path / "reply.odbx"
    airgap.reply(bundle, conversation_id, "alexandra", text, reply)
    dropbox("import-replies", reply, "--data", site.data)
    return conversation_id


def _ask_deletion(site, conversation_id: str) -> str:
    """A responder asks on the desk to delete it (as the desk's button does); the day it is due."""
    from dropbox.config import Config
    from dropbox.desk import deletions
    from dropbox.storage import Store
    config = Config.load(site.data)
    return deletions.ask(Store(config.database, config.store_dir, config.tmp_dir), conversation_id,
                         "alexandra", config.settings.deletion_grace_days)


def _both_widths(visit, name: str) -> None:
    visit.page.set_viewport_size({"width": WIDE, "height": 900})
    visit.check(name)
    visit.page.set_viewport_size({"width": NARROW, "height": 900})
    assert visit.width() <= NARROW, f"{name} scrolls sideways at 320 px"
    visit.check(f"{name}-320px")


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_conversation_names_what_arrived_the_deletion_coming_and_shows_english_left_to_right(
        browser, site, airgap, tmp_path, language):
    with _visit(browser, site, language) as visit:
        page = visit.page
        marker = secrets.token_hex(6)
        codename = _report(visit, tmp_path, f"It happened at the meetup. {marker}")
        conversation_id = _reply(site, airgap, tmp_path, marker, ENGLISH_REPLY)
        due = _ask_deletion(site, conversation_id)
        page.click("form[action$='/logout'] button")
        page.goto("/login")
        page.fill("#codename", ", ".join(codename.split()).upper())  # copied with commas
        page.click("form[action$='/login'] button")

        assert due in page.locator("#retention").inner_text()
        assert FILE in page.locator(".file-name").inner_text()
        # English inside an Arabic page: read left to right, its full stop where it belongs.
        reply = page.locator(".reply .text")
        assert reply.get_attribute("dir") == "auto"
        assert reply.evaluate("element => getComputedStyle(element).direction") == "ltr"
        page.fill("#message", "I will attach it.")
        assert page.locator("#message").get_attribute("dir") == "auto"
        assert page.locator("#message").evaluate("element => element.matches(':dir(ltr)')")
        _both_widths(visit, "conversation-receipts")


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_codename_page_numbers_its_words_in_even_columns_and_login_names_a_wrong_word(
        browser, site, language):
    with _visit(browser, site, language, width=NARROW) as visit:
        page = visit.page
        page.click("form[action$='/start'] button")
        words = page.locator("#codename li")
        assert words.count() == 8
        boxes = [words.nth(n).bounding_box() for n in range(8)]
        assert len({round(b["x"]) for b in boxes}) == 1  # one column at 320 px
        assert len({round(b["height"]) for b in boxes}) == 1  # no word wraps
        assert visit.width() <= NARROW
        visit.check("codename-320px")
        page.set_viewport_size({"width": WIDE, "height": 900})
        boxes = [words.nth(n).bounding_box() for n in range(8)]
        rows = {round(b["y"]) for b in boxes}
        assert 1 < len(rows) < 8 and 8 % len(rows) == 0  # even columns, full rows
        visit.check("codename")

        typed = words.all_inner_texts()
        page.goto("/login")
        page.fill("#codename", " ".join(typed[:3] + ["qqq"] + typed[4:]))
        page.click("form[action$='/login'] button")
        error = page.locator("#codename-error").inner_text()
        assert "4" in error and "qqq" in error
        _both_widths(visit, "login-wrong-word")


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_delete_page_makes_keeping_it_the_prominent_choice(browser, site, tmp_path, language):
    with _visit(browser, site, language) as visit:
        page = visit.page
        _report(visit, tmp_path)
        page.click("a[href$='/delete']")
        keep, delete = page.locator("a.keep"), page.locator("form[action$='/delete'] button")

        def filled(locator) -> bool:
            return locator.evaluate("e => getComputedStyle(e).backgroundColor") not in ("rgba(0, 0, 0, 0)",
                                                                                       "transparent")
        assert filled(keep) and not filled(delete)
        # First in reading order, and first to be reached with the keyboard.
        assert keep.evaluate("(k, d) => !!(k.compareDocumentPosition(d) & Node.DOCUMENT_POSITION_FOLLOWING)",
                             delete.element_handle())
        _both_widths(visit, "delete")
        keep.click()
        assert page.url.endswith("/conversation")


@pytest.mark.parametrize("language", ["en", "ar"])
def test_a_browser_running_scripts_is_told_to_choose_safest_and_one_without_sees_nothing(
        browser, site, language):
    with _visit(browser, site, language) as visit:  # JavaScript off, as at Safest
        assert not visit.page.locator("#scripts-on").is_visible()
        assert WARNING[language] not in visit.page.locator("body").inner_text()
        visit.check("landing")
    context = browser.new_context(java_script_enabled=True, base_url=site.url,
                                  viewport={"width": WIDE, "height": 900})
    try:
        page = context.new_page()
        refused: list[str] = []
        page.on("console", lambda message: refused.append(message.text) if message.type == "error" else None)
        page.goto(f"/language/{language}?next=/")
        warning = page.locator("#scripts-on")
        assert warning.is_visible() and WARNING[language] in warning.inner_text()
        assert warning.bounding_box()["y"] < 200  # at the top, before anything else
        # The one script the policy allows ran; nothing else was refused or needed.
        assert refused == [], refused
        page.screenshot(path=visit_screenshot(language, "scripts-on"), full_page=True)
        page.set_viewport_size({"width": NARROW, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth") <= NARROW
        page.screenshot(path=visit_screenshot(language, "scripts-on-320px"), full_page=True)
        # Any other script is refused by the policy, inline or not.
        page.goto("/login")
        ran = page.evaluate("""() => { const s = document.createElement('script');
            s.textContent = 'window.injected = true'; document.body.append(s); return !!window.injected; }""")
        assert ran is False
    finally:
        context.close()


def visit_screenshot(language: str, name: str):
    from support.browser import SCREENSHOTS
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{language}-{name}.png"
