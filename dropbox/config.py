"""The instance: one data directory, one typed config object loaded from it.

What lies where in a data directory is dropbox/layout.py's to say; `Config.layout` names it.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from dataclasses import dataclass, field, fields
from pathlib import Path

from keys.codename import Peppers, StretchCost
from onion.client_auth import AccessList
from onion.service_key import write_new_seed
from dropbox.edited_file import EditedFileError, read_toml
from dropbox.layout import CONFIG_FILE, ONION_KEY_FILES, TAG_KEY_FILE, Layout
from dropbox.practice import EXAMPLE, Practice, PracticeError

# The layout's file names are dropbox/layout.py's; these are importable from here as well, for
# code that reads the config and names its files in a message.
__all__ = ["CONFIG_FILE", "ONION_KEY_FILES", "TAG_KEY_FILE", "Config", "InstanceError", "Settings",
           "create_instance"]


MIB_LIMIT = 1 << 30  # a pebibyte in MiB: more than any disk, less than anything overflows
DAY = 86_400


def _within(default: int, lowest: int, highest: int):
    """A whole-number setting and the range it is accepted in, checked at load: a value
    outside breaks something at run time (an argon2id that refuses its memory, a timer that
    overflows, a date past the year 9999)."""
    return field(default=default, metadata={"range": (lowest, highest)})


def _text(default: str, longest: int = 1000):
    """A one-line text setting: no control characters (an SMTP header must stay one line)."""
    return field(default=default, metadata={"longest": longest})


class InstanceError(Exception):
    """The data directory is missing, incomplete or unreadable; the message says which."""


@dataclass(frozen=True)
class Settings:
    """What config.toml may set, and each setting's range; the defaults are what a config.toml
    without the setting means, and `dropbox init` writes them (`NEW_INSTANCE`)."""
    max_request_mib: int = _within(2048, 1, MIB_LIMIT)
    max_message_chars: int = _within(50_000, 1, 10_000_000)
    max_files_per_submission: int = _within(20, 1, 1000)
    max_file_mib: int = _within(2048, 1, MIB_LIMIT)
    # What a reply file may carry besides its text (docs/FORMAT.md, "Reply files' attachments"),
    # in envelope bytes: the import holds a reply file in memory.
    reply_file_max_mib: int = _within(10, 1, 1024)
    reply_files_max_mib: int = _within(25, 1, 4096)
    # Request bodies that reach the disk (uploads, large forms) are admitted only while this
    # much space stays free in the data directory, and while all bodies being received at
    # once add up to at most max_bytes_in_flight_mib; past either, 507 before reading.
    disk_reserve_mib: int = _within(512, 1, MIB_LIMIT)
    max_bytes_in_flight_mib: int = _within(8192, 1, MIB_LIMIT)
    login_failures_per_minute: int = _within(30, 1, 1_000_000)
    # Conversations without activity for this many days are deleted; 0 keeps them for ever.
    retention_days: int = _within(90, 0, 36_500)
    # Responders (desk, status) are warned this many days before a deletion.
    retention_warning_days: int = _within(7, 0, 36_500)
    # `dropbox status` and the desk flag reports no one has downloaded after this many days.
    unread_warning_days: int = _within(7, 0, 36_500)
    # What the team promises reporters (the landing page says it): to confirm it has received a
    # report within acknowledge_within_days (a reader downloads it), and to reply within
    # respond_within_days. The desk, `dropbox status` and the mail notices count what is past
    # its promise. 0 promises nothing, as an instance made before these settings does.
    acknowledge_within_days: int = _within(0, 0, 365)
    respond_within_days: int = _within(0, 0, 365)
    # A deletion asked on the desk waits this many days, during which any reader can cancel it.
    deletion_grace_days: int = _within(2, 1, 36_500)
    # Conversations on one page of the desk's list (a page costs the same however many are stored).
    desk_page_size: int = _within(50, 1, 10_000)
    session_idle_seconds: int = _within(3600, 1, 30 * DAY)
    # Sessions in memory, of each kind (see sessions.py): anonymous ones, and someone's.
    max_sessions: int = _within(50_000, 1, 100_000_000)
    # Connections (see deadlines.py): headers by a deadline, bodies at a minimum rate
    # averaged over a window, and at most this many open at once (the slowest make room).
    header_timeout_seconds: int = _within(30, 1, DAY)
    min_upload_bytes_per_second: int = _within(1024, 1, 1 << 40)
    upload_rate_window_seconds: int = _within(60, 1, DAY)
    max_connections: int = _within(4000, 1, 1_000_000)
    # Tor's own limit on each onion service: streams open at once on one rendezvous
    # circuit; a circuit that asks for more is closed (MaxStreamsCloseCircuit).
    max_streams_per_circuit: int = _within(32, 1, 65_535)
    # argon2id's own bounds: at least 1 pass and 8 KiB (libsodium), at most what a server has.
    codename_opslimit: int = _within(StretchCost.opslimit, 1, 1000)
    codename_memlimit: int = _within(StretchCost.memlimit, 8192, 1 << 32)
    # The responder desk's mail notices; no mail is sent while smtp_host is empty.
    smtp_host: str = _text("", 253)
    smtp_port: int = _within(587, 1, 65_535)
    smtp_starttls: bool = True
    smtp_user: str = _text("")
    smtp_password: str = _text("")
    smtp_from: str = _text("desk@localhost")
    # How often `dropbox serve` purges expired conversations and sends due notices.
    housekeeping_seconds: int = _within(60, 1, DAY)
    # Where the "Leave this site quickly" link on every page goes.
    quick_exit_url: str = _text("https://www.wikipedia.org/", 2000)

    @property
    def max_text_field_bytes(self) -> int:
        """The largest text part of a form, as it arrives (UTF-8: up to 4 bytes a character)."""
        return 4 * self.max_message_chars + 4096

    @property
    def max_form_text_bytes(self) -> int:
        """All text parts of one form together: the message and every short answer."""
        return self.max_text_field_bytes + 128 * 1024

    @property
    def max_form_parts(self) -> int:
        """Parts of one multipart body: the files, and the form's fields and checkboxes."""
        return self.max_files_per_submission + 200

    def to_toml(self) -> str:
        lines = ["# onion-dropbox instance settings; restart `dropbox serve` after editing."]
        lines += [f"{f.name} = {_toml_value(getattr(self, f.name))}" for f in fields(self)]
        return "\n".join(lines) + "\n"

    @classmethod
    def from_toml(cls, path: Path) -> Settings:
        """The settings in `path`; InstanceError naming the first one that is wrong, and its range."""
        try:
            values = read_toml(path)
        except EditedFileError as exc:
            raise InstanceError(str(exc)) from None
        known = {f.name: f for f in fields(cls)}
        unknown = set(values) - set(known)
        if unknown:
            raise InstanceError(f"{CONFIG_FILE} has unknown settings: {', '.join(sorted(unknown))}")
        for name, value in values.items():
            problem = _problem(known[name], value)
            if problem:
                raise InstanceError(f"{CONFIG_FILE}: {name} must be {problem}")
        return cls(**values)


# What `dropbox init` writes: a new team starts with promises it can keep or change.
NEW_INSTANCE = Settings(acknowledge_within_days=2, respond_within_days=14)


def _problem(setting, value) -> str | None:
    """What `value` must be instead, for `setting`; None when it fits."""
    if setting.type == "bool":
        return None if type(value) is bool else "true or false"
    if setting.type == "int":
        lowest, highest = setting.metadata["range"]
        if type(value) is not int or not lowest <= value <= highest:
            return f"a whole number from {lowest:,} to {highest:,}".replace(",", "_")
        return None
    longest = setting.metadata["longest"]
    if type(value) is not str or len(value) > longest or not value.isprintable():
        return f"a quoted text on one line, at most {longest} characters"
    if setting.name == "quick_exit_url" and not value.startswith(("https://", "http://")):
        return "a web address (https://...)"
    return None


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value) if isinstance(value, str) else str(value)


@dataclass(frozen=True)
class Config:
    data_dir: Path
    settings: Settings
    practice: Practice
    peppers: Peppers = field(repr=False)
    session_key: bytes = field(repr=False)
    # None only before `dropbox upgrade` has made it: every command refuses such an instance
    # (`Store.prepare`), and the reporter site will not start without it (`create_app`).
    tag_key: bytes | None = field(repr=False)

    @property
    def layout(self) -> Layout:
        return Layout(self.data_dir)

    @property
    def database(self) -> Path:
        return self.layout.database

    @property
    def store_dir(self) -> Path:
        return self.layout.store

    @property
    def tmp_dir(self) -> Path:
        return self.layout.tmp

    def onion_key_file(self, service: str) -> Path:
        """The secret key of the reporter site's ("site") or the desk's ("desk") onion."""
        return self.layout.onion_key(service)

    @property
    def desk_access(self) -> AccessList:
        return AccessList(self.layout.desk_access)

    @property
    def tor_dir(self) -> Path:
        return self.layout.tor

    @property
    def desk_key(self) -> bytes:
        """Seals the desk's TOTP secrets in the database; derived, so no new secret file."""
        return hashlib.blake2b(self.session_key, digest_size=32, person=b"odbx-desk-totp").digest()

    @property
    def codename_cost(self) -> StretchCost:
        return StretchCost(self.settings.codename_opslimit, self.settings.codename_memlimit)

    @property
    def max_request_bytes(self) -> int:
        return self.settings.max_request_mib * 1024 * 1024

    @classmethod
    def load(cls, data_dir: Path) -> Config:
        data_dir = Path(data_dir).resolve()
        layout = Layout(data_dir)
        if not layout.config.is_file():
            raise InstanceError(f"no instance at {data_dir}: run `dropbox init --data {data_dir}` first")
        try:
            settings = Settings.from_toml(layout.config)
            pepper = layout.peppers.read_bytes()
            session_key = layout.session_key.read_bytes()
            tag_key = layout.tag_key.read_bytes() if layout.tag_key.exists() else None
            practice = Practice.load(layout.practice)
        except PracticeError as exc:
            raise InstanceError(str(exc)) from None
        except OSError as exc:
            raise InstanceError(f"instance at {data_dir} is incomplete: {exc.strerror}: {exc.filename} "
                                f"(made by an earlier version? `dropbox upgrade --data {data_dir}` "
                                "repairs it)") from None
        if len(pepper) != 64 or len(session_key) != 32 or len(tag_key or bytes(32)) != 32:
            raise InstanceError(f"instance at {data_dir} has damaged secrets")
        return cls(data_dir, settings, practice, Peppers(pepper[:32], pepper[32:]), session_key, tag_key)


def create_instance(data_dir: Path, practice: str | None = None) -> Path:
    """Write a new instance's config and secrets, and its code of practice (`practice`, the
    example's if None); refuses to touch an existing one."""
    data_dir = Path(data_dir).resolve()
    if data_dir.exists() and any(data_dir.iterdir()):
        raise InstanceError(f"{data_dir} exists and is not empty; refusing to touch it")
    layout = Layout(data_dir)
    layout.secrets.mkdir(parents=True, mode=0o700)
    os.chmod(data_dir, 0o700)
    peppers = Peppers.generate()
    _write_secret(layout.peppers, peppers.lookup + peppers.key)
    _write_secret(layout.session_key, secrets.token_bytes(32))
    for service in ONION_KEY_FILES:  # the addresses are the instance's own from the start
        write_new_seed(layout.onion_key(service))
    layout.config.write_text(NEW_INSTANCE.to_toml(), "utf-8")
    if practice is None:
        shutil.copyfile(EXAMPLE, layout.practice)
    else:
        layout.practice.write_text(practice, "utf-8")
    return data_dir


def _write_secret(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
