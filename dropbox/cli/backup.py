"""`dropbox backup` and `dropbox restore`: the whole instance, sealed to offline keys.

Backup keys are ordinary key pairs made with `dropbox keys new` on an offline machine;
the server is given only their public halves (`--to`), so it can write backups it can
never read. Restoring needs the secret key file and its passphrase, and trusts only backups
signed by the instance's backup signer, no older than the newest it restored: both are
recorded beside the key file (`NAME.seen`, dropbox/backup.py).
"""
from __future__ import annotations

from pathlib import Path

import click

from keys.responder import Responder, ResponderKey
from dropbox.backup import BackupError, made_text, restore_backup, seen_file, write_backup
from dropbox.cli.common import DATA
from dropbox.layout import Layout


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


@click.command()
@DATA
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="the backup file to write (it must not exist)")
@click.option("--to", "public_keys", required=True, multiple=True,
              type=click.Path(path_type=Path, dir_okay=False),
              help="a backup public key (NAME.pub from `dropbox keys new`); repeat for more")
def backup(data_dir: Path, out_path: Path, public_keys: tuple[Path, ...]) -> None:
    """Back up the whole instance, also while `serve` runs, sealed to offline keys."""
    if not Layout(Path(data_dir)).config.is_file():
        raise click.ClickException(f"no instance at {Path(data_dir).resolve()}")
    recipients = [Responder.load(path) for path in public_keys]
    try:
        summary = write_backup(data_dir, out_path, [r.public_key for r in recipients])
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    keys = ", ".join(f"{r.name} ({r.fingerprint})" for r in recipients)
    click.echo(f"wrote {out_path}: {summary.files} files, {_mib(summary.bytes)}, sealed to {keys}, "
               f"signed by this instance's backup signer {summary.signer} (keep this "
               "fingerprint with the backup key: the first restore asks for it)")


@click.command()
@click.argument("backup_file", type=click.Path(path_type=Path, dir_okay=False))
@DATA
@click.option("--key", "key_file", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="the backup secret key file (NAME.key)")
@click.option("--passphrase-file", type=click.Path(path_type=Path, dir_okay=False),
              help="read the key's passphrase from the first line of this file")
@click.option("--trust-signer", metavar="FINGERPRINT",
              help="the first restore with this key: trust backups signed by this backup signer "
                   "(as `dropbox backup` printed it)")
@click.option("--allow-older", is_flag=True,
              help="restore a backup older than the newest one restored with this key")
def restore(backup_file: Path, data_dir: Path, key_file: Path, passphrase_file: Path | None,
            trust_signer: str | None, allow_older: bool) -> None:
    """Restore a backup into a new data directory; all of it, or nothing."""
    if passphrase_file:
        try:
            lines = passphrase_file.read_text("utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            raise click.ClickException(f"cannot read a passphrase from {passphrase_file}") from None
        passphrase = lines[0] if lines else ""
    else:
        passphrase = click.prompt("Passphrase", hide_input=True)
    key = ResponderKey.load(key_file, passphrase)
    try:
        summary = restore_backup(backup_file, data_dir, key.secret_key, seen_file(key_file),
                                 trust_signer, allow_older)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{backup_file}: made {made_text(summary.made)}, signed by backup signer "
               f"{summary.signer}")
    if summary.dropped:
        click.echo(f"left out {summary.dropped} conversation(s) deleted on the server while the "
                   "backup was being taken")
    # Serving it with tor would publish the live instance's onion address a second time.
    click.echo(f"restored {summary.files} files ({_mib(summary.bytes)}) into "
               f"{Path(data_dir).resolve()}; try it with `dropbox serve --data {data_dir} --tor off` "
               "(publish it with tor only once the server it came from is stopped for good)")
