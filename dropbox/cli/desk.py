"""`dropbox desk`: responders' logins to the desk."""
from __future__ import annotations

from pathlib import Path

import click

from dropbox.cli.common import DATA, counted, load
from dropbox.storage import StorageError


@click.group()
def desk() -> None:
    """Responders' logins to the desk."""


def _show_enrolment(enrolment) -> None:
    from datetime import UTC, datetime
    until = datetime.fromtimestamp(enrolment.expires, UTC).strftime("%Y-%m-%d %H:%M UTC")
    click.echo(f"enrolment code for {enrolment.name}: {enrolment.code}")
    click.echo(f"It works once, until {until}. Give it to {enrolment.name} in person or over a "
               "channel you trust.")
    click.echo(f"{enrolment.name} opens the desk's onion address in Tor Browser, follows \"First time "
               "here? Enrol\" (the page /enrol), types the code, and chooses their own passphrase "
               "and authenticator there; you never see either.")


@desk.command("add-user")
@click.argument("name")
@click.option("--email", default="", help="where to send notices of new activity (optional)")
@DATA
def desk_add_user(name: str, email: str, data_dir: Path) -> None:
    """Give responder NAME a desk login: a one-time enrolment code, with which they choose
    their own passphrase and authenticator on the desk."""
    from dropbox.desk.accounts import add_account
    config, store = load(data_dir)
    if name not in {r.name for r in store.team.members()}:
        raise click.ClickException(f"{name!r} is not on the team; add them with `dropbox team add` first")
    try:
        _show_enrolment(add_account(config, store, name, email))
    except StorageError as exc:
        raise click.ClickException(f"{exc}; use `dropbox desk reset-user {name}` for a new enrolment code") from None


@desk.command("reset-user")
@click.argument("name")
@DATA
def desk_reset_user(name: str, data_dir: Path) -> None:
    """Issue NAME a new enrolment code: their passphrase and authenticator stop working, their
    sessions end, and any lock is lifted."""
    from dropbox.desk.accounts import reset_account
    config, store = load(data_dir)
    try:
        enrolment = reset_account(config, store, name)
    except StorageError as exc:
        raise click.ClickException(f"{exc}; add one with `dropbox desk add-user {name}`") from None
    click.echo(f"{name}'s passphrase and authenticator no longer work, and their sessions have ended.")
    _show_enrolment(enrolment)


@desk.command("remove-user")
@click.argument("name")
@DATA
def desk_remove_user(name: str, data_dir: Path) -> None:
    """Remove NAME's desk login."""
    _, store = load(data_dir)
    store.desk.remove_account(name)
    click.echo(f"removed the desk login of {name}")


@desk.command("list-users")
@DATA
def desk_list_users(data_dir: Path) -> None:
    """List desk logins, their notice address, and any lock."""
    import time
    _, store = load(data_dir)
    accounts = store.desk.accounts()
    if not accounts:
        click.echo("no desk logins yet; add one with `dropbox desk add-user NAME`")
    for account in accounts:
        locked = account.locked_until - time.time()
        if not account.enrolled:
            state = ("waiting for enrolment" if account.enrolment_expires > time.time() else
                     f"enrolment code expired: `dropbox desk reset-user {account.name}` issues a new one")
        elif locked > 0:
            state = f"LOCKED for {counted(int(locked // 60) + 1, 'more minute', 'more minutes')}"
        elif account.failures:
            state = f"{counted(account.failures, 'failed login', 'failed logins')} in a row"
        else:
            state = "ok"
        click.echo(f"{account.name}\t{account.email or '(no mail)'}\t{state}")

