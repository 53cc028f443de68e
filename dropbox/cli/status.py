"""`dropbox status`: is this instance healthy? For people and for monitoring.

Exit status 0 when nothing needs attention; otherwise 1, with one `PROBLEM:` line each. A
store that cannot be written (a read-only mount, a full disk) is the first thing checked.
What it reads is all on this machine: the data directory and, when `serve` runs, tor's
control port (ours under DATA/tor/, or the system's). It never changes anything, so it does
not upgrade an old instance either: it says that one is due (`Store.prepare` refuses it).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from dropbox import __version__, health, migrations, promises
from dropbox.cli.common import DATA, load
from dropbox.cli.upgrade import instance_version
from dropbox.desk.housekeeping import failing_chores
from dropbox.storage import UpgradeDue


def _tor_problems(config, control_port: int, control_socket: Path, password: str | None) -> list[str]:
    from onion.service_key import ServiceKey
    from onion.tor import Tor, TorError
    launched = Tor.launched_control_port(config.tor_dir)
    try:
        if launched is not None:
            tor = Tor.attach(launched)
        else:
            tor = Tor.attach(control_port, password, control_socket if control_socket.exists() else None)
    except TorError as exc:
        return [f"tor cannot be asked whether the onions are published: {exc}"]
    try:
        return [f"the {service} onion is not published (is `dropbox serve` running, and tor online?)"
                for service in ("site", "desk")
                if not tor.has_descriptor(ServiceKey.load(config.onion_key_file(service)))]
    finally:
        tor.close()


def _read_password(path: Path) -> str:
    try:
        return path.read_text("utf-8").strip()
    except (OSError, UnicodeDecodeError):
        raise click.ClickException(f"cannot read a password from {path}") from None


@click.command()
@DATA
@click.option("--control-port", default=9051, show_default=True, type=click.IntRange(1, 65535),
              help="the system tor's control port, when serve attached to it")
@click.option("--control-socket", default="/run/tor/control", show_default=True,
              type=click.Path(path_type=Path), help="the system tor's control socket")
@click.option("--control-password-file", type=click.Path(path_type=Path, dir_okay=False),
              help="a file holding the control port password, when serve was given one")
def status(data_dir: Path, control_port: int, control_socket: Path,
           control_password_file: Path | None) -> None:
    """Say what needs attention; exit status 1 if anything does (for monitoring)."""
    try:
        config, store = load(data_dir)
    except UpgradeDue:
        found = instance_version(data_dir)
        click.echo(f"onion-dropbox {__version__}; the instance is version {found}")
        click.echo(f"PROBLEM: the instance needs `dropbox upgrade` (version {found}, "
                   f"this program {migrations.CURRENT}); serve will not start until then")
        sys.exit(1)
    settings = config.settings
    unwritable = store.unwritable()
    if unwritable:  # what follows reads the database, which may not open either
        click.echo(f"onion-dropbox {__version__}, instance version {migrations.CURRENT}")
        for problem in unwritable:
            click.echo(f"PROBLEM: {problem}")
        sys.exit(1)
    click.echo(f"onion-dropbox {__version__}, instance version {migrations.CURRENT}, "
               f"{len(store.team.members())} responder(s)")
    password = _read_password(control_password_file) if control_password_file else None
    problems = _tor_problems(config, control_port, control_socket, password)

    free, largest = health.free_disk(config), config.max_request_bytes
    click.echo(f"free disk: {health.mib(free)} (largest upload: {health.mib(largest)})")
    if free < largest:
        problems.append(f"free disk ({health.mib(free)}) is less than the largest upload "
                        f"allowed ({health.mib(largest)}): free space or lower max_request_mib")

    for name, since in failing_chores(store).items():
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(since))
        problems.append(f"the server's chore \"{name}\" has failed since {when}, at every try "
                        "(it keeps trying; the server's log says how it fails)")

    unread = health.unread_for(store, settings.unread_warning_days)
    if unread:
        problems.append(f"{len(unread)} conversation(s) have reports no one has downloaded for "
                        f"more than {settings.unread_warning_days} day(s)")

    late = promises.count_overdue(store, settings)
    for count, promise, days in ((late.acknowledgement, "acknowledgement", settings.acknowledge_within_days),
                                 (late.reply, "reply", settings.respond_within_days)):
        if count:
            problems.append(f"{count} open conversation(s) have had no {promise} for more than the "
                            f"{days} day(s) the team promises")

    if settings.retention_days == 0:
        click.echo("retention: off (retention_days = 0), nothing is deleted")
    else:
        due = health.deletions_within(store, settings.retention_days, settings.retention_warning_days)
        click.echo(f"retention: {settings.retention_days} days without activity; "
                   f"{len(due)} deletion(s) within {settings.retention_warning_days} day(s)"
                   + (f", the next on {min(due.values())}" if due else ""))
    for problem in problems:
        click.echo(f"PROBLEM: {problem}")
    sys.exit(1 if problems else 0)
