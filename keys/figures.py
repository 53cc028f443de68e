"""Figures for a yearly transparency report: the table the server counts without reading
(`dropbox figures`), and what only the reports' content can say, counted offline.

The server knows when conversations were opened, received, replied to, closed and deleted,
and nothing of what they say. What a report says (the behaviours its reporter chose) is
counted here, on the air-gapped machine, from the folders `keys open` wrote: the table is the
same, with a column per behaviour added, so a team publishes its report without the server
ever learning them. The server's own figures come across as its CSV (`dropbox figures --csv`,
`--server` here); without it, the columns only the server knows are left empty ("-").
"""
from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

from keys.errors import FormatError
from keys.ids import check_id
from keys.private_files import read

Cell = int | float | str | None
Row = dict[str, Cell]

# The table, in order: the month ("YYYY-MM", then "year" for the whole year) and what the
# server counts. Medians are over the conversations opened that month.
MONTH, OPENED = "month", "opened"
COLUMNS = (MONTH, OPENED, "closed", "deleted", "median days to acknowledgement",
           "median days to first reply", "median days to closing")
MEDIAN_OF = {"median days to acknowledgement": "acknowledgement", "median days to first reply": "first_reply",
             "median days to closing": "closing"}
YEAR = "year"
# The report form's question whose answers are the behaviours (in English in every report:
# `dropbox.reporter_items`), and how a reporter's own words are counted: never quoted.
BEHAVIOURS_QUESTION = "What happened? Check all that apply."
OTHER = "Other"
MAX_FILE = 1 << 22  # an opened report or index: far more than any real one


def median(counts: Mapping[int, int]) -> float | None:
    """The median of values given as value → how many times; None for none."""
    total = sum(counts.values())
    if not total:
        return None
    ordered = sorted(counts.items())

    def at(position: int) -> int:
        seen = 0
        for value, count in ordered:
            seen += count
            if position < seen:
                return value
        raise AssertionError("position past the end")

    return (at((total - 1) // 2) + at(total // 2)) / 2


def months(year: int) -> list[str]:
    return [f"{year:04d}-{m:02d}" for m in range(1, 13)] + [YEAR]


def _shown(value: Cell) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def as_table(rows: list[Row], columns: Iterable[str]) -> str:
    """Rows as aligned text, one line each, with a header."""
    columns = list(columns)
    cells = [columns] + [[_shown(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return "\n".join("  ".join(cell.rjust(w) if n else cell.ljust(w) for n, (cell, w) in
                               enumerate(zip(line, widths, strict=True))).rstrip() for line in cells) + "\n"


def as_csv(rows: list[Row], columns: Iterable[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = list(columns)
    writer.writerow(columns)
    writer.writerows([["" if row.get(c) is None else _shown(row.get(c)) for c in columns] for row in rows])
    return out.getvalue()


def read_server_csv(path: Path, year: int) -> dict[str, Row]:
    """The server's figures (`dropbox figures --csv`) for `year`, by month; FormatError if the
    file is not that (its columns, its months, whole or decimal numbers)."""
    data = read(path, MAX_FILE)
    if data is None:
        raise FormatError(f"{path} does not exist")
    try:
        lines = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    except (UnicodeDecodeError, csv.Error):
        raise FormatError(f"{path} is not the server's figures (dropbox figures --csv)") from None
    if not lines or tuple(lines[0]) != COLUMNS or [line[0] for line in lines[1:] if line] != months(year):
        raise FormatError(f"{path} is not the server's figures for {year} (dropbox figures --year "
                          f"{year} --csv)")
    found: dict[str, Row] = {}
    for line in (line for line in lines[1:] if line):
        if len(line) != len(COLUMNS) or not all(re.fullmatch(r"|[0-9]{1,9}(\.5)?", v) for v in line[1:]):
            raise FormatError(f"{path}: the line for {line[0]} is not figures")
        found[line[0]] = {MONTH: line[0], **{c: (None if v == "" else float(v) if "." in v else int(v))
                                             for c, v in zip(COLUMNS[1:], line[1:], strict=True)}}
    return found


def _opened_conversations(out: Path) -> list[Path]:
    """The conversation folders OUT/index.txt lists (written by `keys open`)."""
    index = read(out / "index.txt", MAX_FILE)
    if index is None:
        raise FormatError(f"{out} holds no index.txt: it is not a folder `keys open` wrote")
    folders = {}
    for line in index.decode("utf-8", "replace").splitlines():
        parts = line.split("\t")
        if len(parts) != 3:
            raise FormatError(f"{out / 'index.txt'} is damaged: a line is not designation, id, folder")
        conversation_id = check_id(parts[1], f"{out / 'index.txt'}")
        folders[conversation_id] = out / conversation_id[:2] / Path(parts[2]).name
    return list(folders.values())


def _report_facts(folder: Path) -> tuple[str, list[str], str | None] | None:
    """(day the report was sent, behaviours chosen, day of the first reply) of one opened
    conversation; None when its folder holds no report."""
    report = read(folder / "report.txt", MAX_FILE)
    if report is None:
        return None
    lines = report.decode("utf-8", "replace").splitlines()
    sent = next((m.group(1) for line in lines if (m := re.fullmatch(r"Report sent on (\d{4}-\d{2}-\d{2})", line))),
                None)
    if sent is None:
        return None
    behaviours: list[str] = []
    if f"{BEHAVIOURS_QUESTION}:" in lines:
        for line in lines[lines.index(f"{BEHAVIOURS_QUESTION}:") + 1:]:
            if not line.startswith("  - "):
                break
            chosen = line[4:]
            behaviours.append(OTHER if chosen.startswith(f"{OTHER}: ") else chosen)
    index = read(folder / "index.txt", MAX_FILE) or b""
    replies = re.findall(r"^(\d{4}-\d{2}-\d{2})  reply ", index.decode("utf-8", "replace"), re.M)
    return sent, behaviours, min(replies, default=None)


def offline_figures(out: Path, year: int, server: Mapping[str, Row] | None = None) -> tuple[list[Row], list[str]]:
    """The year's table from the conversations opened into `out` (the reports sent that
    year), with a column per behaviour chosen; the server's columns from `server` if given.
    Returns the rows and the behaviour columns, most chosen first."""
    from datetime import date
    opened: Counter[str] = Counter()
    replied: dict[str, Counter[int]] = {m: Counter() for m in months(year)}
    chosen: dict[str, Counter[str]] = {m: Counter() for m in months(year)}
    for folder in _opened_conversations(out):
        facts = _report_facts(folder)
        if facts is None or not facts[0].startswith(f"{year:04d}-"):
            continue
        sent, behaviours, first_reply = facts
        for month in (sent[:7], YEAR):
            opened[month] += 1
            chosen[month].update(behaviours)
            if first_reply is not None:
                replied[month][(date.fromisoformat(first_reply) - date.fromisoformat(sent)).days] += 1
    behaviour_columns = [b for b, _ in chosen[YEAR].most_common()]
    rows = []
    for month in months(year):
        row: Row = dict((server or {}).get(month) or {c: None for c in COLUMNS})
        row[MONTH] = month
        if server is None:
            row[OPENED] = opened[month]
            row["median days to first reply"] = median(replied[month])
        row.update({b: chosen[month][b] for b in behaviour_columns})
        rows.append(row)
    return rows, behaviour_columns
