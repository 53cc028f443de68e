"""The desk speaks the reporter site's four languages, chosen the same way (a plain link, kept
for the visit), with each page's `lang` and `dir`; the choice outlives login and logout."""
from __future__ import annotations

import pytest

from deskclient import add_user
from formclient import FormClient

# What the login page's heading says in each language: a responder sees their own words.
LOGIN_HEADINGS = {"en": "Log in to the response desk", "es": "Entrar en el escritorio de respuesta",
                  "fr": "Se connecter au bureau de réponse", "ar": "الدخول إلى مكتب الاستجابة"}


@pytest.fixture
def desk(instance) -> FormClient:
    """A responder's browser on the desk app in this process (support/inprocess.py)."""
    from dropbox.config import Config
    from dropbox.desk.app import create_desk_app
    from dropbox.storage import Store
    from support.inprocess import URL, in_process
    config = Config.load(instance)
    Store(config.database, config.store_dir, config.tmp_dir).prepare()
    return FormClient(URL, in_process(create_desk_app(config)))


def _html(page):
    return next(n for n in page.root.walk() if n.tag == "html")


@pytest.mark.parametrize("language", sorted(LOGIN_HEADINGS))
def test_the_desk_login_page_speaks_the_chosen_language(desk, language):
    page = desk.get(f"/language/{language}?next=/login")
    assert _html(page).attrs["lang"] == language
    assert _html(page).attrs["dir"] == ("rtl" if language == "ar" else "ltr")
    assert next(n for n in page.root.walk() if n.tag == "h1").text() == LOGIN_HEADINGS[language]
    chosen = [n for n in page.root.walk() if n.tag == "a" and n.attrs.get("aria-current") == "page"]
    assert [n.attrs["hreflang"] for n in chosen] == [language]


def test_the_desk_follows_the_browser_before_any_choice(desk):
    desk.http.headers["Accept-Language"] = "fr-FR,fr;q=0.9"
    assert _html(desk.get("/login")).attrs["lang"] == "fr"


def test_a_language_link_never_leads_off_the_desk(desk):
    page = desk.get("/language/es?next=//evil.example/")
    assert page.url.endswith("/login") and _html(page).attrs["lang"] == "es"


def test_the_chosen_language_lasts_through_login_and_logout(desk, instance):
    login = add_user(instance, "alexandra")
    page = desk.get("/language/ar?next=/login")
    listed = desk.submit(page, "", fill={"username": login.name, "password": login.password,
                                         "otp": login.code()})
    assert listed.url.endswith("/") and _html(listed).attrs["lang"] == "ar"
    out = desk.submit(listed, "alexandra")  # the button "Log out alexandra", in Arabic
    assert out.url.endswith("/login") and _html(out).attrs["lang"] == "ar"


def test_notices_are_mailed_in_the_language_the_responder_last_used(desk, instance, mailbox):
    import dataclasses
    import email

    from dropbox.config import Config
    from dropbox.desk.notices import send_due_notices
    from dropbox.storage import Store
    box, port = mailbox
    login = add_user(instance, "bahaa", "--email", "bahaa@example.org")
    page = desk.get("/language/es?next=/login")
    desk.submit(page, "", fill={"username": login.name, "password": login.password, "otp": login.code()})
    config = Config.load(instance)
    config = dataclasses.replace(config, settings=dataclasses.replace(
        config.settings, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False))
    store = Store(config.database, config.store_dir, config.tmp_dir)
    store.desk.update_account("bahaa", notice_pending=1)
    assert send_due_notices(config, store) == ["bahaa"]
    [mail] = box.to("bahaa@example.org")
    message = email.message_from_string(mail, policy=email.policy.default)
    assert message["Subject"] == "Nueva actividad en el escritorio de respuesta"
    assert message.get_content().strip() == ("Hay actividad nueva en el escritorio de respuesta. "
                                              "Entre para verla.")
