"""The figures and the late count are counted by the database (`dropbox.storage.figures`,
`dropbox.storage.cases`); here they are checked against the same figures counted in Python,
row by row, from the stored rows themselves, on an instance with a bit of everything: several
months and years, readers left out, cases acknowledged before or without a reply, closed the
next year or reopened, and deleted conversations' counters.
"""
from __future__ import annotations

import datetime
import sqlite3
from collections import Counter

import pytest

from dropbox.config import Config
from dropbox.desk.app import create_desk_app
from dropbox.figures import yearly
from dropbox.promises import count_overdue, overdue
from dropbox.storage.figures import MEASURES, TEAM
from keys.figures import MONTH
from support.instance import set_settings
from test_figures import _case, _team

READERS = (None, "alexandra", "bahaa", "mario")


def _counted_in_python(database, year: int, reader: str | None) -> Counter[tuple[str, str, int]]:
    """(month, event or measure, value) → count over `year`, as `Figures.counts` gives it, from
    every stored row one by one."""
    counted: Counter[tuple[str, str, int]] = Counter()
    prefix = f"{year}-"
    with sqlite3.connect(database) as db:
        cases = db.execute(
            "SELECT c.id, c.created, p.acknowledged, (SELECT min(i.created) FROM items i WHERE"
            " i.conversation_id = c.id AND i.origin = 'team'), p.closed"
            " FROM conversations c LEFT JOIN case_progress p ON p.conversation_id = c.id").fetchall()
        readers = {(name, cid) for name, cid in db.execute("SELECT name, conversation_id FROM conversation_recipients")}
        kept = db.execute("SELECT month, measure, value, count FROM figures WHERE reader = ?",
                          (TEAM if reader is None else reader,)).fetchall()
    for cid, opened, acknowledged, replied, closed in cases:
        if reader is not None and (reader, cid) not in readers:
            continue
        for event, day in (("opened", opened), ("closed", closed)):
            if day and day.startswith(prefix):
                counted[day[:7], event, 0] += 1
        if opened.startswith(prefix):
            for measure, day in zip(MEASURES, (acknowledged, replied, closed), strict=True):
                if day is not None:
                    taken = (datetime.date.fromisoformat(day) - datetime.date.fromisoformat(opened)).days
                    counted[opened[:7], measure, taken] += 1
    for month, measure, value, count in kept:
        if month.startswith(prefix):
            counted[month, measure, value] += count
    return counted


@pytest.fixture
def varied(instance):
    set_settings(instance, acknowledge_within_days=3, respond_within_days=10)
    app = create_desk_app(Config.load(instance))
    store = app.extensions["dropbox"].store
    ours, mario, everyone = (_team(store, "alexandra", "bahaa"), _team(store, "mario", "alexandra"),
                             _team(store, "alexandra", "bahaa", "mario"))
    made = [
        _case(store, ours, "2025-01-31", "2025-02-01", "2025-02-03", "2025-02-28"),
        _case(store, ours, "2025-03-01", "2025-03-01", "2025-03-01"),  # all the same day
        _case(store, mario, "2025-03-15", "2025-03-20"),  # acknowledged, never replied to
        _case(store, mario, "2025-03-16", None, "2025-03-17"),  # replied to, never acknowledged
        _case(store, everyone, "2025-12-20", "2025-12-22", "2025-12-30", "2026-01-05"),  # closed next year
        _case(store, everyone, "2024-11-11", "2024-11-30", "2025-01-02", "2025-06-30"),  # opened the year before
        _case(store, ours, "2025-07-04", "2025-07-10", "2025-08-01", "2025-09-15"),
        _case(store, mario, "2025-07-05", "2025-07-05", "2025-07-06", "2025-07-07"),
        _case(store, everyone, "2026-02-02"),
        _case(store, everyone, datetime.date.today().isoformat()),
        _case(store, ours, "2025-10-10", "2025-10-11", "2025-10-20", "2025-11-11"),
        _case(store, mario, "2025-10-12", "2025-10-12", "2025-10-30"),
    ]
    store.desk.set_closed(made[10], False)  # reopened: no closing day, counted open again
    store.conversations.delete_conversations([made[0], made[7], made[11]], "retention")
    return app, store, made


@pytest.mark.parametrize("reader", READERS)
def test_the_database_counts_every_month_reader_and_day_as_python_does_row_by_row(varied, reader):
    _, store, _ = varied
    for year in (2024, 2025, 2026, datetime.date.today().year + 1):
        assert store.figures.counts(year, reader) == _counted_in_python(store.database, year, reader), (year, reader)


def test_the_figures_are_the_ones_a_person_counts_by_hand(varied):
    _, store, _ = varied
    team, bahaa, mario = (yearly(store, 2025, reader) for reader in (None, "bahaa", "mario"))

    def row(rows, month):
        return next(r for r in rows if r[MONTH] == month)
    # March: opened three (two of them mario's), acknowledged in 0 and 5 days, replied in 0 and 1.
    assert row(team, "2025-03") == {MONTH: "2025-03", "opened": 3, "closed": 0, "deleted": 0,
                                    "median days to acknowledgement": 2.5, "median days to first reply": 0.5,
                                    "median days to closing": None}
    assert row(bahaa, "2025-03")["opened"] == 1 and row(mario, "2025-03")["opened"] == 2
    # Closed the next year: opened in December 2025, closed in January 2026, 16 days.
    assert row(team, "2025-12")["median days to closing"] == 16 and row(team, "2025-12")["closed"] == 0
    assert row(yearly(store, 2026), "2026-01")["closed"] == 1
    # A deleted conversation still counts, where its reader reads it, and only there.
    assert row(team, "2025-07")["opened"] == 2 and row(bahaa, "2025-07")["opened"] == 1
    assert row(mario, "2025-07")["median days to closing"] == 2
    # Reopened: counted opened, not closed.
    assert row(team, "2025-10")["closed"] == 0 and row(team, "2025-11")["closed"] == 0


@pytest.mark.parametrize("reader", READERS)
def test_the_late_count_is_the_number_of_conversations_overdue_names(varied, reader):
    app, store, _ = varied
    settings = app.extensions["dropbox"].config.settings
    for day in (datetime.date.today(), datetime.date(2025, 3, 18), datetime.date(2026, 2, 10)):
        named = overdue(store, settings, reader, today=day)
        counted = count_overdue(store, settings, reader, today=day)
        assert (counted.acknowledgement, counted.reply, counted.conversations) == (
            sum("acknowledgement" in why for why in named.values()),
            sum("reply" in why for why in named.values()), len(named)), (reader, day)
    assert count_overdue(store, settings, today=datetime.date.today()).conversations > 0
