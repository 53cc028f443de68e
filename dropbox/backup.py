"""Backups: a consistent copy of a whole instance, sealed to keys the server never holds.

A backup is `"ODBXBAK" || version 1 || one envelope` (docs/FORMAT.md, "Backup"): the
envelope's plaintext is a tar stream of the data directory, sealed to one or more backup
public keys made with `dropbox keys new` on an offline machine. The server holds only the
public keys, so a backup taken unattended (a timer, a cron job) is safe to store anywhere,
and a stolen server cannot read its own old backups.

Consistency while `serve` runs: the database is copied first with SQLite's online backup
(one transaction's view, written into memory, never a temp file); then every other file is
walked, whatever the store's layout. A payload is complete before its row commits, so every
row in the copy finds its payload; files that arrived after the copy are orphans, which
`serve` removes at start-up. The server's scratch (tmp/) and a launched tor's state are left
out: neither survives a restart anyway.

Restoring reads and checks the whole stream while unpacking into a hidden folder beside the
target, and renames it into place only once the envelope's final chunk has authenticated:
a damaged, truncated or foreign file restores nothing.
"""
from __future__ import annotations

import io
import os
import secrets
import shutil
import sqlite3
import stat
import tarfile
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Iterator, Sequence

from nacl.public import PrivateKey, PublicKey

from keys.envelope import Binding, PayloadSealer, header_size, open_envelope
from keys.errors import FormatError

MAGIC = b"ODBXBAK"
VERSION = 1
DATABASE = "dropbox.sqlite3"
# Top-level names never copied: the live database (copied through SQLite instead), its
# journals, the server's scratch and a launched tor's state.
LEFT_OUT = {DATABASE, f"{DATABASE}-wal", f"{DATABASE}-shm", f"{DATABASE}-journal", "tmp", "tor"}
COPY_BYTES = 1024 * 1024


class BackupError(Exception):
    """A backup cannot be written or restored; the message says why, and what was kept."""


@dataclass(frozen=True)
class Summary:
    files: int
    bytes: int
    dropped: int = 0  # conversations deleted on the live server while the backup was taken


def write_backup(data_dir: Path, out_path: Path, recipients: Sequence[PublicKey]) -> Summary:
    """Write a sealed backup of the instance at `data_dir` to `out_path` (mode 0600)."""
    data_dir, out_path = Path(data_dir).resolve(), Path(out_path)
    if not (data_dir / DATABASE).is_file():
        raise BackupError(f"no instance database at {data_dir / DATABASE}")
    if out_path.exists():
        raise BackupError(f"{out_path} exists already; refusing to overwrite it")
    partial = out_path.with_name(out_path.name + ".partial")
    partial.unlink(missing_ok=True)
    # An envelope is bound to its place (docs/FORMAT.md, "Envelope"): a backup's is its own.
    binding = Binding(secrets.token_hex(16), "backup", 0)
    placeholder = header_size(len(recipients), binding)
    try:
        fd = os.open(partial, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w+b") as out:
            out.write(MAGIC + bytes([VERSION]) + bytes(placeholder))
            sealer = PayloadSealer(out)
            with tarfile.open(fileobj=sealer, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                summary = _add_instance(tar, data_dir)
            sealer.finish()
            header = sealer.header(recipients, binding)
            if len(header) != placeholder:
                raise BackupError("the envelope header is not the size it was planned at")
            out.seek(len(MAGIC) + 1)
            out.write(header)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, out_path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"cannot write the backup to {out_path}: {exc.strerror}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return summary


def _add_instance(tar: tarfile.TarFile, data_dir: Path) -> Summary:
    database = _database_snapshot(data_dir / DATABASE)
    info = tarfile.TarInfo(DATABASE)
    info.size, info.mode = len(database), 0o600
    tar.addfile(info, io.BytesIO(database))
    files, total = 1, len(database)
    for folder, dirs, names in os.walk(data_dir):
        here = Path(folder)
        if here == data_dir:
            dirs[:] = [d for d in dirs if d not in LEFT_OUT]
            names = [n for n in names if n not in LEFT_OUT and not n.endswith(".partial")]
        dirs.sort()
        for name in dirs:
            tar.addfile(_info(here / name, data_dir, os.stat(here / name)))
        for name in sorted(names):
            try:
                source = open(here / name, "rb")
            except FileNotFoundError:
                continue  # deleted since it was listed (a conversation deleted meanwhile)
            with source:
                status = os.fstat(source.fileno())
                if not stat.S_ISREG(status.st_mode):
                    continue
                tar.addfile(_info(here / name, data_dir, status), source)
            files, total = files + 1, total + status.st_size
    return Summary(files, total)


def _info(path: Path, data_dir: Path, status: os.stat_result) -> tarfile.TarInfo:
    info = tarfile.TarInfo(path.relative_to(data_dir).as_posix())
    info.mode = stat.S_IMODE(status.st_mode)
    if stat.S_ISDIR(status.st_mode):
        info.type = tarfile.DIRTYPE
    else:
        info.size = status.st_size
    return info


def _database_snapshot(database: Path) -> bytes:
    """The whole database as one transaction saw it, taken while the server writes."""
    with closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, timeout=30)) as live, \
            closing(sqlite3.connect(":memory:")) as copy:
        live.backup(copy)
        return copy.serialize()


def restore_backup(backup: Path, data_dir: Path, secret_key: PrivateKey) -> Summary:
    """Unpack `backup` into `data_dir` (absent or empty); all of it, or nothing."""
    data_dir = Path(data_dir).resolve()
    if data_dir.exists() and (not data_dir.is_dir() or any(data_dir.iterdir())):
        raise BackupError(f"{data_dir} exists and is not empty; restore into a new directory")
    staging = data_dir.with_name(f".{data_dir.name}.restoring")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        source = open(backup, "rb")
    except OSError as exc:
        raise BackupError(f"cannot read {backup}: {exc.strerror}") from None
    try:
        staging.mkdir(mode=0o700, parents=True)
        with source:
            if source.read(len(MAGIC) + 1) != MAGIC + bytes([VERSION]):
                raise FormatError("not an onion-dropbox backup (or one of a version this "
                                  "program does not know)")
            summary = _unpack(_Plaintext(open_envelope(source, secret_key)), staging)
        if not (staging / DATABASE).is_file() or not (staging / "config.toml").is_file():
            raise FormatError("the backup holds no instance")
        summary = replace(summary, dropped=_drop_incomplete(staging))
        if data_dir.exists():
            data_dir.rmdir()
        os.replace(staging, data_dir)
    except FormatError as exc:
        raise BackupError(f"{backup} is damaged, incomplete or not ours ({exc}); "
                          "nothing was restored") from None
    except tarfile.TarError as exc:
        raise BackupError(f"{backup}: damaged inside ({exc}); nothing was restored") from None
    except OSError as exc:
        raise BackupError(f"cannot restore into {data_dir}: {exc.strerror}; "
                          "nothing was restored") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return summary


def _drop_incomplete(staging: Path) -> int:
    """A conversation deleted between the database copy and the walk of the store left its
    rows without payloads: finish its deletion, as the live server did. Returns how many."""
    from dropbox.storage import Store  # the payload layout is the store's to know
    store = Store(staging / DATABASE, staging / "store", staging / "tmp")
    gone = [conversation_id for conversation_id, items in store.items_after(0).items()
            if not all(store.payload_path(item).is_file() for item in items)]
    for conversation_id in gone:
        store.delete_conversation(conversation_id, "restore")
    return len(gone)


def _unpack(plaintext: "_Plaintext", staging: Path) -> Summary:
    """Only plain folders and files, only below `staging`, readable by their owner alone."""
    files = total = 0
    with tarfile.open(fileobj=plaintext, mode="r|") as tar:
        for member in tar:
            name = PurePosixPath(member.name)
            if name.is_absolute() or ".." in name.parts or not name.parts:
                raise FormatError(f"the backup holds a path outside its folder: {member.name!r}")
            target = staging.joinpath(*name.parts)
            mode = member.mode & 0o700
            if member.isdir():
                target.mkdir(mode=mode or 0o700, parents=True, exist_ok=True)
            elif member.isfile():
                target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                with tar.extractfile(member) as data, \
                        os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                                          mode or 0o600), "wb") as out:
                    shutil.copyfileobj(data, out, COPY_BYTES)
                files, total = files + 1, total + member.size
            else:
                raise FormatError(f"the backup holds something other than a file: {member.name!r}")
    plaintext.read_to_end()  # the final chunk must authenticate, or nothing counts
    return Summary(files, total)


class _Plaintext(io.RawIOBase):
    """The envelope's verified chunks as a file for tarfile to read."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks, self._buffer = chunks, b""

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while not self._buffer:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._buffer = chunk
        size = min(len(target), len(self._buffer))
        target[:size], self._buffer = self._buffer[:size], self._buffer[size:]
        return size

    def read_to_end(self) -> None:
        while self.read(COPY_BYTES):
            pass
