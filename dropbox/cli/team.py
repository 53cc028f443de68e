"""`dropbox team`: the responders reports are encrypted to."""
from __future__ import annotations

from pathlib import Path

import click

from keys.responder import Responder, check_name
from dropbox.cli.common import DATA, load


@click.group()
def team() -> None:
    """The responders reports are encrypted to."""


@team.command("add")
@click.argument("name")
@click.argument("pubfile", type=click.Path(path_type=Path))
@DATA
def team_add(name: str, pubfile: Path, data_dir: Path) -> None:
    """Add responder NAME with the public key in PUBFILE."""
    _, store = load(data_dir)
    responder = _reader_key(pubfile)
    check_name(name)
    if responder.name != name:
        raise click.ClickException(f"{pubfile} is the key of {responder.name!r}, not {name!r}")
    if any(bytes(r.public_key) == bytes(responder.public_key) for r in store.team.members()):
        raise click.ClickException("this public key is on the team already under another name")
    store.team.add(responder)
    click.echo(f"added {name} (fingerprint {responder.fingerprint})")
    _warn_if_unsigned(responder)


def _reader_key(pubfile: Path) -> Responder:
    """A responder's public key; a backup key is refused (it must never read reports)."""
    responder = Responder.load(pubfile)
    if responder.purpose == "backup":
        raise click.ClickException(f"{pubfile} is a backup key (purpose: backup): backups are "
                                   "sealed to it with `dropbox backup --to`; a responder's key "
                                   "comes from `keys new NAME`")
    return responder


def _warn_if_unsigned(responder: Responder) -> None:
    if responder.signing_key is None:
        click.secho(f"note: {responder.name}'s key is a v0.1.0 key without a signing key: they can "
                    "read, but their replies are refused until they run `keys upgrade-key` and you "
                    f"run `dropbox team replace {responder.name} NEW.pub`", err=True)


@team.command("replace")
@click.argument("name")
@click.argument("pubfile", type=click.Path(path_type=Path))
@DATA
def team_replace(name: str, pubfile: Path, data_dir: Path) -> None:
    """Give responder NAME the key in PUBFILE (lost key, or upgraded to sign).

    New items of every conversation that names them are sealed to the new key; what was
    sealed before stays readable only with the old one."""
    _, store = load(data_dir)
    responder = _reader_key(pubfile)
    if responder.name != name:
        raise click.ClickException(f"{pubfile} is the key of {responder.name!r}, not {name!r}")
    if any(bytes(r.public_key) == bytes(responder.public_key) and r.name != name
           for r in store.team.members()):
        raise click.ClickException("this public key is on the team already under another name")
    store.team.replace(responder)
    click.echo(f"replaced {name}'s key (fingerprint now {responder.fingerprint}); new items of "
               "their conversations are sealed to it")
    _warn_if_unsigned(responder)


@team.command("list")
@DATA
def team_list(data_dir: Path) -> None:
    """List the responders and their key fingerprints."""
    _, store = load(data_dir)
    members = store.team.members()
    if not members:
        click.echo("no responders yet; add one with `dropbox team add NAME PUBFILE`")
    for responder in members:
        click.echo(f"{responder.name}\t{responder.fingerprint}")


@team.command("remove")
@click.argument("name")
@DATA
def team_remove(name: str, data_dir: Path) -> None:
    """Remove responder NAME: nothing new is encrypted to them, in any conversation."""
    _, store = load(data_dir)
    store.team.remove(name)
    click.echo(f"removed {name}")

