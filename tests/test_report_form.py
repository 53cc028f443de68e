"""The report form and the reporter's pages over HTTP: answers, languages, limits.

Runs against the real server with the form-following client; the responder's
side is the real `keys open`. The browser tests (test_browser_*.py) cover the
same pages in Chromium.
"""
from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from conftest import dropbox, opened_conversations
from formclient import FormClient
from formclient import open_report_form
from keys.errors import FormatError
from keys.items import Answer, Report
from keys.safe_text import render_report
from dropbox.languages import LANGUAGES
from dropbox.practice import EXAMPLE, Practice

ROOT = Path(__file__).parent.parent
TRANSLATIONS = ROOT / "dropbox" / "translations"


def _reporter_strings() -> set[str]:
    """Every string the code and templates mark for translation, read from the source now."""
    method_map = [("dropbox/templates/**.html", "jinja2"), ("dropbox/**.py", "python")]
    found = extract_from_dir(str(ROOT), method_map, keywords={"_": None, "gettext": None, "_l": None})
    return {message for *_, message, _, _ in found if isinstance(message, str)} | \
        {m for *_, message, _, _ in found if isinstance(message, tuple) for m in message}


@pytest.mark.parametrize("language", [code for code in LANGUAGES if code != "en"])
def test_every_reporter_facing_string_has_a_translation(language):
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalogue = read_po(po, locale=language)
    strings = _reporter_strings()
    assert len(strings) > 80
    missing = sorted(s for s in strings if s not in catalogue or not catalogue[s].string
                     or catalogue[s].fuzzy)
    assert not missing, f"untranslated in {language} (run `make translations`): {missing}"
    for message in catalogue:
        if message.id:
            assert not message.check(catalogue), f"{language}: {message.id!r}: {message.check(catalogue)}"


def test_the_shipped_code_of_practice_speaks_every_language():
    practice = Practice.load(EXAMPLE)
    assert len(practice.behaviours) >= 20 and practice.not_acted_on and practice.process
    for text in (*practice.behaviours, *practice.not_acted_on, *practice.process):
        assert set(dict(text.translations)) == set(LANGUAGES), text.id


def _full_report(client: FormClient, marker: str, language: str = "en"):
    codename, _ = open_report_form(client)
    form = client.get(f"/language/{language}?next=/report")
    done = client.submit(form, "", fill={
        "message": f"What happened, in my words. {marker}",
        "reporting_for": "someone-else", "behaviours": "intimidation", "places": "online",
        "when": "any point in time", "involved": "a person at the meetup",
        "team_involved": "yes", "contact_reported": "not-safe", "name_me": "no",
        "outcome": "I want them to stop.", "content_warning": "y",
        "content_warning_note": "violence", "reply_language": language,
        "behaviour_other": f"something else {marker}"}, uncheck={"recipients": {"bahaa"}},
        files=[("files", "photo.jpg", b"jpeg bytes")])
    return codename, done


def test_report_answers_reach_the_responder_in_english_with_the_content_warning_first(server, airgap, tmp_path):
    marker = secrets.token_hex(6)
    _, done = _full_report(FormClient(server.url), marker, "fr")
    assert done.status == 200 and "a été envoyé" in done.text
    bundle = tmp_path / "export.bundle"
    dropbox("export", "--data", server.data, "--out", bundle)
    opened = tmp_path / "opened"
    airgap.open(bundle, "mario", opened)
    [conversation] = list(opened_conversations(opened).values())
    report = (conversation / "report.txt").read_text("utf-8")
    lines = report.splitlines()
    assert lines[0].startswith("CONTENT WARNING") and lines[1] == "Their note: violence"
    for expected in ("Who are you reporting for?: Someone else", "  - Deliberate intimidation",
                     f"  - Other: something else {marker}", "  - An online space",
                     "When did it happen?: any point in time",
                     "Is someone on the response team involved?: Yes",
                     "The team will contact the person you report, to explain the process and let "
                     "them respond. What do you need from us before that?: It is not safe for me if "
                     "you contact them: talk with me first",
                     "May the team name you to anyone?: No", "Language for replies: Français (fr)"):
        assert expected in lines, expected
    assert report.index("Who may read this report") < report.index("mario") < report.index("Message")
    assert "bahaa" not in report
    assert report.endswith(f"What happened, in my words. {marker}\n")
    index = (conversation / "index.txt").read_text()
    assert "report   report.txt" in index and "attachments/photo.jpg" in index


def test_a_report_with_only_a_message_is_accepted_and_shows_no_content_warning(server, airgap, tmp_path):
    from support.reporter import new_report
    new_report(server, "just this")
    bundle = tmp_path / "export.bundle"
    dropbox("export", "--data", server.data, "--out", bundle)
    airgap.open(bundle, "alexandra", tmp_path / "opened")
    [report] = (tmp_path / "opened").glob("*/*/report.txt")
    text = report.read_text()
    assert text.startswith("No content warning was given.")
    assert "May the team name you to anyone?: No" in text  # the safe default
    assert "What do you need from us before that?: Tell me before you contact them" in text


def test_the_report_body_format_round_trips_and_refuses_damage():
    report = Report(True, "note", (Answer("when", "When?", "today"), Answer("b", "B", ("x", "y"))), "msg")
    assert Report.decode(report.encode()) == report
    rendered = render_report("2025-01-02", report).decode()
    assert rendered.index("CONTENT WARNING") < rendered.index("When?: today") < rendered.index("msg")
    for damaged in (b"", b"not json", b"[]", b'{"version": 2}', report.encode()[:-5],
                    report.encode().replace(b'"answers": [', b'"answers": [7, '),
                    report.encode().replace(b"true", b'"yes"'), b" " * (1024 * 1024 + 1)):
        with pytest.raises(FormatError):
            Report.decode(damaged)


def test_codename_must_be_confirmed_and_a_fresh_one_can_be_had(reporter):
    client = reporter
    page = client.submit(client.get("/"), "Start a new report")
    first = page.by_id("codename").text().split()
    assert client.get("/report").url.endswith("/codename")  # the form waits for the confirmation
    refused = client.submit(page, "Continue")
    assert refused.status == 400 and "check this box" in refused.text
    assert refused.by_id("codename").text().split() == first  # nothing lost
    fresh = client.submit(refused, "different codename")
    assert len(fresh.by_id("codename").text().split()) == 8
    assert fresh.by_id("codename").text().split() != first
    form = client.submit(fresh, "Continue", fill={"written_down": "y"})
    assert form.status == 200 and form.by_id("message") is not None
    # Once confirmed, the codename is not shown again.
    assert client.get("/codename").by_id("codename") is None


def test_language_choice_sticks_for_the_session_and_arabic_is_right_to_left(reporter):
    client = reporter
    landing = client.get("/")
    assert re.search(r'<html lang="en" dir="ltr">', landing.response.text)
    links = {n.attrs["hreflang"]: n.attrs["href"] for n in landing.root.walk()
             if n.tag == "a" and "hreflang" in n.attrs}
    assert set(links) == set(LANGUAGES)
    arabic = client.get(links["ar"])
    assert '<html lang="ar" dir="rtl">' in arabic.response.text
    assert "ابدأ بلاغاً جديداً" in arabic.text
    login = client.get("/login")
    assert 'lang="ar"' in login.response.text
    refused = client.submit(login, "تسجيل الدخول", fill={"codename": ""})
    assert refused.status == 400 and "يُرجى كتابة اسمك الرمزي" in refused.text  # validation, translated
    codename_page = client.submit(client.get("/"), "ابدأ")  # a new session keeps the language
    assert 'lang="ar"' in codename_page.response.text
    assert "French" not in client.get("/language/fr?next=/login").text and \
        'lang="fr"' in client.get("/login").response.text


def test_language_link_never_leaves_the_site(reporter):
    for target in ("https://example.org/", "//example.org/", "/\\example.org"):
        response = reporter.http.get(reporter.base_url + "language/es", params={"next": target},
                                     allow_redirects=False)
        assert response.status_code == 302
        assert response.headers["Location"] in ("/", reporter.base_url)


def test_reporter_pages_run_no_script_fetch_nothing_elsewhere_and_the_landing_page_is_small(server):
    from dropbox.scripts_warning import CSP_SOURCE, SCRIPT
    client = FormClient(server.url)
    landing = client.get("/")
    css = client.get("/static/site.css").response
    pages = [landing, client.get("/login"), client.submit(landing, "Start a new report")]
    for page in pages:
        # One script, the one that warns of scripts running, allowed by its hash and nothing else.
        assert re.findall(r"<script[^>]*>(.*?)</script>", page.response.text, re.S) == [SCRIPT]
        assert f"script-src {CSP_SOURCE};" in page.response.headers["Content-Security-Policy"]
        assert page.response.headers["Content-Security-Policy"].count("script-src") == 1
        external = re.findall(r'(?:src|href)="(https?://[^"]+)"', page.response.text)
        assert external == ["https://www.wikipedia.org/"], external  # only the quick exit
    assert "@font-face" not in css.text and "url(" not in css.text
    # Over the wire: status line, headers and body of the page and its one stylesheet.
    size = sum(len(r.content) + sum(len(k) + len(v) + 4 for k, v in r.headers.items()) + 20
               for r in (landing.response, css))
    assert size <= 20 * 1024, size


def test_quick_exit_address_is_configurable(instance):
    config = instance / "config.toml"
    config.write_text(config.read_text().replace("https://www.wikipedia.org/", "https://weather.example/"))
    from conftest import start_server
    running = start_server(instance)
    try:
        page = FormClient(running.url).get("/")
        [link] = page.by_class("quick-exit")
        assert link.attrs["href"] == "https://weather.example/"
    finally:
        running.stop()


def test_a_damaged_code_of_practice_file_is_one_clear_error(instance):
    practice = instance / "code-of-practice.toml"
    for damage in ("community = ", "community = 'x'\n[[behaviours]]\nen = 'no id'\n",
                   practice.read_text().replace('id = "threats"', 'id = "threats"\nde = "Drohungen"')):
        practice.write_text(damage)
        result = dropbox("serve", "--data", instance, check=False)
        lines = [line for line in result.err.splitlines() if line.strip()]
        assert result.code != 0 and len(lines) == 1 and "code-of-practice.toml" in lines[0], result.err
