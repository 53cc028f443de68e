"""A case's page and the figures in Arabic, in Chromium with JavaScript off: right to left,
axe-core finds nothing, nothing wider than the screen, at 1280 and 320 px (screenshots)."""
from __future__ import annotations

import pytest

from conftest import start_server
from deskclient import add_user, desk_url, new_instance
from support.browser import DeskVisit
from support.reporter import new_report

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def desk(tmp_path_factory, instance_template):
    data = new_instance(tmp_path_factory.mktemp("desk-case-words"), instance_template)
    # One responder per screen width: an authenticator code is accepted only once.
    logins = {1280: add_user(data, "alexandra"), 320: add_user(data, "bahaa")}
    server = start_server(data)
    new_report(server, "a report")
    yield desk_url(server), logins
    server.stop()


@pytest.mark.parametrize("width", [1280, 320])
def test_the_case_and_figures_pages_in_arabic_read_right_to_left_and_fit(browser, desk, width):
    url, logins = desk
    with DeskVisit(browser, url, "ar", width=width) as visit:
        page, seen = visit.page, visit.seen
        page.goto("language/ar?next=/login")
        visit.log_in(logins[width])
        page.locator("tr.conversation a[href$='/case']").first.click()
        if page.locator("form[action$='/take'] button").count():
            page.click("form[action$='/take'] button")
        page.check("input[value='being-looked-at']")
        page.click("form:has(input[name='state']) button[type=submit]")
        assert "يتولّاها" in page.locator("#handlers").inner_text()
        assert "يقوم فريق الاستجابة بمراجعة بلاغك." in page.locator("#state").inner_text()
        seen("case")
        page.click("a[href$='/figures']")
        assert page.locator("#figures thead th").first.inner_text() == "الشهر"
        seen("figures")
