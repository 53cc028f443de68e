"""Files the team sends with a reply, on the reporter's page in a real browser, JavaScript off:
listed under their reply with the upload's metadata warning, downloadable, clean under axe,
in English and Arabic, wide and at 320 px (screenshots in tests/artifacts/screenshots/)."""
from __future__ import annotations

import pytest

from conftest import dropbox, opened_conversations
from support.browser import SCREENSHOTS, Visit
from support.reporter import new_report

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("language", "width"), [("en", 1280), ("en", 320), ("ar", 1280), ("ar", 320)])
def test_the_reply_files_are_offered_for_download_on_the_reporters_page(browser, site, airgap, tmp_path,
                                                                        language, width):
    codename, _ = new_report(site, f"reply files {language} {width}")
    dropbox("export", "--data", site.data, "--out", tmp_path / "export", "--all")
    opened = tmp_path / "opened"
    airgap.open(tmp_path / "export", "mario", opened)
    [conversation] = [cid for cid, folder in opened_conversations(opened).items()
                      if f"reply files {language} {width}" in (folder / "report.txt").read_text("utf-8")]
    policy = tmp_path / "code-of-conduct-policy.pdf"
    policy.write_bytes(b"%PDF-1.7 the policy")
    (tmp_path / "next-steps.txt").write_text("What happens next.")
    airgap.reply(tmp_path / "export", conversation, "mario", "We have read it. Two files for you.",
                 tmp_path / "reply.odbx", files=(policy, tmp_path / "next-steps.txt"))
    dropbox("import-replies", tmp_path / "reply.odbx", "--data", site.data)

    visit = Visit(browser, site, "en", width=width)
    page = visit.page
    try:
        page.goto("/")
        if language != "en":
            page.click(f'a[hreflang="{language}"]')
        visit.language = language
        page.goto("/login")
        page.fill("#codename", codename)
        page.click("form[action$='/login'] button")
        links = page.locator(".reply-files a")
        assert links.all_inner_texts() == ["code-of-conduct-policy.pdf", "next-steps.txt"]
        assert page.locator(".reply .hint").count() == 1
        visit.check(f"conversation-reply-files-{width}px")
        assert not visit.violations
        assert visit.width() <= width
        with page.expect_download() as arriving:
            links.first.click()
        assert open(arriving.value.path(), "rb").read() == policy.read_bytes()
        assert (SCREENSHOTS / f"{language}-conversation-reply-files-{width}px.png").is_file()
    finally:
        visit.close()
