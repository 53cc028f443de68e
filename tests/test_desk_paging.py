"""The desk's list comes a page at a time: every conversation is on one page, none twice, and
a responder left out of a conversation meets it on no page and in no count.

One instance for the module, with pages of four: eleven reports through the real reporter
site, three of them leaving bahaa out; desk logins for alexandra and bahaa.
"""
from __future__ import annotations

import pytest

from conftest import start_server
from deskclient import add_user, desk_login, desk_url, designations, new_instance
from dropbox.config import Settings
from support.browser import DeskVisit
from support.reporter import new_report

PAGE = 4
REPORTS = 11
LEFT_OUT = {2, 5, 9}  # the reports bahaa is left out of


@pytest.fixture(scope="module")
def desk(tmp_path_factory, instance_template):
    data = new_instance(tmp_path_factory.mktemp("paging"), instance_template)
    (data / "config.toml").write_text(Settings(desk_page_size=PAGE).to_toml())
    logins = {name: add_user(data, name) for name in ("alexandra", "bahaa", "mario")}
    server = start_server(data)
    for n in range(REPORTS):
        new_report(server, f"report {n}", exclude={"bahaa"} if n in LEFT_OUT else set())
    url = desk_url(server)
    clients = {name: desk_login(url, login)[0] for name, login in logins.items() if name != "mario"}
    yield {**clients, "url": url, "mario": logins["mario"]}
    server.stop()


def all_pages(client) -> list:
    """Page 1, then each "Next page" link until there is none, as a responder clicks through."""
    pages = [client.get("")]
    while any(n.tag == "a" and n.text() == "Next page" for n in pages[-1].root.walk()):
        pages.append(client.get(pages[-1].link("Next page")))
        assert len(pages) <= REPORTS, "the pages never end"
    return pages


@pytest.mark.slow
def test_a_responder_with_more_conversations_than_a_page_sees_each_once_across_pages(desk):
    pages = all_pages(desk["alexandra"])
    assert [len(designations(p)) for p in pages] == [4, 4, 3]
    seen = [d for p in pages for d in designations(p)]
    assert len(seen) == len(set(seen)) == REPORTS
    for number, page in enumerate(pages, start=1):
        assert f"{REPORTS} conversations. Page {number} of 3." in page.text
    assert "Previous page" not in pages[0].text and "Previous page" in pages[-1].text


def test_recused_conversations_are_on_no_page_and_in_no_count(desk):
    everyone = {d for p in all_pages(desk["alexandra"]) for d in designations(p)}
    pages = all_pages(desk["bahaa"])
    mine = [d for p in pages for d in designations(p)]
    assert [len(designations(p)) for p in pages] == [4, 4]
    assert len(mine) == len(set(mine)) == REPORTS - len(LEFT_OUT)
    assert set(mine) < everyone
    assert all(f"{REPORTS - len(LEFT_OUT)} conversations. Page" in p.text for p in pages)
    for hidden in everyone - set(mine):
        assert desk["bahaa"].get(f"conversations/{hidden}/close").status == 404
        for page in pages:
            assert hidden not in page.response.text


def test_a_page_number_out_of_range_or_not_a_number_shows_a_real_page(desk):
    alexandra = desk["alexandra"]
    last = alexandra.get("?page=3")
    assert alexandra.get("?page=999999999999999999999").status == 200
    assert designations(alexandra.get("?page=999999999999999999999")) == designations(last)
    assert designations(alexandra.get("?page=0")) == designations(alexandra.get(""))
    assert designations(alexandra.get("?page=two")) == designations(alexandra.get(""))


def test_starring_on_a_later_page_comes_back_to_that_page(desk):
    alexandra = desk["alexandra"]
    second = alexandra.get("?page=2")
    designation = designations(second)[0]
    star = next(f for f in second.forms() if f.action.endswith(f"/{designation}/star"))
    answer = alexandra.http.post(star.action, data=star.defaults(), timeout=60)
    assert answer.status_code == 200 and answer.url.endswith("?page=2")
    assert "Page 2 of 3." in answer.text
    row = next(n for n in alexandra.get("?page=2").by_class("conversation")
               if n.attrs["id"] == designation)
    assert "★" in row.text()


@pytest.mark.slow
def test_the_page_links_pass_axe_and_fit_a_small_screen(browser, desk):
    with DeskVisit(browser, desk["url"], "en", width=320) as visit:
        page = visit.page
        visit.log_in(desk["mario"])  # mario, in a browser with JavaScript off: his own code
        page.click("a[rel=next]")
        assert "Page 2 of 3." in page.locator("#count").inner_text()
        assert page.locator("tr.conversation").count() == PAGE
        visit.seen("conversations-page-2")
