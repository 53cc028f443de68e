"""Backups written from docs/FORMAT.md ("Backup") alone, for tests that need one `dropbox backup`
would never write: a tar stream of any shape, sealed to a backup key and signed by any key.
"""
from __future__ import annotations

import hashlib
import io
import secrets
import sqlite3
import tarfile
import time
from contextlib import closing
from pathlib import Path
from collections.abc import Callable

from nacl.public import PublicKey
from nacl.signing import SigningKey

from keys.envelope import Binding, Origin, PayloadSealer


def signed_backup(plaintext: bytes | Callable[[PayloadSealer], None], recipient: PublicKey,
                  signer: SigningKey, made: int | None = None) -> bytes:
    """`"ODBXBAK" || 2 || made || signer || signature || envelope`, the envelope's plaintext
    `plaintext` (or whatever the callable writes into the sealer)."""
    made = int(time.time()) if made is None else made
    payload = io.BytesIO()
    sealer = PayloadSealer(payload)
    if callable(plaintext):
        plaintext(sealer)
    else:
        sealer.write(plaintext)
    sealer.finish()
    header = sealer.header([recipient], Binding(secrets.token_hex(16), Origin.BACKUP, 0))
    signed = (b"odbx-backup-v2\n" + made.to_bytes(8, "big") + bytes(signer.verify_key)
              + hashlib.blake2b(header, digest_size=32).digest()
              + hashlib.blake2b(payload.getvalue(), digest_size=32).digest())
    return (b"ODBXBAK" + bytes([2]) + made.to_bytes(8, "big") + bytes(signer.verify_key)
            + signer.sign(signed).signature + header + payload.getvalue())


def instance_tar(data: Path, files: dict[str, bytes] | None = None, modes: dict[str, int] | None = None,
                 extra: Callable[[tarfile.TarFile], None] | None = None) -> bytes:
    """The tar stream `dropbox backup` would make of the instance at `data` (database first,
    then every folder and file), with `files` put in place of what the instance holds (the
    database too), `modes` given to members, and `extra(tar)` adding members at the end."""
    with closing(sqlite3.connect(data / "dropbox.sqlite3")) as db:
        entries: dict[str, bytes | None] = {"dropbox.sqlite3": db.serialize()}
    for path in sorted(data.rglob("*")):
        name = path.relative_to(data).as_posix()
        if not name.startswith(("dropbox.sqlite3", "tmp", "tor")):
            entries[name] = None if path.is_dir() else path.read_bytes()
    entries.update(files or {})
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content in entries.items():
            info = tarfile.TarInfo(name)
            info.mode = (modes or {}).get(name, 0o700 if content is None else 0o600)
            if content is None:
                info.type = tarfile.DIRTYPE
            else:
                info.size = len(content)
            tar.addfile(info, None if content is None else io.BytesIO(content))
        if extra:
            extra(tar)
    return out.getvalue()
