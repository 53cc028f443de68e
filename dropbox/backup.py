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

Anyone may hold a backup public key, so sealing says nothing of who made a backup. Each
instance therefore signs its backups with a key of its own (`Layout.backup_signing_key`,
made by its first backup, carried by every backup so a restored instance keeps it): the
signature covers the day and time the backup was made and everything after it. Restoring
trusts the signer recorded beside the backup key (`NAME.seen`, written by the first restore
that was told which signer to trust) and refuses a backup older than the newest it restored,
unless told: an old backup restored as if new would bring back a removed responder.
What is unpacked is held to the layout's shape (plain folders and files, owner-only modes, a
bounded depth and header size), and its database must pass `migrations.check_database`.
"""
from __future__ import annotations

import base64
import datetime
import hashlib
import io
import json
import os
import secrets
import shutil
import sqlite3
import stat
import struct
import tarfile
import time
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from collections.abc import Iterator, Sequence

from nacl.exceptions import BadSignatureError
from nacl.public import PrivateKey, PublicKey
from nacl.signing import SigningKey, VerifyKey

from dropbox import migrations
from dropbox.layout import Layout
from keys.atomic_files import atomic_file, fsync_folder, write_atomically
from keys.envelope import (Binding, Origin, PayloadSealer, header_size, open_payload, read_header,
                           unwrap_file_key)
from keys.errors import FormatError
from keys.ids import id_path

MAGIC = b"ODBXBAK"
VERSION = 2
# made (u64, Unix seconds), the signer's public key, the signature (docs/FORMAT.md, "Backup").
_SIGNED = struct.Struct(">Q32s64s")
_SIGNATURE_CONTEXT = b"odbx-backup-v2\n"
# What the layout can hold: depth (store/<bucket>/<conversation>/<item> is 4), one name, one
# pax or GNU long-name header. Anything larger is not a backup of ours, and is refused before
# it costs memory or a path the file system cannot remove.
MAX_DEPTH = 16
MAX_NAME = 255
MAX_TAR_HEADER = 64 * 1024
COPY_BYTES = 1024 * 1024


class BackupError(Exception):
    """A backup cannot be written or restored; the message says why, and what was kept."""


@dataclass(frozen=True)
class Summary:
    files: int
    bytes: int
    dropped: int = 0  # conversations deleted on the live server while the backup was taken
    made: int = 0  # when the backup began, Unix seconds
    signer: str = ""  # the fingerprint of the instance's backup signing key


def signer_fingerprint(key: VerifyKey) -> str:
    """Four groups of four, to read aloud or compare with what `dropbox backup` printed."""
    digest = hashlib.blake2b(bytes(key), digest_size=10, person=b"odbx-backup-sig").digest()
    text = base64.b32encode(digest).decode("ascii")
    return " ".join(text[i:i + 4] for i in range(0, len(text), 4))


def made_text(made: int) -> str:
    return datetime.datetime.fromtimestamp(made, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def instance_signing_key(data_dir: Path) -> SigningKey:
    """The instance's backup signing key, made the first time it is needed."""
    path = Layout(data_dir).backup_signing_key
    try:
        if not path.exists():
            _create_once(path, secrets.token_bytes(32))
        seed = path.read_bytes()
    except OSError as exc:
        raise BackupError(f"cannot make or read {path}: {exc.strerror}; nothing was written") from None
    if len(seed) != 32:
        raise BackupError(f"{path} is damaged (not a 32-byte key); nothing was written")
    return SigningKey(seed)


def _create_once(path: Path, data: bytes) -> None:
    """Write `path` whole unless it exists: two first backups at once end with one key, the
    one both of them sign with (a hard link never replaces a file)."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    write_atomically(temp, data, 0o600)
    try:
        os.link(temp, path)
    except FileExistsError:
        pass
    finally:
        temp.unlink()
    fsync_folder(path.parent)


def _signed_message(made: int, signer: VerifyKey, header: bytes, payload_digest: bytes) -> bytes:
    return (_SIGNATURE_CONTEXT + struct.pack(">Q", made) + bytes(signer)
            + hashlib.blake2b(header, digest_size=32).digest() + payload_digest)


class _Digesting:
    """Hashes what passes through it: the payload, as it is written or read."""

    def __init__(self, stream: BinaryIO):
        self._stream, self.hash = stream, hashlib.blake2b(digest_size=32)

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        return self._stream.write(data)

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.hash.update(data)
        return data


def write_backup(data_dir: Path, out_path: Path, recipients: Sequence[PublicKey]) -> Summary:
    """Write a sealed backup of the instance at `data_dir` to `out_path` (mode 0600), signed
    with the instance's backup signing key."""
    data_dir, out_path = Path(data_dir).resolve(), Path(out_path)
    if not Layout(data_dir).database.is_file():
        raise BackupError(f"no instance database at {Layout(data_dir).database}")
    if out_path.exists():
        raise BackupError(f"{out_path} exists already; refusing to overwrite it")
    signing_key = instance_signing_key(data_dir)
    made = int(time.time())
    # An envelope is bound to its place (docs/FORMAT.md, "Envelope"): a backup's is its own.
    binding = Binding(secrets.token_hex(16), Origin.BACKUP, 0)
    placeholder = header_size(len(recipients), binding)
    try:
        with atomic_file(out_path, 0o600) as out:
            out.write(MAGIC + bytes([VERSION]) + bytes(_SIGNED.size + placeholder))
            payload = _Digesting(out)
            sealer = PayloadSealer(payload)
            # A stream ("w|") only writes to its fileobj; typeshed asks every mode's full file.
            with tarfile.open(fileobj=sealer, mode="w|",  # type: ignore[call-overload]
                              format=tarfile.PAX_FORMAT) as tar:
                summary = _add_instance(tar, data_dir)
            sealer.finish()
            header = sealer.header(recipients, binding)
            if len(header) != placeholder:
                raise BackupError("the envelope header is not the size it was planned at")
            signed = signing_key.sign(_signed_message(made, signing_key.verify_key, header,
                                                      payload.hash.digest())).signature
            out.seek(len(MAGIC) + 1)
            out.write(_SIGNED.pack(made, bytes(signing_key.verify_key), signed) + header)
    except OSError as exc:
        raise BackupError(f"cannot write the backup to {out_path}: {exc.strerror}") from None
    return replace(summary, made=made, signer=signer_fingerprint(signing_key.verify_key))


def _add_instance(tar: tarfile.TarFile, data_dir: Path) -> Summary:
    layout = Layout(data_dir)
    database = _database_snapshot(layout.database)
    info = tarfile.TarInfo(layout.database.name)
    info.size, info.mode = len(database), 0o600
    tar.addfile(info, io.BytesIO(database))
    files, total = 1, len(database)
    for folder, dirs, names in os.walk(data_dir):
        here = Path(folder)
        if here == data_dir:
            dirs[:] = [d for d in dirs if d not in layout.not_backed_up]
            names = [n for n in names if n not in layout.not_backed_up and not n.endswith(".partial")]
        dirs.sort()
        for name in dirs:
            tar.addfile(_info(here / name, data_dir, os.stat(here / name)))
        for name in sorted(names):
            try:  # a link is not part of the layout: never followed out of the instance
                source = os.fdopen(os.open(here / name, os.O_RDONLY | os.O_NOFOLLOW), "rb")
            except FileNotFoundError:
                continue  # deleted since it was listed (a conversation deleted meanwhile)
            except OSError as exc:
                if os.path.islink(here / name):
                    continue
                raise BackupError(f"cannot read {here / name}: {exc.strerror}") from None
            with source:
                status = os.fstat(source.fileno())
                if not stat.S_ISREG(status.st_mode):
                    continue
                tar.addfile(_info(here / name, data_dir, status), source)
            # tarfile keeps every member written; a stream needs none again (typeshed omits the list)
            tar.members.clear()  # type: ignore[attr-defined]
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


@dataclass(frozen=True)
class Seen:
    """What restoring has learned, kept beside the backup key (`NAME.seen`): whose backups
    to trust, and when the newest backup it restored was made."""
    signer: VerifyKey | None = None
    newest: int = 0

    @classmethod
    def load(cls, path: Path) -> Seen:
        try:
            record = json.loads(path.read_text("utf-8"))
            return cls(VerifyKey(base64.b64decode(record["signer"], validate=True)), int(record["newest"]))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError, KeyError, TypeError):
            raise BackupError(f"{path} is unreadable; it records which instance's backups to "
                              "trust (move it away and restore with --trust-signer to start again)"
                              "; nothing was restored") from None

    def save(self, path: Path) -> None:
        if self.signer is None:
            raise ValueError("a record of whom to trust is saved once it names a signer")
        record = {"signer": base64.b64encode(bytes(self.signer)).decode("ascii"), "newest": self.newest}
        write_atomically(path, (json.dumps(record) + "\n").encode("ascii"), 0o600)


def seen_file(key_file: Path) -> Path:
    """Where restoring with `key_file` records what it has seen: beside it, `NAME.seen`."""
    return Path(key_file).with_suffix(".seen")


def restore_backup(backup: Path, data_dir: Path, secret_key: PrivateKey, seen: Path,
                   trust_signer: str | None = None, allow_older: bool = False) -> Summary:
    """Unpack `backup` into `data_dir` (absent or empty); all of it, or nothing.

    Only a backup signed by the signer `seen` records (or, when it records none yet, by the one
    whose fingerprint is `trust_signer`) and no older than the newest `seen` records (unless
    `allow_older`) is restored; `seen` is then updated."""
    data_dir = Path(data_dir).resolve()
    if data_dir.exists() and (not data_dir.is_dir() or any(data_dir.iterdir())):
        raise BackupError(f"{data_dir} exists and is not empty; restore into a new directory")
    record = Seen.load(seen)
    staging = data_dir.with_name(f".{data_dir.name}.restoring")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        source = open(backup, "rb")
    except OSError as exc:
        raise BackupError(f"cannot read {backup}: {exc.strerror}") from None
    try:
        with source:
            made, signer, signature = _read_signed_part(source)
            _trust(backup, record, made, signer, seen, trust_signer, allow_older)
            staging.mkdir(mode=0o700, parents=True)
            header = read_header(source)
            payload = _Digesting(source)
            chunks = open_payload(payload, header, unwrap_file_key(header, secret_key))
            summary = _unpack(_Plaintext(chunks), staging)
        try:
            signer.verify(_signed_message(made, signer, header.signed_part + header.mac,
                                          payload.hash.digest()), signature)
        except BadSignatureError:
            raise FormatError("its signature does not verify: changed, or not made by the "
                              "instance it names") from None
        restored = Layout(staging)
        if not restored.database.is_file() or not restored.config.is_file():
            raise FormatError("the backup holds no instance")
        try:
            migrations.check_database(restored.database)
        except migrations.MigrationError as exc:
            raise FormatError(str(exc).replace(str(restored.database), "its database")) from None
        summary = replace(summary, dropped=_drop_incomplete(staging), made=made,
                          signer=signer_fingerprint(signer))
        try:
            Seen(signer, max(made, record.newest)).save(seen)
        except OSError as exc:
            raise BackupError(f"cannot record the signer and date of {backup} in {seen} "
                              f"({exc.strerror}); nothing was restored") from None
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


def _read_signed_part(source: BinaryIO) -> tuple[int, VerifyKey, bytes]:
    start = source.read(len(MAGIC) + 1)
    if start == MAGIC + bytes([1]):
        # No release wrote these: backups came after v0.1.0, and were signed before the next.
        raise FormatError("a version 1 backup, made by a development version before backups "
                          "were signed: nothing shows which instance made it. Restore it with "
                          "the version that made it, if you know where it came from")
    if start != MAGIC + bytes([VERSION]):
        raise FormatError("not an onion-dropbox backup (or one of a version this program does "
                          "not know)")
    signed = source.read(_SIGNED.size)
    if len(signed) != _SIGNED.size:
        raise FormatError("truncated")
    made, signer, signature = _SIGNED.unpack(signed)
    try:
        return made, VerifyKey(signer), signature
    except ValueError:
        raise FormatError("it names an unusable signer") from None


def _trust(backup: Path, record: Seen, made: int, signer: VerifyKey, seen: Path,
           trust_signer: str | None, allow_older: bool) -> None:
    """Refuse, before anything is unpacked, a backup whose signer is not the one trusted, or
    one older than the newest restored (unless `allow_older`)."""
    fingerprint = signer_fingerprint(signer)
    if record.signer is None:
        if trust_signer is None:
            raise BackupError(
                f"{backup} is signed by backup signer {fingerprint}, made {made_text(made)}. No "
                f"backup has been restored with this key yet ({seen} does not exist), so nothing "
                "says which instance's backups to trust: compare that fingerprint with the one "
                "`dropbox backup` printed, then run again with --trust-signer "
                f"'{fingerprint}'; nothing was restored")
        if "".join(trust_signer.split()).upper() != "".join(fingerprint.split()):
            raise BackupError(f"{backup} is signed by backup signer {fingerprint}, not by "
                              f"{trust_signer}: nothing was restored")
    elif bytes(record.signer) != bytes(signer):
        raise BackupError(f"{backup} is signed by backup signer {fingerprint}, not by "
                          f"{signer_fingerprint(record.signer)}, whose backups this key restores "
                          f"({seen}): not made by your instance (one made anew signs with a new "
                          f"key: then move {seen} away and use --trust-signer); nothing was restored")
    if made < record.newest and not allow_older:
        raise BackupError(
            f"{backup} was made {made_text(made)}, before the newest backup restored with this "
            f"key ({made_text(record.newest)}): restoring it would undo what changed since, such "
            "as a responder removed or a key replaced. If that is what you want, run again with "
            "--allow-older; nothing was restored")


def _drop_incomplete(staging: Path) -> int:
    """A conversation deleted between the database copy and the walk of the store left its
    rows without payloads: finish its deletion, as the live server did. Returns how many.
    Only v0.1.0's columns and layout are assumed: a backup taken before an upgrade holds an
    older database, whose payloads may still lie flat in store/ (before `payloads_in_buckets`)."""
    from dropbox.storage import Store
    layout = Layout(staging)
    store = Store(layout.database, layout.store, layout.tmp)
    with closing(sqlite3.connect(layout.database)) as db:
        items = db.execute("SELECT conversation_id, id FROM items").fetchall()
    folder = store.conversations.conversation_folder
    gone = sorted({conversation_id for conversation_id, item_id in items
                   if not (id_path(folder(conversation_id), item_id).is_file()
                           or id_path(store.store_dir, conversation_id, item_id).is_file())})
    store.conversations.delete_conversations(gone, "restore")
    return len(gone)


def _unpack(plaintext: _Plaintext, staging: Path) -> Summary:
    """Only plain folders and files, only below `staging`, readable by their owner alone."""
    files = total = 0
    with tarfile.open(fileobj=plaintext, mode="r|", tarinfo=_BoundedMember) as tar:
        while (member := tar.next()) is not None:
            # tarfile keeps every member read; a stream needs none again (typeshed omits the list)
            tar.members.clear()  # type: ignore[attr-defined]
            target = staging.joinpath(*_parts(member.name))
            if member.isdir():
                target.mkdir(mode=0o700, parents=True, exist_ok=True)
                target.chmod(0o700)  # whatever the backup says: the instance's folders are its own
            elif member.isfile():
                target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                try:
                    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
                except FileExistsError:
                    raise FormatError(f"the backup holds a path twice: {member.name!r}") from None
                data = tar.extractfile(member)
                if data is None:  # only a regular file's member has data, and this is one
                    raise FormatError(f"the backup's file {member.name!r} has no data")
                with data, os.fdopen(descriptor, "wb") as out:
                    shutil.copyfileobj(data, out, COPY_BYTES)
                files, total = files + 1, total + member.size
            else:
                raise FormatError(f"the backup holds something other than a file: {member.name!r}")
    plaintext.read_to_end()  # the final chunk must authenticate, or nothing counts
    return Summary(files, total)


def _parts(name: str) -> tuple[str, ...]:
    """The plain names a member's path is made of, or FormatError: nothing absolute, no `..`,
    no NUL or other control character, no deeper than the layout can be."""
    parts = PurePosixPath(name).parts
    if (not parts or name.startswith("/") or len(parts) > MAX_DEPTH
            or any(part in (".", "..") or len(part.encode("utf-8", "surrogateescape")) > MAX_NAME
                   or not part.isprintable() for part in parts)):
        raise FormatError(f"the backup holds a path no instance has: {name[:80]!r}")
    return parts


class _BoundedMember(tarfile.TarInfo):
    """A tar member whose extended (pax or GNU long-name) header is refused when larger than
    any path of ours: tarfile reads such a header whole into memory before parsing it."""

    @classmethod
    def fromtarfile(cls, tar: tarfile.TarFile) -> tarfile.TarInfo:  # type: ignore[override]  # typeshed says Self; tarfile returns what _proc_member makes
        # tarfile's own fromtarfile, with the size checked between reading the block and
        # processing what it announces.
        block = tar.fileobj.read(tarfile.BLOCKSIZE)
        member = cls.frombuf(block, tar.encoding, tar.errors)
        member.offset = tar.fileobj.tell() - tarfile.BLOCKSIZE
        if member.type in _EXTENDED and member.size > MAX_TAR_HEADER:
            raise tarfile.HeaderError(f"an extended tar header of {member.size} bytes")
        return member._proc_member(tar)  # type: ignore[attr-defined]  # tarfile's own next step, private


_EXTENDED = (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE, tarfile.GNUTYPE_LONGNAME,
             tarfile.GNUTYPE_LONGLINK)


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
