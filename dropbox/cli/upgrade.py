"""`dropbox upgrade`: bring a data directory made by an earlier version to this one.

The instance's version is the number of upgrade steps its database has had
(`dropbox/migrations.py`); the steps repair the data directory too. Every
other command refuses an instance that is behind (`Store.prepare`, which they
all go through) rather than upgrading it on its own: an upgrade is a moment the
operator chooses, after a backup, never a side effect of `team list` or of a
restart by systemd after a package update.
"""
from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import click

from dropbox import migrations
from dropbox.cli.common import DATA, load, presents_the_example
from dropbox.config import InstanceError
from dropbox.layout import ONION_KEY_FILES, Layout
from dropbox.storage import stored_version
from dropbox.storage.schema import SCHEMA


def instance_version(data_dir: Path) -> int | None:
    """How far the instance at `data_dir` has been upgraded; None for one with no database yet."""
    data_dir = Path(data_dir).resolve()
    if not Layout(data_dir).config.is_file():
        raise InstanceError(f"no instance at {data_dir}: run `dropbox init --data {data_dir}` first")
    return stored_version(Layout(data_dir).database)


def apply_upgrades(data_dir: Path) -> list[str]:
    """Bring the database (made now if there is none: `init`) and the data directory to this
    program's version; returns the names of the steps applied. Only `upgrade` and `init` call
    this."""
    with closing(sqlite3.connect(Layout(data_dir).database, timeout=30, isolation_level=None)) as db:
        db.execute("PRAGMA foreign_keys = ON")
        db.executescript(SCHEMA)  # v0.1.0's tables; the migrations take them from there
        return migrations.upgrade(db, data_dir)


def _addresses(data_dir: Path) -> dict[str, str | None]:
    from onion.service_key import KeyFileError, ServiceKey
    found: dict[str, str | None] = {}
    for service in ONION_KEY_FILES:
        try:
            found[service] = ServiceKey.load(Layout(data_dir).onion_key(service)).address
        except KeyFileError:
            found[service] = None
    return found


@click.command()
@DATA
def upgrade(data_dir: Path) -> None:
    """Upgrade an instance made by an earlier version: its database and data directory."""
    data_dir = Path(data_dir).resolve()
    before = instance_version(data_dir) or 0
    if before > migrations.CURRENT:
        raise migrations.MigrationError(
            f"this instance is version {before}, newer than this program knows "
            f"({migrations.CURRENT}): install the newer onion-dropbox again")
    # Before any step: a data directory a step could be led out of, or a database a step
    # would stop half way on, is refused whole.
    migrations.refuse_links(data_dir)
    database = Layout(data_dir).database
    if before < migrations.CURRENT and database.exists():
        migrations.check_database(database)
    old = _addresses(data_dir)
    # Only paths are needed, not a loadable instance, which is what an incomplete one is not
    # until its steps have run.
    applied = apply_upgrades(data_dir)
    config, _ = load(data_dir)  # everything the server reads now loads
    for name in applied:
        click.echo(f"- {migrations.what_it_did(name)}")
    for service, address in _addresses(config.data_dir).items():
        if old[service] is None:
            click.echo(f"new {service} onion address: {address} (this instance had none)")
        elif old[service] != address:  # a step must never do this; say it loudly if one did
            raise click.ClickException(f"the {service} onion address changed to {address}")
    state = "already up to date" if before == migrations.CURRENT else f"upgraded from version {before}"
    click.echo(f"instance at {data_dir}: version {migrations.CURRENT}, {state}")
    if config.practice.presents_the_example() and not config.practice.demo:
        click.secho(f"note: {presents_the_example(config)}; `serve` refuses it until then", err=True)
