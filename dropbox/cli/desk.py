"""`dropbox desk`: responders' logins to the desk."""
from __future__ import annotations

from pathlib import Path

import click

from dropbox.cli.common import DATA, counted, load
from dropbox.storage import StorageError


@click.group()
def desk() -> None:
    """Responders' logins to the desk."""


def _show_credentials(credentials) -> None:
    import io
    import qrcode
    qr = qrcode.QRCode(border=2)
    qr.add_data(credentials.totp_uri)
    drawing = io.StringIO()
    qr.print_ascii(out=drawing, invert=True)
    click.echo(f"Give these to {credentials.name} in person; they are shown only once.\n")
    click.echo(f"password: {credentials.password}")
    click.echo(f"authenticator (TOTP): {credentials.totp_uri}")
    click.echo(drawing.getvalue())


@desk.command("add-user")
@click.argument("name")
@click.option("--email", default="", help="where to send notices of new activity (optional)")
@DATA
def desk_add_user(name: str, email: str, data_dir: Path) -> None:
    """Give responder NAME a desk login: a password and an authenticator secret."""
    from dropbox.desk.accounts import add_account
    config, store = load(data_dir)
    if name not in {r.name for r in store.team.members()}:
        raise click.ClickException(f"{name!r} is not on the team; add them with `dropbox team add` first")
    try:
        _show_credentials(add_account(config, store, name, email))
    except StorageError as exc:
        raise click.ClickException(f"{exc}; use `dropbox desk reset-user {name}` for new ones") from None


@desk.command("reset-user")
@click.argument("name")
@DATA
def desk_reset_user(name: str, data_dir: Path) -> None:
    """Issue NAME a new password and authenticator secret; lifts a lock."""
    from dropbox.desk.accounts import reset_account
    config, store = load(data_dir)
    _show_credentials(reset_account(config, store, name))


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
        if locked > 0:
            state = f"LOCKED for {counted(int(locked // 60) + 1, 'more minute', 'more minutes')}"
        elif account.failures:
            state = f"{counted(account.failures, 'failed login', 'failed logins')} in a row"
        else:
            state = "ok"
        click.echo(f"{account.name}\t{account.email or '(no mail)'}\t{state}")

