"""The desk in Chromium with JavaScript off: axe-core on every page, readable at 320 px.

Login (and a refused login), the conversation list with a deletion waiting, the
confirmation pages for closing, deleting and keeping, the audit page, a case's page (who
handles it, its state), the list of the cases I handle and the figures; each
checked with axe-core (0 violations) and saved as a screenshot, at 1280 and 320 px.
"""
from __future__ import annotations

import pytest
import requests

from conftest import start_server
from deskclient import add_user, desk_url, new_instance
from support.browser import DeskVisit
from support.reporter import new_report

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def desk(tmp_path_factory, instance_template):
    data = new_instance(tmp_path_factory.mktemp("desk-browser"), instance_template)
    # One responder per screen width: an authenticator code is accepted only once.
    logins = {1280: add_user(data, "alexandra"), 320: add_user(data, "mario")}
    server = start_server(data)
    for message in ("first report", "second report", "third report"):
        new_report(server, message, files=[("files", "a.txt", b"a" * 3000)])
    yield server, desk_url(server), logins
    server.stop()


@pytest.mark.parametrize("width", [1280, 320])
def test_every_desk_page_passes_axe_and_fits_the_screen(browser, desk, width):
    server, url, logins = desk
    login = logins[width]
    with DeskVisit(browser, url, "en", width=width) as visit:
        page, seen = visit.page, visit.seen
        page.goto("login")
        seen("login")
        visit.log_in(login, password="not the password")
        assert page.locator("#refused").count() == 1
        seen("login-refused")
        visit.log_in(login)
        assert page.locator("tr.conversation").count() == 3
        first = page.locator("tr.conversation").first.get_attribute("id")
        page.click(f"tr[id='{first}'] a[href$='/close']")
        assert "Nothing is deleted" in page.locator("#explained").inner_text()
        seen("close")
        page.goto("")
        page.click(f"tr[id='{first}'] a[href$='/delete']")
        seen("delete")
        page.click("main form button[type=submit]")
        assert "deleted on" in page.locator(f"tr[id='{first}']").inner_text()
        seen("conversations")
        page.click(f"tr[id='{first}'] a[href$='/keep']")
        seen("keep")
        page.click("main form button[type=submit]")
        page.click("a[href$='/audit']")
        assert page.locator("tr.audit-entry").count() >= 3
        seen("audit")
        # A case: who handles it and where it stands; then the list with its handler, and the figures.
        page.goto("")
        page.click(f"tr[id='{first}'] a[href$='/case']")
        page.click("form[action$='/take'] button")
        page.check("input[value='being-looked-at']")
        page.click("form:has(input[name='state']) button[type=submit]")
        assert "Handled by" in page.locator("#handlers").inner_text()
        assert "looking at your report" in page.locator("#state").inner_text()
        seen("case")
        page.goto("?mine=1")
        assert page.locator("tr.conversation").count() == 1
        seen("conversations-mine")
        page.click("a[href$='/figures']")
        assert page.locator("#figures tbody tr").count() == 13
        seen("figures")
        # The log-out button is a quiet link in the header, not the biggest thing on the page.
        page.goto("")
        logout = page.locator("header form button").bounding_box()
        download = page.locator(".downloads a").first.bounding_box()
        assert logout["height"] < download["height"]


def test_the_desk_serves_a_favicon_too(desk):
    _, url, _ = desk
    response = requests.get(url + "favicon.ico", timeout=30)
    assert response.status_code == 200 and response.content[:4] == b"\x00\x00\x01\x00"
