"""A year's figures without content, for a transparency report: conversations opened, closed
and deleted per month, and the median days to acknowledgement, first reply and closing (over
those opened that month). Counted by the database from the stored conversations' days and the
counters deleted ones left (`dropbox.storage.figures`); the table and its CSV are `keys.figures`', so
`keys figures` offline prints the same one with the behaviours reported added.
"""
from __future__ import annotations

from collections import Counter

from dropbox.storage import Store
from dropbox.storage.figures import MEASURES
from keys.figures import COLUMNS, MEDIAN_OF, MONTH, YEAR, Row, median, months


def yearly(store: Store, year: int, reader: str | None = None) -> list[Row]:
    """One row per month of `year` and one for the whole year; `reader`'s conversations only,
    if given (the desk), else the whole team's (`dropbox figures`)."""
    events: dict[str, Counter[str]] = {m: Counter() for m in months(year)}
    days: dict[str, dict[str, Counter[int]]] = {m: {k: Counter() for k in MEASURES} for m in months(year)}
    for (month, measure, value), count in store.figures.counts(year, reader).items():
        if month not in events:
            continue
        for where in (month, YEAR):
            if measure in MEASURES:
                days[where][measure][value] += count
            else:
                events[where][measure] += count
    return [{MONTH: month, **{c: events[month][c] for c in COLUMNS[1:4]},
             **{c: median(days[month][MEDIAN_OF[c]]) for c in COLUMNS[4:]}} for month in months(year)]
