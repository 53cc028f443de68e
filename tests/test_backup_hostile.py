"""A hostile backup restores nothing, leaves nothing, and says why in one line.

Even signed by the trusted signer (a compromised server signs what it likes), what a backup
unpacks is held to the shape of a data directory: its database must be an instance database
(`migrations.check_database`), its paths plain names at a bounded depth, its tar headers no
larger than a path of ours, and every folder and file it makes is its owner's alone, whatever
modes the backup gives. Memory stays flat whatever the backup holds (a huge header, many
files). The backups here are written from docs/FORMAT.md (tests/backups.py).
"""
from __future__ import annotations

import io
import shutil
import sqlite3
import sys
import tarfile
from contextlib import closing
from pathlib import Path

import pytest
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from backups import instance_tar, signed_backup
from conftest import BIN, dropbox, run
from dropbox.backup import BackupError, Seen, restore_backup
from keys.responder import Responder

BACKUP_KEY = PrivateKey.generate()
SIGNER = SigningKey.generate()


@pytest.fixture
def template(instance_template) -> Path:
    """The session's instance (conftest.py): read here, never changed."""
    return instance_template


@pytest.fixture
def seen(tmp_path) -> Path:
    """The record beside the backup key, trusting SIGNER."""
    path = tmp_path / "offline" / "backup.seen"
    path.parent.mkdir()
    Seen(SIGNER.verify_key, 0).save(path)
    return path


def restore(tmp_path: Path, seen: Path, plaintext) -> Path:
    backup = tmp_path / "hostile.odbk"
    backup.write_bytes(signed_backup(plaintext, BACKUP_KEY.public_key, SIGNER))
    target = tmp_path / "restored"
    restore_backup(backup, target, BACKUP_KEY, seen)
    return target


def refused(tmp_path: Path, seen: Path, plaintext, *words: str) -> None:
    with pytest.raises(BackupError) as raised:
        restore(tmp_path, seen, plaintext)
    message = str(raised.value)
    assert "nothing was restored" in message and "\n" not in message, message
    for word in words:
        assert word in message, message
    assert not (tmp_path / "restored").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hostile.odbk", "offline"]


def _database(template: Path, sql: str) -> bytes:
    with closing(sqlite3.connect(template / "dropbox.sqlite3")) as source, \
            closing(sqlite3.connect(":memory:")) as copy:
        source.backup(copy)
        copy.executescript(sql)
        return copy.serialize()


def test_a_backup_of_the_right_shape_restores(template, tmp_path, seen):
    target = restore(tmp_path, seen, instance_tar(template))
    assert (target / "config.toml").read_bytes() == (template / "config.toml").read_bytes()


def test_a_database_that_is_not_sqlite_is_refused(template, tmp_path, seen):
    refused(tmp_path, seen, instance_tar(template, {"dropbox.sqlite3": b"not SQLite " * 500}),
            "not a usable instance database")


def test_an_empty_database_is_refused(template, tmp_path, seen):
    refused(tmp_path, seen, instance_tar(template, {"dropbox.sqlite3": b""}), "no table")


def test_a_database_missing_a_column_is_refused(template, tmp_path, seen):
    database = _database(template, "ALTER TABLE items DROP COLUMN proof")
    refused(tmp_path, seen, instance_tar(template, {"dropbox.sqlite3": database}), "items.proof")


def test_a_nul_in_a_path_is_refused(template, tmp_path, seen):
    def nul(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo("placeholder")
        info.pax_headers = {"path": "store/a\x00b"}
        tar.addfile(info, None)
    refused(tmp_path, seen, instance_tar(template, extra=nul), "no instance has")


def test_two_thousand_nested_folders_are_refused(template, tmp_path, seen):
    def nested(tar: tarfile.TarFile) -> None:
        for depth in range(1, 2001):
            info = tarfile.TarInfo("/".join(["d"] * depth))
            info.type, info.mode = tarfile.DIRTYPE, 0o700
            tar.addfile(info)
    refused(tmp_path, seen, instance_tar(template, extra=nested), "no instance has")


def test_folder_and_file_modes_are_the_owners_alone_whatever_the_backup_says(template, tmp_path, seen):
    target = restore(tmp_path, seen, instance_tar(
        template, modes={"secrets": 0o100, "store": 0o777, "config.toml": 0o4777}))
    for path in (target, *target.rglob("*")):
        expected = 0o700 if path.is_dir() else 0o600
        assert path.stat().st_mode & 0o7777 == expected, path


@pytest.mark.slow
def test_a_huge_tar_header_is_refused_without_reading_it(template, tmp_path, seen):
    """A 300 MiB pax header: tarfile would read it whole (943 MiB of memory); refused at its
    first block. Measured in a `dropbox restore` process of its own."""
    size = 300 * 1024 * 1024

    def huge(sealer) -> None:
        info = tarfile.TarInfo("././@PaxHeader")
        info.type, info.size = tarfile.XHDTYPE, size
        sealer.write(info.tobuf(tarfile.USTAR_FORMAT))
        record = b"%d path=" % size
        sealer.write(record)
        block = b"a" * (1024 * 1024)
        left = size - len(record)
        while left:
            sealer.write(block[:min(left, len(block))])
            left -= min(left, len(block))
    code, said, peak_mib = _restore_peak(tmp_path, seen, huge)
    assert code == "1" and "nothing was restored" in said and "Traceback" not in said, said
    assert peak_mib < 150, (peak_mib, said)
    assert not (tmp_path / "restored").exists()


@pytest.mark.slow
def test_memory_does_not_grow_with_the_number_of_files(template, tmp_path, seen):
    """tarfile keeps every member it has read; a store of a million payloads would hold them
    all. 150,000 files restore within the memory of a handful."""
    def many(tar: tarfile.TarFile) -> None:
        for number in range(150_000):
            info = tarfile.TarInfo(f"store/ab/ab{number:030x}/{number:032x}")
            info.mode = 0o600
            tar.addfile(info, io.BytesIO(b""))
    code, said, peak_mib = _restore_peak(tmp_path, seen, instance_tar(template, extra=many))
    assert code == "0", said
    assert peak_mib < 80, peak_mib


@pytest.mark.slow
def test_taking_a_backup_does_not_grow_with_the_number_of_files(template, tmp_path):
    data = tmp_path / "instance"
    shutil.copytree(template, data)
    folder = data / "store" / "ab" / ("ab" * 16)
    folder.mkdir(parents=True)
    for number in range(150_000):
        (folder / f"{number:032x}").touch()
    public = tmp_path / "backup.pub"
    public.write_text(Responder("backup", BACKUP_KEY.public_key, SIGNER.verify_key).to_pub_text())
    said = run(sys.executable, "-c", PEAK, BIN / "dropbox", "backup", "--data", data,
               "--out", tmp_path / "b.odbk", "--to", public)
    code, peak = said.out.split()[-2:]
    assert code == "0", said
    assert int(peak) / 1024 < 80, int(peak) / 1024


def _restore_peak(tmp_path: Path, seen: Path, plaintext) -> tuple[str, str, float]:
    """`dropbox restore` of a backup of `plaintext`, in a process of its own: its exit status,
    what it said on stderr, and its peak memory in MiB."""
    backup = tmp_path / "big.odbk"
    backup.write_bytes(signed_backup(plaintext, BACKUP_KEY.public_key, SIGNER))
    key = tmp_path / "offline" / "backup.key"
    _write_key(key)
    said = run(sys.executable, "-c", PEAK, BIN / "dropbox", "restore", backup, "--data",
               tmp_path / "restored", "--key", key, "--passphrase-file", key.with_suffix(".txt"),
               check=False)
    code, peak = said.out.split()[-2:]
    return code, said.err, int(peak) / 1024


# The restore's peak memory, measured by a small parent of its own: a child inherits the peak
# of the process that starts it (vfork), and this test's process and earlier children are large.
PEAK = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
sys.stderr.write(done.stderr)
print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def _write_key(path: Path) -> None:
    """A key file holding BACKUP_KEY, as `keys new` writes one (cheap argon2 cost)."""
    from keys.responder import ResponderKey
    from nacl import pwhash
    path.with_suffix(".txt").write_text("passphrase\n")
    sealed = ResponderKey("backup", BACKUP_KEY, SigningKey.generate()).seal("passphrase", pwhash.argon2id.OPSLIMIT_MIN,
                                                     pwhash.argon2id.MEMLIMIT_MIN)
    path.write_bytes(sealed)


def test_a_backup_of_an_instance_at_an_earlier_version_restores_and_then_upgrades(tmp_path, seen):
    """A backup taken before an upgrade (OPERATING.md, section 7) holds an older database: the
    restore checks and cleans it without assuming today's columns; `upgrade` does the rest."""
    old = tmp_path / "old"
    shutil.copytree(Path(__file__).parent / "fixtures" / "v0.1.0" / "instance", old)
    target = restore(tmp_path, seen, instance_tar(old))
    with closing(sqlite3.connect(target / "dropbox.sqlite3")) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM conversations").fetchone()[0] == 2  # none dropped
    dropbox("upgrade", "--data", target)
    assert dropbox("team", "list", "--data", target).out.strip()
    assert len([p for p in (target / "store").rglob("*") if p.is_file()]) == 7  # every payload
