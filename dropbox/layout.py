"""The data directory's layout: every place of ours inside it, named here and nowhere else.

    config.toml        settings a person may edit
    code-of-practice.toml  what the reporter's pages and report form show
    secrets/           peppers, the session-signing key, the codename tag key (ratelimit.py),
                       the onion service keys and the backup signing key (made by the
                       first backup), mode 0600
    desk-access/       one `NAME.auth` per responder allowed to reach the desk onion
    tor/               the launched tor's state (`serve --tor launch`)
    dropbox.sqlite3    conversations, items (headers only), team
    store/<ab>/<conv>/<item>  envelope payloads, ciphertext only (<ab>: the conversation id's
                       first two hex digits, so no folder holds more than a few thousand entries)
    tmp/               uploads being encrypted, journals of payloads being placed; emptied at start-up

Nothing else of ours is written anywhere, and the layout holds no symbolic links. Config,
`init`, the upgrade steps, `backup` and `restore` all take their paths from `Layout`, so a
new file or folder is one edit here (tests/test_layers.py fails on a path spelled elsewhere).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CONFIG_FILE = "config.toml"
PRACTICE_FILE = "code-of-practice.toml"
DATABASE_FILE = "dropbox.sqlite3"
PEPPER_FILE = "peppers"
SESSION_KEY_FILE = "session-key"
TAG_KEY_FILE = "codename-tag-key"  # made by an upgrade step, which `init` runs too
BACKUP_SIGNING_KEY_FILE = "backup-signing-key"  # the instance's Ed25519 seed, made by its first backup
ONION_KEY_FILES = {"site": "onion-site-key", "desk": "onion-desk-key"}
# SQLite's files beside the database while it is open.
DATABASE_JOURNALS = ("-wal", "-shm", "-journal")


@dataclass(frozen=True)
class Layout:
    """The paths of one data directory."""
    root: Path

    @property
    def config(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def practice(self) -> Path:
        return self.root / PRACTICE_FILE

    @property
    def database(self) -> Path:
        return self.root / DATABASE_FILE

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def store(self) -> Path:
        return self.root / "store"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def tor(self) -> Path:
        return self.root / "tor"

    @property
    def desk_access(self) -> Path:
        return self.root / "desk-access"

    @property
    def peppers(self) -> Path:
        return self.secrets / PEPPER_FILE

    @property
    def session_key(self) -> Path:
        return self.secrets / SESSION_KEY_FILE

    @property
    def tag_key(self) -> Path:
        return self.secrets / TAG_KEY_FILE

    @property
    def backup_signing_key(self) -> Path:
        return self.secrets / BACKUP_SIGNING_KEY_FILE

    def onion_key(self, service: str) -> Path:
        """The secret key of the reporter site's ("site") or the desk's ("desk") onion."""
        return self.secrets / ONION_KEY_FILES[service]

    @property
    def not_backed_up(self) -> frozenset[str]:
        """Top-level names a backup leaves out: the live database (copied through SQLite
        instead) and its journals, the server's scratch and a launched tor's state, none of
        which outlives a restart."""
        return frozenset({DATABASE_FILE, *(DATABASE_FILE + j for j in DATABASE_JOURNALS),
                          self.tmp.name, self.tor.name})
