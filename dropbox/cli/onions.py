"""`dropbox onion`: the onion addresses, and who may reach the desk."""
from __future__ import annotations

from pathlib import Path

import click

from dropbox.cli.common import DATA, load
from dropbox.config import Config


@click.group()
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
    config, _ = load(data_dir)
    click.echo(_service_key(config, "site").address)
    click.echo(f"desk: {_service_key(config, 'desk').address}", err=True)


@onion.command("import-key")
@click.argument("secret_key_file", type=click.Path(path_type=Path, dir_okay=False))
@DATA
@SERVICE
def onion_import_key(secret_key_file: Path, data_dir: Path, service: str) -> None:
    """Keep an existing address: take tor's hs_ed25519_secret_key from its HiddenServiceDir."""
    from onion.service_key import import_tor_file
    config, _ = load(data_dir)
    key = import_tor_file(secret_key_file, config.onion_key_file(service))
    click.echo(f"the {service} onion is now {key.address}; restart `dropbox serve` to publish it")


@onion.command("rotate")
@DATA
@SERVICE
@click.confirmation_option(prompt="The old address will stop working for good. Go on?")
def onion_rotate(data_dir: Path, service: str) -> None:
    """Replace the onion key on purpose: a new address, the old one is gone."""
    from onion.service_key import write_new_seed
    config, _ = load(data_dir)
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
    config, _ = load(data_dir)
    line = config.desk_access.grant(name, _service_key(config, "desk").service_id)
    click.echo(f"gave {name} access to the desk; give them this line over a safe channel "
               "(it is not kept here):", err=True)
    click.echo(line)


@desk_access.command("remove")
@click.argument("name")
@DATA
def desk_access_remove(name: str, data_dir: Path) -> None:
    """Revoke NAME's key: a running `dropbox serve` publishes the desk again without it."""
    config, _ = load(data_dir)
    config.desk_access.revoke(name)
    click.echo(f"removed {name}'s desk access")


@desk_access.command("list")
@DATA
def desk_access_list(data_dir: Path) -> None:
    """The names with desk access."""
    config, _ = load(data_dir)
    grants = config.desk_access.grants()
    if not grants:
        click.echo("no one has desk access; add a responder with `dropbox onion desk-access add NAME`")
    for grant in grants:
        click.echo(grant.name)

