"""A reporter's or responder's browser: Debian's Chromium through Playwright, JavaScript off,
every page checked with axe-core (from npm, tests/browser) and saved as a screenshot."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.commands import require_tool

TESTS = Path(__file__).parent.parent
AXE = TESTS / "browser" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = TESTS / "artifacts" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
LANGUAGES = {"en": "ltr", "es": "ltr", "fr": "ltr", "ar": "rtl"}


def chromium_with_axe() -> str:
    """The Chromium to launch, once axe-core is known to be installed beside the tests."""
    chromium = require_tool("chromium")
    if not AXE.is_file():
        require_tool("npm")
        pytest.fail("axe-core is not installed: run `make install` (npm ci in tests/browser)")
    return chromium


class Visit:
    """One reporter's browser context: no JavaScript, checks and saves every page it sees."""

    def __init__(self, browser, site, language: str, width: int = 1000):
        size = {"width": width, "height": 900}
        self.context = browser.new_context(java_script_enabled=False, base_url=site.url, viewport=size)
        self.page = self.context.new_page()
        self.page.set_default_timeout(60_000)
        self.auditor = browser.new_context(viewport=size).new_page()
        self.language = language
        self.violations: dict[str, list] = {}

    def width(self) -> int:
        """How wide the page is drawn, once it has loaded: a click returns when the navigation
        commits, when the new document may not exist yet (seen under load in CI)."""
        self.page.wait_for_load_state()
        return self.page.evaluate("document.documentElement.scrollWidth")

    def check(self, name: str) -> None:
        """What every reporter page has (no script but the one that warns of scripts running,
        its warning hidden; language, links, quick exit), then axe and a screenshot."""
        from dropbox.scripts_warning import SCRIPT
        page = self.page
        page.wait_for_load_state()  # not the empty document of a navigation just committed
        assert page.locator("script").all_inner_texts() == [SCRIPT], f"{name}: a reporter page holds a script"
        assert not page.locator("#scripts-on").is_visible(), f"{name}: warns of scripts with none running"
        assert page.locator("html").get_attribute("lang") == self.language, name
        assert page.locator("html").get_attribute("dir") == LANGUAGES[self.language], name
        for code in LANGUAGES:
            assert page.locator(f'a[hreflang="{code}"]').count() == 1, f"{name}: no link to {code}"
        assert page.locator("a.quick-exit").count() == 1, f"{name}: no quick exit"
        self.axe_and_screenshot(name)

    def axe_and_screenshot(self, name: str) -> None:
        """axe-core's violations on the page as it is now (kept by name), and its screenshot."""
        page = self.page
        page.wait_for_load_state()
        html, url = page.content(), page.url
        self.auditor.route(url, lambda route: route.fulfill(
            status=200, content_type="text/html; charset=utf-8", body=html))
        self.auditor.goto(url)
        self.auditor.unroute(url)
        self.auditor.evaluate(AXE.read_text("utf-8"))
        result = self.auditor.evaluate("axe.run(document, {resultTypes: ['violations']})")
        found = [{"id": v["id"], "help": v["help"], "nodes": [n["html"] for n in v["nodes"]][:3]}
                 for v in result["violations"]]
        if found:
            self.violations[name] = found
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"{self.language}-{name}.png", full_page=True)

    def close(self) -> None:
        self.context.close()
        self.auditor.context.close()


class DeskSite:
    """The desk's address, where a Visit expects a server."""

    def __init__(self, url: str):
        self.url = url


def log_in_to_desk(page, login, password: str | None = None) -> None:
    page.goto("login")
    page.fill("#username", login.name)
    page.fill("#password", password or login.password)
    page.fill("#otp", login.code())
    page.click("form.login button")


class DeskVisit(Visit):
    """A responder's browser on the desk at one screen width, used as `with DeskVisit(...) as
    visit:`. Each page `seen` holds no script, is in the visit's language and direction, is
    checked by axe and saved as <language>-desk-<name>[-320px].png; leaving the block closes
    the browser context, then (if the block passed) asserts that every page seen passed axe
    and fitted the screen."""

    def __init__(self, browser, url: str, language: str = "en", width: int = 1280):
        super().__init__(browser, DeskSite(url), language, width=width)
        self.screen = width
        self.widths: dict[str, int] = {}

    def log_in(self, login, password: str | None = None) -> None:
        log_in_to_desk(self.page, login, password)

    def seen(self, name: str) -> None:
        self.widths[name] = self.width()
        html = self.page.locator("html")
        assert self.page.locator("script").count() == 0, name
        assert html.get_attribute("lang") == self.language, name
        assert html.get_attribute("dir") == LANGUAGES[self.language], name
        self.axe_and_screenshot(f"desk-{name}{'-320px' if self.screen <= 320 else ''}")

    def __enter__(self) -> DeskVisit:
        return self

    def __exit__(self, failed, *_) -> None:
        self.close()
        if failed is None:
            assert not self.violations, json.dumps(self.violations, indent=1, ensure_ascii=False)
            assert all(w <= self.screen for w in self.widths.values()), self.widths
