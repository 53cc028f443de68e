"""Logging in with a codename copied by hand: punctuation, case and numbering forgiven; a word
not in the list named by its place, without a word about whether any report exists; the
codename page numbering its eight words."""
from __future__ import annotations

from formclient import open_report_form
from keys.codename import new_codename

NOT_KNOWN = "No report is known under this codename"


def _reported(reporter) -> str:
    codename, form = open_report_form(reporter)
    assert reporter.submit(form, "Send the report", fill={"message": "what happened"}).status == 200
    reporter.submit(reporter.get("/conversation"), "Log out")
    return codename


def _log_in(reporter, typed: str):
    return reporter.submit(reporter.get("/login"), "Log in", fill={"codename": typed})


def test_a_codename_copied_with_commas_hyphens_numbers_and_capitals_logs_in(reporter):
    words = _reported(reporter).split()
    for typed in (", ".join(words).upper(), "-".join(words),
                  " ".join(f"{n}. {w}" for n, w in enumerate(words, start=1))):
        page = _log_in(reporter, typed)
        assert page.status == 200 and page.url.endswith("/conversation"), (typed, page.text[:300])
        reporter.submit(page, "Log out")


def test_a_word_not_in_the_list_is_named_by_its_place_and_nothing_is_said_of_reports(reporter):
    words = _reported(reporter).split()
    typo = words[:2] + [words[2] + "x"] + words[3:]
    page = _log_in(reporter, " ".join(typo))
    assert page.status == 400
    error = page.by_id("codename-error")
    assert error is not None and "Word 3" in error.text() and words[2] + "x" in error.text()
    assert NOT_KNOWN not in page.text and "report" not in error.text().lower()
    summary = page.by_id("error-summary")
    assert summary is not None and "Word 3" in summary.text()
    # The same answer for a codename that has no report, whatever its words.
    typo_elsewhere = new_codename().split()
    typo_elsewhere[2] += "x"
    assert _log_in(reporter, " ".join(typo_elsewhere)).by_id("codename-error").text() == \
        error.text().replace(words[2] + "x", typo_elsewhere[2])


def test_too_few_words_are_counted_and_a_wrong_codename_of_list_words_gets_the_answer_of_old(reporter):
    words = _reported(reporter).split()
    page = _log_in(reporter, " ".join(words[:6]))
    assert page.status == 400 and "eight words" in page.text and "6" in page.by_id("codename-error").text()
    assert NOT_KNOWN not in page.text
    wrong = _log_in(reporter, new_codename())
    assert wrong.status == 403 and NOT_KNOWN in wrong.text and "Word" not in wrong.text


def test_the_codename_page_numbers_the_eight_words(reporter):
    page = reporter.submit(reporter.get("/"), "Start a new report")
    shown = page.by_id("codename")
    assert shown is not None and shown.tag == "ol"
    items = [n for n in shown.walk() if n.tag == "li"]
    assert len(items) == 8 and " ".join(n.text() for n in items) == shown.text().strip()
