"""The `dropbox` command: the operator's and the responders' one entry point.

Errors a person can meet become one line and a non-zero exit, in one place
(`common.DropboxGroup`), so commands say only what they do. Each group of
commands has its module; the `keys` group is handed to `keys.cli`, which runs
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
from dropbox.cli.airgap import airgap_kit
from dropbox.cli.backup import backup, restore
from dropbox.cli.common import DATA, DropboxGroup, counted, load, presents_the_example
from dropbox.cli.desk import desk
from dropbox.cli.figures import figures
from dropbox.cli.onions import onion
from dropbox.cli.status import status
from dropbox.cli.team import team
from dropbox.cli.upgrade import apply_upgrades, upgrade
from dropbox import __version__
from dropbox.config import create_instance
from dropbox.practice import practice_for
from keys.responder import check_name
from dropbox.migrations import CURRENT


# Where Debian's tor (tor@default) puts its control socket.
SYSTEM_CONTROL_SOCKET = Path("/run/tor/control")


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False



@click.group(cls=DropboxGroup)
@click.version_option(__version__, message=f"onion-dropbox %(version)s (instance version {CURRENT})")
def cli() -> None:
    """onion-dropbox: an anonymous reporting drop served as a Tor onion service."""


@cli.command()
@DATA
@click.option("--community", help="your community's name: reporters are told they write to "
                                  "its response team [asked if not given]")
@click.option("--organisation", "organisations", multiple=True, metavar="NAME=ORGANISATION",
              help="a responder and the organisation reporters see beside their name; repeat "
                   "for each (ORGANISATION may be empty)")
@click.option("--demo", is_flag=True, help="keep the example community (CiviCERT); every page "
                                           "says it is a demonstration")
def init(data_dir: Path, community: str | None, organisations: tuple[str, ...], demo: bool) -> None:
    """Create a new instance: config, database, server secrets and the code of practice."""
    if demo and (community or organisations):
        raise click.UsageError("--demo keeps the example community: give it alone")
    team = dict(_organisation(text) for text in organisations)
    if not demo and community is None and sys.stdin.isatty():
        community, team = _ask_community()
    if community is not None and not community.strip():
        raise click.UsageError("the community's name is empty")
    if organisations and not community:
        raise click.UsageError("--organisation needs --community")
    practice = practice_for(community.strip() if community else None, team, demo)
    path = create_instance(data_dir, practice)
    apply_upgrades(path)  # a new database takes the same steps as an old one
    config, _ = load(path)
    click.echo(f"created an instance in {path}; add responders with `dropbox team add`")
    if config.practice.presents_the_example() and not demo:
        click.secho(presents_the_example(config), err=True)


def _organisation(text: str) -> tuple[str, str]:
    name, equals, organisation = text.partition("=")
    if not equals:
        raise click.BadParameter(f"{text!r} is not NAME=ORGANISATION", param_hint="--organisation")
    try:
        return check_name(name.strip()), organisation.strip()
    except FormatError as exc:
        raise click.BadParameter(str(exc), param_hint="--organisation") from None


def _ask_community() -> tuple[str, dict[str, str]]:
    community = click.prompt("Your community's name (reporters read: \"tell the NAME response "
                             "team\")").strip()
    click.echo("Each responder's organisation, shown to reporters beside their name, as "
               "NAME=ORGANISATION; an empty line when done.")
    team: dict[str, str] = {}
    while answer := click.prompt("Responder", default="", show_default=False).strip():
        try:
            name, organisation = _organisation(answer)
        except click.BadParameter as exc:
            click.echo(exc.format_message())
            continue
        team[name] = organisation
    return community, team


@cli.command()
@DATA
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("--tor", type=click.Choice(["auto", "launch", "system", "off"]), default="auto",
              show_default=True,
              help="system: a running tor's control socket or port; launch: a private tor; "
                   "auto: the system's tor if it answers, else launch if tor is installed, "
                   "else off")
@click.option("--control-port", default=9051, show_default=True, type=click.IntRange(1, 65535),
              help="with --tor system: the control port on 127.0.0.1 (cookie or password auth)")
@click.option("--control-socket", type=click.Path(path_type=Path),
              help="with --tor system: tor's control socket (ControlSocket in torrc) instead "
                   f"of the port; --tor auto tries {SYSTEM_CONTROL_SOCKET} first")
@click.option("--control-password-file", type=click.Path(path_type=Path, dir_okay=False),
              help="with --tor system: a file holding the control port password")
@click.option("--tor-config", type=click.Path(path_type=Path, dir_okay=False),
              help="with --tor launch: extra torrc lines for the launched tor")
@click.option("--desk-port", type=click.IntRange(0, 65535),
              help="the responder desk's loopback port, published as an onion with client "
                   "authorization [default: --port + 1, any free one with --port 0]")
def serve(data_dir: Path, host: str, port: int, tor: str, control_port: int,
          control_socket: Path | None, control_password_file: Path | None,
          tor_config: Path | None, desk_port: int | None) -> None:
    """Serve the reporter site and the responder desk, and publish them as onion services."""
    from dropbox.server import TorChoice, serve as run
    from onion.tor import TorError, read_torrc
    config, store = load(data_dir)
    if config.practice.presents_the_example() and not config.practice.demo:
        raise click.ClickException(presents_the_example(config))
    if not store.team.members():
        raise click.ClickException("the team is empty: add a responder with `dropbox team add` first")
    if not _is_loopback(host):
        click.secho(f"WARNING: listening on {host}, not loopback: anyone who can reach it "
                    "can see this site without tor.", fg="red", bold=True, err=True)
    password = _read_text(control_password_file) if control_password_file else None
    if tor == "auto":
        tor, control_socket = _auto_tor(control_port, control_socket, password)
        if tor == "off":
            click.secho("WARNING: tor is not installed (no `tor` on PATH), so no onion service "
                        "is published.", fg="red", bold=True, err=True)
    if tor == "off":
        click.secho("WARNING: tor is off. This site is NOT an onion service: reporters cannot "
                    "reach it anonymously. Use it for trying things out only.",
                    fg="red", bold=True, err=True)
    choice = None if tor == "off" else TorChoice(
        tor, control_port, password, read_torrc(tor_config) if tor_config else {}, control_socket)
    desk_port = desk_port if desk_port is not None else (port + 1 if port else 0)
    try:
        code = run(config, host, port, choice, desk_port)
    except TorError as exc:
        raise TorError(f"{exc}; or use --tor launch" if tor == "system" else str(exc)) from None
    sys.exit(code)


def _auto_tor(port: int, socket: Path | None, password: str | None) -> tuple[str, Path | None]:
    """A running tor we can control first (the system's, kept up to date by the system), then
    one of our own if tor is installed, else none."""
    from onion.tor import Tor, TorError
    socket = socket or SYSTEM_CONTROL_SOCKET
    socket = socket if socket.exists() else None
    if socket is not None or Tor.control_port_answers(port):
        try:
            Tor.attach(port, password, socket).close()
            return "system", socket
        except TorError as exc:
            click.echo(f"not using the running tor: {exc}", err=True)
    return ("launch" if shutil.which("tor") else "off"), None


def _read_text(path: Path) -> str:
    try:
        return path.read_text("utf-8").strip()
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror}") from None



@cli.command()
@DATA
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="a folder: one bundle per responder, NAME.odbx")
@click.option("--all", "everything", is_flag=True, help="every conversation, not only what is new")
def export(data_dir: Path, out_dir: Path, everything: bool) -> None:
    """Write each responder's bundle of encrypted conversations for the air-gapped machine."""
    from dropbox.exports import export_team
    _, store = load(data_dir)
    counts = export_team(store, out_dir, everything)
    if not counts:
        click.echo("nothing new since the last export (use --all for everything); no file written")
    else:
        # The desk shows it: the audit names it, and what it held is no longer "new" to anyone.
        store.desk.audit("command line", "exported a bundle")
    for name, count in counts.items():
        click.echo(f"wrote {out_dir / (name + '.odbx')}: "
                   f"{counted(count, 'conversation', 'conversations')} for {name}")


@cli.command()
@DATA
def purge(data_dir: Path) -> None:
    """Delete conversations without activity for retention_days, now."""
    from dropbox.desk.deletions import carry_out_due
    from dropbox.desk.housekeeping import purge_expired
    config, store = load(data_dir)
    if config.settings.retention_days == 0:
        click.echo("retention is off (retention_days = 0): nothing deleted for inactivity")
    else:
        count = purge_expired(store, config.settings.retention_days)
        click.echo(f"deleted {counted(count, 'conversation', 'conversations')} without activity "
                   f"for {config.settings.retention_days} days")
    asked = carry_out_due(store)
    click.echo(f"deleted {counted(asked, 'conversation', 'conversations')} whose deletion, asked "
               f"on the desk, was due")



@cli.command("import-replies")
@click.argument("replies", nargs=-1, required=True, type=click.Path(path_type=Path))
@DATA
def import_replies(replies: tuple[Path, ...], data_dir: Path) -> None:
    """Store reply files written offline (replies, with their files, and notes): replies for
    the reporters and the team, notes for the conversation's responders only."""
    from dropbox.exports import import_replies as store_replies, stored
    config, store = load(data_dir)
    failed = 0
    for path in replies:
        try:
            reply = store_replies(store, path, config.settings)
        except (FormatError, OSError) as exc:
            failed += 1
            message = exc if isinstance(exc, FormatError) else f"cannot read {path}: {exc.strerror}"
            click.echo(f"Error: {path}: {message}", err=True)
            continue
        conversation = store.conversations.conversation(reply.conversation_id)
        if conversation is not None:  # the desk's audit, seen only by the conversation's readers
            what = "a note" if reply.item.origin == "note" else "a reply"
            store.desk.audit("command line", f"imported {what}", conversation.recipients)
        click.echo(f"{path}: stored {stored(reply)}")
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


for group in (team, onion, desk, upgrade, backup, restore, airgap_kit, status, figures):
    cli.add_command(group)
