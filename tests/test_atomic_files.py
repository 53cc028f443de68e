"""A file written through keys/atomic_files.py appears whole or not at all, and never through a
link planted where it is written: the one helper that backups, exports, upgrades and onion keys
share (a temporary file, fsync, rename)."""
from __future__ import annotations

import pytest

from keys.atomic_files import atomic_file, write_atomically


def test_a_new_file_replaces_the_old_whole_with_its_mode(tmp_path):
    path = tmp_path / "secret"
    path.write_bytes(b"old")
    write_atomically(path, b"new", 0o600)
    assert path.read_bytes() == b"new" and path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(tmp_path):
    path = tmp_path / "bundle"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_file(path) as out:
            out.write(b"half of it")
            raise RuntimeError("the disk is full")
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]


def test_links_planted_where_it_writes_are_never_written_through(tmp_path):
    outside = tmp_path / "outside"
    outside.write_bytes(b"not ours")
    folder = tmp_path / "instance"
    folder.mkdir()
    for name in (".file.partial", ".file.new", ".file.upgrading", "file"):
        (folder / name).symlink_to(outside)
    write_atomically(folder / "file", b"ours")
    assert outside.read_bytes() == b"not ours"
    assert (folder / "file").read_bytes() == b"ours" and not (folder / "file").is_symlink()


def test_an_export_never_writes_through_a_link_in_its_folder(instance, tmp_path):
    import random

    from conftest import dropbox
    from dropbox.config import Config
    from dropbox.storage import Store
    from stored import populate
    config = Config.load(instance)
    populate(Store(config.database, config.store_dir, config.tmp_dir), 1, random.Random(1))
    outside = tmp_path / "outside"
    outside.write_bytes(b"not ours")
    out = tmp_path / "export"
    out.mkdir()
    (out / ".alexandra.odbx.partial").symlink_to(outside)
    dropbox("export", "--data", instance, "--out", out)
    assert outside.read_bytes() == b"not ours"
    assert (out / "alexandra.odbx").read_bytes().startswith(b"ODBXBDL")
