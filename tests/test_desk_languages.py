"""The desk speaks the reporter site's four languages, chosen the same way (a plain link, kept
for the visit), with each page's `lang` and `dir`; the choice outlives login and logout."""
from __future__ import annotations

import re

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


# Words of the English pages that a responder reading another language must not meet.
ENGLISH = ("My conversations", "Download my bundle", "Upload replies", "Audit", "logged in",
           "Log out", "My login", "Change my passphrase", "There is no page here", "Status")


@pytest.mark.parametrize("language", ["es", "fr", "ar"])
def test_every_page_of_a_logged_in_responder_is_in_their_language(desk, instance, language):
    login = add_user(instance, "alexandra")
    listed = desk.submit(desk.get(f"/language/{language}?next=/login"), "", fill={
        "username": login.name, "password": login.password, "otp": login.code()})
    pages = {"list": listed, "audit": desk.get("/audit"), "account": desk.get("/account"),
             "problem": desk.get("/no-such-page")}
    for name, page in pages.items():
        assert _html(page).attrs["lang"] == language, name
        left = [words for words in ENGLISH if re.search(rf"\b{words}\b", page.text)]
        assert not left, (name, left)


# English words of the desk's newer pages (the list's filter, marks and warnings, the warnings'
# pages, the person reported's invitations, the audit's newer actions): none may be left.
NEWER_ENGLISH = ("Newest activity first", "Showing the cases you handle", "Show all my conversations",
                 "Only the cases I handle", "Handled by", "Case", "Person reported", "late:",
                 "acknowledgement", "promised", "deleted soon", "not downloaded by anyone", "See them",
                 "Deleted soon", "Waiting unread", "Back to my conversations", "Figures",
                 "The person reported", "A new invitation", "Invitations", "Make an invitation",
                 "Days it stays open", "Opens until", "First used", "Withdraw", "Back to conversations",
                 "Pass this codename", "took a case", "invited the person reported", "handed a case")


@pytest.mark.parametrize("language", ["es", "ar"])
def test_the_desk_s_newer_pages_leave_no_english_word(instance, language):
    import datetime
    import sqlite3

    from dropbox.config import Config
    from dropbox.desk.app import create_desk_app
    from stored import _conversation
    from support.inprocess import URL, in_process
    from support.instance import set_settings
    set_settings(instance, retention_days=30, retention_warning_days=20, unread_warning_days=1,
                 acknowledge_within_days=2, respond_within_days=10)
    logins = {name: add_user(instance, name) for name in ("alexandra", "bahaa")}
    app = create_desk_app(Config.load(instance))
    store = app.extensions["dropbox"].store
    team = tuple(store.team.members())
    made = [_conversation(store, n, team, None) for n in range(3)]
    long_ago = (datetime.date.today() - datetime.timedelta(days=20)).isoformat()
    with sqlite3.connect(store.database) as db:  # late, waiting unread and deleted soon
        db.executemany("UPDATE conversations SET created = ?, last_activity = ? WHERE id = ?",
                       [(long_ago, long_ago, c) for c in made])
        db.execute("UPDATE items SET created = ?", (long_ago,))
    desk = FormClient(URL, in_process(app))
    listed = desk.submit(desk.get(f"/language/{language}?next=/login"), "", fill={
        "username": "alexandra", "password": logins["alexandra"].password,
        "otp": logins["alexandra"].code()})
    first, second, _ = re.findall(r'<tr class="conversation[^"]*" id="([a-z-]+)"', listed.response.text)
    take, hand, invite = {"es": ("Llevarlo yo", "Pasarlo", "Crear una invitación"),
                          "ar": ("أتولّاها", "تسليم القضية", "إنشاء دعوة")}[language]
    desk.submit(desk.get(f"/conversations/{first}/case"), take)
    desk.submit(desk.get(f"/conversations/{second}/case"), take)
    desk.submit(desk.get(f"/conversations/{second}/case"), hand, fill={"to": "bahaa"})
    invitations = desk.get(f"/conversations/{first}/invitations")
    pages = {"list": desk.get("/"), "mine": desk.get("/?mine=1"),
             "deletions": desk.get("/warnings/deletions"), "unread": desk.get("/warnings/unread"),
             "invitations": invitations, "invitation-made": desk.submit(invitations, invite),
             "audit": desk.get("/audit")}
    assert pages["list"].by_class("overdue") and pages["list"].by_id("warnings") is not None
    assert pages["invitation-made"].by_id("codename") is not None
    for name, page in pages.items():
        assert page.status == 200 and _html(page).attrs["lang"] == language, name
        left = [words for words in NEWER_ENGLISH if re.search(rf"(?<!\w){re.escape(words)}(?!\w)", page.text)]
        assert not left, (name, left)
    handed = {"es": "pasó un caso a <bdi>bahaa</bdi>", "ar": "سلّم قضية إلى <bdi>bahaa</bdi>"}[language]
    assert handed in pages["audit"].response.text


def test_every_extracted_message_is_translated_in_every_catalogue(tmp_path):
    """`make translations` extracts; a msgid no catalogue translates shows English on a page."""
    import subprocess
    import sys
    from pathlib import Path

    from babel.messages.pofile import read_po
    root = Path(__file__).resolve().parent.parent
    pot = tmp_path / "messages.pot"
    subprocess.run([Path(sys.executable).parent / "pybabel", "-q", "extract", "-F", "babel.cfg", "-k", "_l",
                    "--no-location", "-o", pot, "."], cwd=root, check=True)
    with pot.open("rb") as f:
        wanted = [m.id for m in read_po(f) if m.id]
    for language in ("es", "fr", "ar"):
        with (root / f"dropbox/translations/{language}/LC_MESSAGES/messages.po").open("rb") as f:
            catalogue = read_po(f, locale=language)
        untranslated = []
        for msgid in wanted:
            found = catalogue.get(msgid)
            strings = found.string if found is not None else ""
            if not (all(strings) if isinstance(strings, tuple | list) else strings) or found.fuzzy:
                untranslated.append(msgid)
        assert not untranslated, (language, untranslated)
