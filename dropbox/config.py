"""The instance: one data directory, one typed config object loaded from it.

Layout of a data directory (nothing else of ours is written anywhere):
    config.toml        settings a person may edit
    code-of-practice.toml  what the reporter's pages and report form show
    secrets/           peppers and the session-signing key, mode 0600
    dropbox.sqlite3    conversations, items (headers only), team
    store/<conv>/<item>  envelope payloads, ciphertext only
    tmp/               uploads being encrypted; emptied at start-up
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from keys.codename import Peppers, StretchCost
from dropbox.practice import EXAMPLE, PRACTICE_FILE, Practice, PracticeError

CONFIG_FILE = "config.toml"
PEPPER_FILE = "peppers"
SESSION_KEY_FILE = "session-key"


class InstanceError(Exception):
    """The data directory is missing, incomplete or unreadable; the message says which."""


@dataclass(frozen=True)
class Settings:
    """What config.toml may set; the defaults are what `dropbox init` writes."""
    max_request_mib: int = 2048
    max_message_chars: int = 50_000
    max_files_per_submission: int = 20
    retention_days: int = 90
    session_idle_minutes: int = 60
    codename_opslimit: int = StretchCost.opslimit
    codename_memlimit: int = StretchCost.memlimit
    # Where the "Leave this site quickly" link on every page goes.
    quick_exit_url: str = "https://www.wikipedia.org/"

    def to_toml(self) -> str:
        lines = ["# onion-dropbox instance settings; restart `dropbox serve` after editing."]
        # A JSON string is also a TOML basic string.
        lines += [f"{f.name} = {json.dumps(getattr(self, f.name))}" for f in fields(self)]
        return "\n".join(lines) + "\n"

    @classmethod
    def from_toml(cls, text: str) -> "Settings":
        try:
            values = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InstanceError(f"{CONFIG_FILE} is not valid TOML: {exc}") from None
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise InstanceError(f"{CONFIG_FILE} has unknown settings: {', '.join(sorted(unknown))}")
        defaults = cls()
        for name, value in values.items():
            if isinstance(getattr(defaults, name), str):
                if not isinstance(value, str) or not value.startswith(("https://", "http://")):
                    raise InstanceError(f"{CONFIG_FILE}: {name} is a web address in quotes")
            elif not (isinstance(value, int) and not isinstance(value, bool) and value > 0):
                raise InstanceError(f"{CONFIG_FILE}: {name} is a positive whole number")
        return cls(**values)


@dataclass(frozen=True)
class Config:
    data_dir: Path
    settings: Settings
    practice: Practice
    peppers: Peppers = field(repr=False)
    session_key: bytes = field(repr=False)

    @property
    def database(self) -> Path:
        return self.data_dir / "dropbox.sqlite3"

    @property
    def store_dir(self) -> Path:
        return self.data_dir / "store"

    @property
    def tmp_dir(self) -> Path:
        return self.data_dir / "tmp"

    @property
    def codename_cost(self) -> StretchCost:
        return StretchCost(self.settings.codename_opslimit, self.settings.codename_memlimit)

    @property
    def max_request_bytes(self) -> int:
        return self.settings.max_request_mib * 1024 * 1024

    @classmethod
    def load(cls, data_dir: Path) -> "Config":
        data_dir = Path(data_dir).resolve()
        if not (data_dir / CONFIG_FILE).is_file():
            raise InstanceError(f"no instance at {data_dir}: run `dropbox init --data {data_dir}` first")
        try:
            settings = Settings.from_toml((data_dir / CONFIG_FILE).read_text("utf-8"))
            pepper = (data_dir / "secrets" / PEPPER_FILE).read_bytes()
            session_key = (data_dir / "secrets" / SESSION_KEY_FILE).read_bytes()
            practice = Practice.load(data_dir / PRACTICE_FILE)
        except PracticeError as exc:
            raise InstanceError(str(exc)) from None
        except OSError as exc:
            raise InstanceError(f"instance at {data_dir} is incomplete: {exc.strerror}: {exc.filename}") from None
        if len(pepper) != 64 or len(session_key) != 32:
            raise InstanceError(f"instance at {data_dir} has damaged secrets")
        return cls(data_dir, settings, practice, Peppers(pepper[:32], pepper[32:]), session_key)


def create_instance(data_dir: Path) -> Path:
    """Write a new instance's config and secrets; refuses to touch an existing one."""
    data_dir = Path(data_dir).resolve()
    if data_dir.exists() and any(data_dir.iterdir()):
        raise InstanceError(f"{data_dir} exists and is not empty; refusing to touch it")
    (data_dir / "secrets").mkdir(parents=True, mode=0o700)
    os.chmod(data_dir, 0o700)
    peppers = Peppers.generate()
    _write_secret(data_dir / "secrets" / PEPPER_FILE, peppers.lookup + peppers.key)
    _write_secret(data_dir / "secrets" / SESSION_KEY_FILE, secrets.token_bytes(32))
    (data_dir / CONFIG_FILE).write_text(Settings().to_toml(), "utf-8")
    shutil.copyfile(EXAMPLE, data_dir / PRACTICE_FILE)
    return data_dir


def _write_secret(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
