"""What every `dropbox` command shares: the --data option, loading an instance, and the one
place where errors a person can meet become one line and exit status 1."""
from __future__ import annotations

from pathlib import Path

import click

from keys.errors import FormatError
from dropbox.config import Config, InstanceError
from dropbox.migrations import MigrationError
from dropbox.practice import PRACTICE_FILE
from dropbox.storage import StorageError, Store
from onion.client_auth import AccessError
from onion.service_key import KeyFileError
from onion.tor import TorError

USER_ERRORS = (InstanceError, MigrationError, StorageError, FormatError, AccessError, KeyFileError, TorError)

DATA = click.option("--data", "data_dir", required=True, type=click.Path(path_type=Path),
                    help="the instance's data directory")


def load(data_dir: Path) -> tuple[Config, Store]:
    config = Config.load(data_dir)
    store = Store(config.database, config.store_dir, config.tmp_dir)
    store.prepare()
    store.hold_connection()  # a command, like a request, opens one connection for all its queries
    return config, store


class DropboxGroup(click.Group):
    """Turns the errors a person can meet into one line and exit status 1, at the edge."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except USER_ERRORS as exc:
            raise click.ClickException(str(exc)) from None


def counted(number: int, one: str, many: str) -> str:
    """"1 reply", "2 replies": a person reads plurals, not "reply(ies)"."""
    return f"{number} {one if number == 1 else many}"


def presents_the_example(config: Config) -> str:
    """What to do about an instance still presenting the example community, which `serve`
    refuses: its reporters would be told to write to another community's team."""
    return (f"this instance still presents the example community "
            f"({config.practice.community}): put your community's name and your responders' "
            f"organisations in {config.data_dir / PRACTICE_FILE} (`community`, `[organisations]`), "
            "or make a demo with `dropbox init --demo`")
