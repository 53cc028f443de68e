"""A responder enrols on the desk in Chromium with JavaScript off, in English and in Arabic
(right to left), at 1280 and 320 px: the code, their own authenticator entry (a QR code drawn
on the server, and the secret as text) and passphrase, then login and "My login". Every page
passes axe-core, fits the screen, and is saved as a screenshot."""
from __future__ import annotations

import time

import pyotp
import pytest

from conftest import dropbox, start_server
from deskclient import desk_url, new_instance, parse_enrolment_code
from support.browser import DeskVisit
from support.reporter import new_report

pytestmark = pytest.mark.slow

PASSPHRASE = "a passphrase only I know"
WORDS = {"en": {"enrol": "Enrol on the response desk", "list": "My conversations"},
         "ar": {"enrol": "التسجيل في مكتب الاستجابة", "list": "محادثاتي"}}


@pytest.fixture(scope="module")
def desk(tmp_path_factory, instance_template):
    data = new_instance(tmp_path_factory.mktemp("desk-enrolment-browser"), instance_template)
    server = start_server(data)
    for message in ("first report", "second report"):
        new_report(server, message)
    yield data, desk_url(server)
    server.stop()


@pytest.mark.parametrize(("language", "width", "name", "command"), [
    ("en", 1280, "alexandra", "add-user"), ("en", 320, "bahaa", "add-user"),
    ("ar", 1280, "mario", "add-user"), ("ar", 320, "mario", "reset-user")])
def test_a_responder_enrols_and_changes_their_login_with_javascript_off(browser, desk, language, width,
                                                                       name, command):
    data, url = desk
    code = parse_enrolment_code(dropbox("desk", command, name, "--data", data).out)
    with DeskVisit(browser, url, language, width=width) as visit:
        page, seen = visit.page, visit.seen

        def press(selector: str) -> None:
            """Click, then wait for the page it leads to (a click returns when navigation commits)."""
            page.click(selector)
            page.wait_for_load_state()

        page.goto(f"language/{language}?next=/login")
        seen("login")
        press("a[href$='/enrol']")
        assert page.locator("h1").inner_text() == WORDS[language]["enrol"]
        seen("enrol")
        page.fill("#code", code)
        press("form.login button")
        assert name in page.locator("h1").inner_text()
        assert page.locator("svg.qr").count() == 1
        secret = page.locator("#totp-secret").inner_text().replace(" ", "")
        seen("enrol-choose")
        page.fill("#passphrase", PASSPHRASE)
        page.fill("#again", PASSPHRASE)
        page.fill("#otp", pyotp.TOTP(secret).at(time.time() - 30))
        press("form.login button")
        assert page.locator("#notice").count() == 1
        seen("login-enrolled")
        page.fill("#username", name)
        page.fill("#password", PASSPHRASE)
        page.fill("#otp", pyotp.TOTP(secret).now())
        press("form.login button")
        assert page.locator("h1").inner_text() == WORDS[language]["list"]
        seen("conversations")
        press("a[href$='/account']")
        assert page.locator("svg.qr").count() == 1
        seen("account")
