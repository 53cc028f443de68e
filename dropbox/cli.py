"""The `dropbox` command: the operator's and the responders' one entry point.

Errors a person can meet become one line and a non-zero exit, in one place
(`DropboxGroup`), so commands say only what they do; the `keys` group is handed to `keys.cli`, which runs
without the web stack on the air-gapped machine.
"""
from __future__ import annotations

import ipaddress
import shutil
import sys
from pathlib import Path

import click

from keys import cli as keys_cli
from keys.errors import FormatError
from keys.responder import Responder, check_name
from dropbox.config import Config, InstanceError, create_instance
from dropbox.storage import StorageError, Store
from onion.client_auth import AccessError
from onion.service_key import KeyFileError
from onion.tor import TorError

USER_ERRORS = (InstanceError, StorageError, FormatError, AccessError, KeyFileError, TorError)

DATA = click.option("--data", "data_dir", required=True, type=click.Path(path_type=Path),
                    help="the instance's data directory")


def _load(data_dir: Path) -> tuple[Config, Store]:
    config = Config.load(data_dir)
    store = Store(config.database, config.store_dir, config.tmp_dir)
    store.prepare()
    return config, store


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class DropboxGroup(click.Group):
    """Turns the errors a person can meet into one line and exit status 1, at the edge."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except USER_ERRORS as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=DropboxGroup)
def cli() -> None:
    """onion-dropbox: an anonymous reporting drop served as a Tor onion service."""


@cli.command()
@DATA
def init(data_dir: Path) -> None:
    """Create a new instance: config, database and server secrets."""
    path = create_instance(data_dir)
    _load(path)
    click.echo(f"created an instance in {path}; add responders with `dropbox team add`")


@cli.group()
def team() -> None:
    """The responders reports are encrypted to."""


@team.command("add")
@click.argument("name")
@click.argument("pubfile", type=click.Path(path_type=Path))
@DATA
def team_add(name: str, pubfile: Path, data_dir: Path) -> None:
    """Add responder NAME with the public key in PUBFILE."""
    _, store = _load(data_dir)
    responder = Responder.load(pubfile)
    check_name(name)
    if responder.name != name:
        raise click.ClickException(f"{pubfile} is the key of {responder.name!r}, not {name!r}")
    if any(bytes(r.public_key) == bytes(responder.public_key) for r in store.team()):
        raise click.ClickException("this public key is on the team already under another name")
    store.add_responder(responder)
    click.echo(f"added {name} (fingerprint {responder.fingerprint})")


@team.command("list")
@DATA
def team_list(data_dir: Path) -> None:
    """List the responders and their key fingerprints."""
    _, store = _load(data_dir)
    members = store.team()
    if not members:
        click.echo("no responders yet; add one with `dropbox team add NAME PUBFILE`")
    for responder in members:
        click.echo(f"{responder.name}\t{responder.fingerprint}")


@team.command("remove")
@click.argument("name")
@DATA
def team_remove(name: str, data_dir: Path) -> None:
    """Remove responder NAME: new reports are no longer encrypted to them."""
    _, store = _load(data_dir)
    store.remove_responder(name)
    click.echo(f"removed {name}")


@cli.command()
@DATA
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("--tor", type=click.Choice(["auto", "launch", "system", "off"]), default="auto",
              show_default=True,
              help="launch: a private tor; system: a running tor's control port; "
                   "auto: launch if tor is installed, else off")
@click.option("--control-port", default=9051, show_default=True, type=click.IntRange(1, 65535),
              help="with --tor system: the control port on 127.0.0.1 (cookie or password auth)")
@click.option("--control-password-file", type=click.Path(path_type=Path, dir_okay=False),
              help="with --tor system: a file holding the control port password")
@click.option("--tor-config", type=click.Path(path_type=Path, dir_okay=False),
              help="with --tor launch: extra torrc lines for the launched tor")
@click.option("--desk-port", type=click.IntRange(0, 65535),
              help="the responder desk's loopback port, published as an onion with client "
                   "authorization [default: --port + 1, any free one with --port 0]")
def serve(data_dir: Path, host: str, port: int, tor: str, control_port: int,
          control_password_file: Path | None, tor_config: Path | None,
          desk_port: int | None) -> None:
    """Serve the reporter site and the responder desk, and publish them as onion services."""
    from dropbox.server import TorChoice, serve as run
    from onion.tor import read_torrc
    config, store = _load(data_dir)
    if not store.team():
        raise click.ClickException("the team is empty: add a responder with `dropbox team add` first")
    if not _is_loopback(host):
        click.secho(f"WARNING: listening on {host}, not loopback: anyone who can reach it "
                    "can see this site without tor.", fg="red", bold=True, err=True)
    if tor == "auto":
        tor = "launch" if shutil.which("tor") else "off"
        if tor == "off":
            click.secho("WARNING: tor is not installed (no `tor` on PATH), so no onion service "
                        "is published.", fg="red", bold=True, err=True)
    if tor == "off":
        click.secho("WARNING: tor is off. This site is NOT an onion service: reporters cannot "
                    "reach it anonymously. Use it for trying things out only.",
                    fg="red", bold=True, err=True)
    choice = None if tor == "off" else TorChoice(
        tor, control_port,
        _read_text(control_password_file) if control_password_file else None,
        read_torrc(tor_config) if tor_config else {})
    desk_port = desk_port if desk_port is not None else (port + 1 if port else 0)
    sys.exit(run(config, host, port, choice, desk_port))


def _read_text(path: Path) -> str:
    try:
        return path.read_text("utf-8").strip()
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror}") from None


@cli.group()
def onion() -> None:
    """The onion addresses: show, import, rotate, and who may reach the desk."""


SERVICE = click.option("--desk", "service", flag_value="desk", default="site",
                       help="the desk's onion rather than the reporter site's")


def _service_key(config: Config, service: str):
    from onion.service_key import ServiceKey
    return ServiceKey.load(config.onion_key_file(service))


@onion.command("address")
@DATA
def onion_address(data_dir: Path) -> None:
    """Print the reporter site's onion address (and the desk's)."""
    config, _ = _load(data_dir)
    click.echo(_service_key(config, "site").address)
    click.echo(f"desk: {_service_key(config, 'desk').address}", err=True)


@onion.command("import-key")
@click.argument("secret_key_file", type=click.Path(path_type=Path, dir_okay=False))
@DATA
@SERVICE
def onion_import_key(secret_key_file: Path, data_dir: Path, service: str) -> None:
    """Keep an existing address: take tor's hs_ed25519_secret_key from its HiddenServiceDir."""
    from onion.service_key import import_tor_file
    config, _ = _load(data_dir)
    key = import_tor_file(secret_key_file, config.onion_key_file(service))
    click.echo(f"the {service} onion is now {key.address}; restart `dropbox serve` to publish it")


@onion.command("rotate")
@DATA
@SERVICE
@click.confirmation_option(prompt="The old address will stop working for good. Go on?")
def onion_rotate(data_dir: Path, service: str) -> None:
    """Replace the onion key on purpose: a new address, the old one is gone."""
    from onion.service_key import write_new_seed
    config, _ = _load(data_dir)
    old = _service_key(config, service).address
    new = write_new_seed(config.onion_key_file(service)).address
    click.echo(f"the {service} onion moved from {old} to {new}; restart `dropbox serve` to publish it")


@onion.group("desk-access")
def desk_access() -> None:
    """The responders who may reach the desk onion (v3 client authorization)."""


@desk_access.command("add")
@click.argument("name")
@DATA
def desk_access_add(name: str, data_dir: Path) -> None:
    """Give NAME a key; prints the line for Tor Browser or a ClientOnionAuthDir file, once."""
    config, _ = _load(data_dir)
    line = config.desk_access.grant(name, _service_key(config, "desk").service_id)
    click.echo(f"gave {name} access to the desk; give them this line over a safe channel "
               "(it is not kept here):", err=True)
    click.echo(line)


@desk_access.command("remove")
@click.argument("name")
@DATA
def desk_access_remove(name: str, data_dir: Path) -> None:
    """Revoke NAME's key: a running `dropbox serve` publishes the desk again without it."""
    config, _ = _load(data_dir)
    config.desk_access.revoke(name)
    click.echo(f"removed {name}'s desk access")


@desk_access.command("list")
@DATA
def desk_access_list(data_dir: Path) -> None:
    """The names with desk access."""
    config, _ = _load(data_dir)
    grants = config.desk_access.grants()
    if not grants:
        click.echo("no one has desk access; add a responder with `dropbox onion desk-access add NAME`")
    for grant in grants:
        click.echo(grant.name)


@cli.command()
@DATA
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--all", "everything", is_flag=True, help="every conversation, not only what is new")
def export(data_dir: Path, out_path: Path, everything: bool) -> None:
    """Write a bundle of encrypted conversations for the air-gapped machine."""
    from dropbox.exports import export_bundle
    _, store = _load(data_dir)
    count = export_bundle(store, out_path, everything)
    if count == 0:
        click.echo("nothing new since the last export (use --all for everything); no file written")
    else:
        click.echo(f"wrote {count} conversation(s) to {out_path}")


@cli.command()
@DATA
def purge(data_dir: Path) -> None:
    """Delete conversations without activity for retention_days, now."""
    from dropbox.desk.housekeeping import purge_expired
    config, store = _load(data_dir)
    count = purge_expired(store, config.settings.retention_days)
    click.echo(f"deleted {count} conversation(s) without activity for "
               f"{config.settings.retention_days} days")


@cli.group()
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
    config, store = _load(data_dir)
    if name not in {r.name for r in store.team()}:
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
    config, store = _load(data_dir)
    _show_credentials(reset_account(config, store, name))


@desk.command("remove-user")
@click.argument("name")
@DATA
def desk_remove_user(name: str, data_dir: Path) -> None:
    """Remove NAME's desk login."""
    _, store = _load(data_dir)
    store.remove_account(name)
    click.echo(f"removed the desk login of {name}")


@desk.command("list-users")
@DATA
def desk_list_users(data_dir: Path) -> None:
    """List desk logins, their notice address, and any lock."""
    import time
    _, store = _load(data_dir)
    accounts = store.accounts()
    if not accounts:
        click.echo("no desk logins yet; add one with `dropbox desk add-user NAME`")
    for account in accounts:
        locked = account["locked_until"] - time.time()
        state = f"LOCKED for {int(locked // 60) + 1} more minute(s)" if locked > 0 else \
            f"{account['failures']} failed login(s) in a row" if account["failures"] else "ok"
        click.echo(f"{account['name']}\t{account['email'] or '(no mail)'}\t{state}")


@cli.command("import-replies")
@click.argument("replies", nargs=-1, required=True, type=click.Path(path_type=Path))
@DATA
def import_replies(replies: tuple[Path, ...], data_dir: Path) -> None:
    """Store reply files written offline so the reporters can read them."""
    from dropbox.exports import import_replies as store_replies
    _, store = _load(data_dir)
    failed = 0
    for path in replies:
        try:
            count = store_replies(store, path)
        except (FormatError, OSError) as exc:
            failed += 1
            message = exc if isinstance(exc, FormatError) else f"cannot read {path}: {exc.strerror}"
            click.echo(f"Error: {path}: {message}", err=True)
            continue
        click.echo(f"{path}: stored {count} reply(ies)")
    if failed:
        sys.exit(1)


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                               "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def keys(args: tuple[str, ...]) -> None:
    """Responder keys and offline reading (also `python -m keys`)."""
    sys.exit(keys_cli.main(list(args), prog="dropbox keys"))


def main() -> int:
    return cli(standalone_mode=True) or 0
