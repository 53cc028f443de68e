"""`dropbox figures --year Y`: what the server counted without reading, for a transparency report.

The behaviours reported are not here: the server never learns them. `keys figures` counts
them offline, and takes this command's CSV to print both in one table.
"""
from __future__ import annotations

import datetime
from pathlib import Path

import click

from dropbox.cli.common import DATA, load
from dropbox.figures import yearly
from keys.figures import COLUMNS, as_csv, as_table


@click.command()
@DATA
@click.option("--year", type=click.IntRange(2000, 9999), default=lambda: datetime.date.today().year,
              show_default="this year")
@click.option("--csv", "as_csv_text", is_flag=True, help="comma-separated values, for `keys figures --server`")
def figures(data_dir: Path, year: int, as_csv_text: bool) -> None:
    """Conversations opened, closed, deleted per month, and median days to acknowledgement,
    first reply and closing: nothing of what any of them says."""
    _, store = load(data_dir)
    rows = yearly(store, year)
    click.echo(as_csv(rows, COLUMNS) if as_csv_text else as_table(rows, COLUMNS), nl=False)
