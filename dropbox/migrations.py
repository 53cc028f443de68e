"""Upgrades of an instance's database, in order, each applied once.

A database records how far it has been upgraded in SQLite's `user_version`.
v0.1.0 (commit da78831) never set it, so its databases read 0: the baseline is
`storage.SCHEMA` exactly as v0.1.0 wrote it, which stays frozen. Every later
change to tables, columns or indexes is a step appended to `STEPS`; a new
database goes through the same steps as an old one, so there is one path to
every version and no second schema to keep in sync.

A step runs inside the transaction that also records its number, so a crash
leaves the database at the previous version, never half-upgraded. A step must
never lose a row.

The same number is the data directory's version: a step is handed the data
directory too and may repair or convert files there (config keys, the code of
practice, onion keys). File changes cannot join the database transaction, so a
step that touches files must be safe to run again after a crash (write only
what is missing, or write a new file and rename it into place). Handed no data
directory (`None`), a step changes the database alone: that is how `check_database`
tries every step on a copy in memory before the real upgrade touches anything.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path
from collections.abc import Callable, Sequence
from typing import NamedTuple

from dropbox.desk import upgrades as desk
from dropbox.layout import ONION_KEY_FILES, Layout
from dropbox.practice import EXAMPLE, Practice
from dropbox.storage.schema import SCHEMA, VERSION
from keys.atomic_files import fsync_folder, write_atomically
from keys.envelope import ITEM_ORIGINS
from keys.errors import FormatError
from keys.ids import ID_PATTERN, check_id, id_path
from onion.service_key import write_new_seed

class Step(NamedTuple):
    """An upgrade of the database (and data directory), and what it did in plain words."""
    apply: Callable[[sqlite3.Connection, Path | None], None]
    done: str  # printed by `dropbox upgrade` once it has run: no identifier, no jargon

    @property
    def name(self) -> str:
        return self.apply.__name__


def complete_data_directory(db: sqlite3.Connection, data_dir: Path | None) -> None:
    """Instances made before v0.1.0 lack files v0.1.0 needs: the code of practice (copied from
    the example, as `init` does) and the onion service keys (new ones: such an instance never
    had an address of its own). Nothing present is touched, so v0.1.0's addresses stay."""
    if data_dir is None:
        return
    layout = Layout(data_dir)
    if not layout.practice.exists():
        shutil.copyfile(EXAMPLE, layout.practice)
    for service in ONION_KEY_FILES:
        if not layout.onion_key(service).exists():
            write_new_seed(layout.onion_key(service))


def _has_column(db: sqlite3.Connection, table: str, column: str) -> bool:
    return any(row[1] == column for row in db.execute(f"PRAGMA table_info({table})"))


def step_signing_keys_and_reply_proofs(db: sqlite3.Connection, data_dir: Path | None) -> None:
    """Format version 2 (issue 11): each responder's Ed25519 signing key (NULL for a v0.1.0
    key until `team replace`), and each team reply's signed proof (NULL for v0.1.0 replies)."""
    if not _has_column(db, "team", "signing_key"):
        db.execute("ALTER TABLE team ADD COLUMN signing_key BLOB")
    if not _has_column(db, "items", "proof"):
        db.execute("ALTER TABLE items ADD COLUMN proof TEXT")


def index_what_queries_filter_on(db: sqlite3.Connection, data_dir: Path | None) -> None:
    """v0.1.0 indexed only keys: a conversation's items, the stars on a conversation being
    deleted and the conversations past retention were each found by scanning a whole table."""
    db.execute("CREATE INDEX IF NOT EXISTS items_by_conversation ON items(conversation_id, seq)")
    db.execute("CREATE INDEX IF NOT EXISTS stars_by_conversation ON desk_stars(conversation_id)")
    db.execute("CREATE INDEX IF NOT EXISTS conversations_by_activity"
               " ON conversations(last_activity, created, id)")


def recipients_by_name(db: sqlite3.Connection, data_dir: Path | None) -> None:
    """One row per (responder name, conversation), so a responder's conversations are found by
    an index instead of by decoding every conversation's JSON list. That list stays the record:
    it holds the public keys the reporter encrypted to; this table only names the same names."""
    db.execute("CREATE TABLE IF NOT EXISTS conversation_recipients ("
               " name TEXT NOT NULL,"
               " conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,"
               " PRIMARY KEY (name, conversation_id)) WITHOUT ROWID")
    db.execute("CREATE INDEX IF NOT EXISTS recipients_by_conversation"
               " ON conversation_recipients(conversation_id)")
    rows = db.execute("SELECT id, recipients FROM conversations").fetchall()
    db.executemany("INSERT OR IGNORE INTO conversation_recipients (name, conversation_id) VALUES (?, ?)",
                   [(entry["name"], cid) for cid, recipients in rows for entry in json.loads(recipients)])


def payloads_in_buckets(db: sqlite3.Connection, data_dir: Path | None) -> None:
    """store/<conversation>/ moves to store/<its first two hex digits>/<conversation>/: 256
    buckets, so no folder holds more than a few thousand entries below a million
    conversations. Each move is one rename of a whole folder; a step cut short by a crash is
    run again and moves the rest (a bucket's name is two characters, a conversation's an id)."""
    if data_dir is None:
        return
    store = Layout(data_dir).store
    if not store.is_dir():
        return
    buckets = set()
    for folder in list(store.iterdir()):
        if ID_PATTERN.fullmatch(folder.name) and folder.is_dir():  # a conversation's: not a bucket
            buckets.add(bucket := id_path(store, folder.name[:2]))
            bucket.mkdir(mode=0o700, exist_ok=True)
            os.replace(folder, id_path(bucket, folder.name))
    for changed in (store, *buckets):  # the renames are durable before the version saying so
        fsync_folder(changed)


def drop_payloads_no_row_names(db: sqlite3.Connection, data_dir: Path | None) -> None:
    """v0.1.0 wrote a payload before its row and kept no journal of it, so a crash in between
    left ciphertext in store/ that nothing points at: no export carries it, no retention or
    deletion reaches it, and it stayed for ever. Remove every file no item names (and folders
    left empty); since then a journal of what is being placed lets start-up do this."""
    named = set(db.execute("SELECT conversation_id, id FROM items").fetchall())
    store = Layout(data_dir).store if data_dir else None
    if store is None or not store.is_dir():
        return
    # Only the layout's own folders (a bucket, then a conversation's id): anything else
    # someone keeps in store/ is not ours to judge.
    for bucket in store.iterdir():
        ours = len(bucket.name) == 2 and bucket.is_dir()
        for folder in (f for f in bucket.iterdir() if ID_PATTERN.fullmatch(f.name)) if ours else ():
            for payload in folder.iterdir() if folder.is_dir() else ():
                if (folder.name, payload.name) not in named and payload.is_file():
                    payload.unlink()
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()


def index_items_by_day(db: sqlite3.Connection, data_dir: Path | None) -> None:
    """The reports waiting unread are found between two item numbers, the second looked up by
    day (`waiting_reports`): without this index the desk walked every untaken item."""
    db.execute("CREATE INDEX IF NOT EXISTS items_by_day ON items(created)")


# v0.1.0's example told reporters the team "usually" contacts the person reported and that they
# could stop it. The code of practice says the team will, after asking what the reporter needs.
V0_1_0_CONTACT_ACCUSED = {
    "en": ("The response team usually contacts the person reported to explain the process "
           "and let them respond. You can tell us not to, or to ask you first."),
    "es": ("El equipo de respuesta suele contactar a la persona reportada para explicarle el"
           " proceso y darle la oportunidad de responder. Puedes pedirnos que no lo hagamos,"
           " o que te consultemos antes."),
    "fr": ("L'équipe de réponse contacte en général la personne signalée pour lui expliquer "
           "la procédure et lui permettre de répondre. Vous pouvez nous demander de ne pas "
           "le faire, ou de vous consulter d'abord."),
    "ar": ("عادةً ما يتواصل فريق الاستجابة مع الشخص المُبلَّغ عنه لشرح الإجراءات ومنحه فرصة "
           "للرد. يمكنك أن تطلب منا ألا نفعل ذلك، أو أن نسألك أولاً."),
}


def practice_says_what_the_code_says(db: sqlite3.Connection, data_dir: Path | None) -> None:
    """An instance's code of practice still holding v0.1.0's example words about contacting the
    person reported gets today's, language by language; words a team wrote itself stay theirs.
    The new file is written beside the old and renamed over it, so a crash leaves one whole."""
    if data_dir is None:
        return
    path = Layout(data_dir).practice
    if not path.exists():
        return
    today = next(t for t in Practice.load(EXAMPLE).process if t.id == "contact-accused")
    before = after = path.read_text("utf-8")
    for language, old in V0_1_0_CONTACT_ACCUSED.items():
        after = after.replace(f"{language} = {_toml_string(old)}\n",
                              f"{language} = {_toml_string(today(language))}\n")
    if after == before:
        return
    write_atomically(path, after.encode("utf-8"), path.stat().st_mode & 0o777)


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a TOML basic string, for text without controls


def tag_codenames_for_the_login_budget(db: sqlite3.Connection, data_dir: Path | None) -> None:
    """Each conversation's 3-byte keyed tag of its codename, so that a codename with a
    conversation gets past a budget emptied by wrong guesses, restarts included
    (`dropbox.ratelimit`), and the key it is made with. The tags of existing conversations
    stay NULL until their reporters next log in: the codenames are not stored."""
    if not _has_column(db, "conversations", "codename_tag"):
        db.execute("ALTER TABLE conversations ADD COLUMN codename_tag BLOB")
    db.execute("CREATE INDEX IF NOT EXISTS conversations_by_codename_tag ON conversations(codename_tag)")
    if data_dir is None:
        return
    key = Layout(data_dir).tag_key
    if not key.exists():  # a key already there has tagged conversations: it stays
        write_atomically(key, secrets.token_bytes(32), 0o600)


# v0.1.0's items table, as SQLite keeps its text (storage.SCHEMA, frozen).
_V0_1_0_ORIGIN_CHECK = " CHECK (origin IN ('reporter', 'team'))"


def items_of_every_origin(db: sqlite3.Connection, data_dir: Path | None) -> None:
    """v0.1.0 let the items table hold only the reporter's and the team's items, by a CHECK in
    the table itself; the origins are now declared once, in `keys.envelope.Origin`, and checked
    by storage when an item is stored and by `check_database` when an instance is upgraded or
    restored, so a new party to a conversation needs no schema step of its own.

    SQLite cannot drop a CHECK with ALTER TABLE, and rebuilding the table would cascade-delete
    the desk's rows that name items. This is the edit SQLite documents for removing a CHECK
    (sqlite.org/lang_altertable.html, "other kinds of table schema changes"): the table's stored
    text loses the constraint, the rows and indexes are untouched, and integrity is checked."""
    (sql,) = db.execute("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'items'").fetchone()
    if _V0_1_0_ORIGIN_CHECK not in sql:
        if "CHECK" in sql:
            raise MigrationError("the items table holds a CHECK this program did not write")
        return
    (schema_version,) = db.execute("PRAGMA schema_version").fetchone()
    db.execute("PRAGMA writable_schema = ON")
    try:
        db.execute("UPDATE sqlite_schema SET sql = ? WHERE type = 'table' AND name = 'items'",
                   (sql.replace(_V0_1_0_ORIGIN_CHECK, ""),))
        db.execute(f"PRAGMA schema_version = {schema_version + 1}")
    finally:
        db.execute("PRAGMA writable_schema = OFF")
    if db.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
        raise MigrationError("the items table is damaged after its CHECK was removed")


def items_keep_a_receipt_for_their_reporter(db: sqlite3.Connection, data_dir: Path | None) -> None:
    """Each item of a reporter's may keep a receipt sealed to the reporter's key
    (`dropbox.receipts`). Items sent before have none, and show as they did."""
    if not _has_column(db, "items", "receipt"):
        db.execute("ALTER TABLE items ADD COLUMN receipt BLOB")


def case_progress(db: sqlite3.Connection, data_dir: Path | None) -> None:
    """Where each case stands (`dropbox.storage.cases`): the state a reader set, and the day
    the team received the report. A report downloaded before this step (by one of its readers,
    or by a team export) is counted as received on the day of the upgrade: the day it was
    first downloaded was never recorded, and the reporter is not told later than the truth."""
    db.execute("CREATE TABLE IF NOT EXISTS case_progress ("
               " conversation_id TEXT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,"
               " acknowledged TEXT, state TEXT, state_day TEXT)")
    db.execute(
        "INSERT OR IGNORE INTO case_progress (conversation_id, acknowledged)"
        " SELECT c.id, date('now', 'localtime') FROM conversations c"
        " WHERE (SELECT min(seq) FROM items i WHERE i.conversation_id = c.id) <= max("
        "  (SELECT coalesce(max(value), 0) FROM state WHERE key = 'last_export_seq'),"
        "  (SELECT coalesce(max(a.last_download_seq), 0) FROM desk_accounts a"
        "   JOIN conversation_recipients r ON r.name = a.name WHERE r.conversation_id = c.id))")


def figures_without_content(db: sqlite3.Connection, data_dir: Path | None) -> None:
    """The day each case was closed, and the counters a deleted conversation leaves behind
    (`dropbox.storage.figures`). Conversations deleted before this step left none, and those
    closed before it have no closing day: figures start counting them now."""
    if not _has_column(db, "case_progress", "closed"):
        db.execute("ALTER TABLE case_progress ADD COLUMN closed TEXT")
    db.execute("CREATE TABLE IF NOT EXISTS figures (reader TEXT NOT NULL, month TEXT NOT NULL,"
               " measure TEXT NOT NULL, value INTEGER NOT NULL, count INTEGER NOT NULL,"
               " PRIMARY KEY (reader, month, measure, value)) WITHOUT ROWID")


def case_handlers(db: sqlite3.Connection, data_dir: Path | None) -> None:
    """Which readers of a conversation handle its case (`dropbox.storage.cases`)."""
    db.execute("CREATE TABLE IF NOT EXISTS case_handlers ("
               " conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,"
               " name TEXT NOT NULL, since TEXT NOT NULL, PRIMARY KEY (conversation_id, name))")
    db.execute("CREATE INDEX IF NOT EXISTS handlers_by_name ON case_handlers(name, conversation_id)")


def invitations_for_the_person_reported(db: sqlite3.Connection, data_dir: Path | None) -> None:
    """Invitations to the person reported (docs/FORMAT.md, "The person reported"): each is found
    by the lookup id its codename derives to, as a conversation is, in a table of its own so a
    reporter's codename finds no invitation and an invitation's no conversation; the rows keep
    only days. An item of the person reported, or of the team to them, names its invitation."""
    db.execute("CREATE TABLE IF NOT EXISTS invitations ("
               " id TEXT PRIMARY KEY,"
               " conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,"
               " lookup_id TEXT NOT NULL UNIQUE,"
               " public_key BLOB NOT NULL,"
               " codename_tag BLOB NOT NULL,"
               " created TEXT NOT NULL,"
               " expires TEXT NOT NULL,"
               " withdrawn TEXT,"
               " first_used TEXT,"
               " last_response TEXT)")
    db.execute("CREATE INDEX IF NOT EXISTS invitations_by_conversation ON invitations(conversation_id)")
    db.execute("CREATE INDEX IF NOT EXISTS invitations_by_codename_tag ON invitations(codename_tag)")
    if not _has_column(db, "items", "invitation_id"):
        db.execute("ALTER TABLE items ADD COLUMN invitation_id TEXT")


def index_the_days_figures_count(db: sqlite3.Connection, data_dir: Path | None) -> None:
    """Indexes that hold every column the figures and the late count read
    (`dropbox.storage.figures`, `dropbox.storage.cases`): a conversation's day made, by id; a
    case's days received and closed; the team's items by conversation and day; whether the desk
    closed it. Read in id order, each conversation's are found beside the last one's, instead of
    one page read per table per conversation."""
    db.execute("CREATE INDEX IF NOT EXISTS conversations_days ON conversations(id, created)")
    db.execute("CREATE INDEX IF NOT EXISTS case_progress_days ON case_progress(conversation_id, acknowledged, closed)")
    db.execute("CREATE INDEX IF NOT EXISTS items_by_origin ON items(origin, conversation_id, created)")
    db.execute("CREATE INDEX IF NOT EXISTS desk_conversations_closed ON desk_conversations(conversation_id, closed)")


# Step n (counting from 1) brings a database from version n-1 to version n; beside each, what
# it did in the words an operator reads in `dropbox upgrade`'s output.
STEPS: tuple[Step, ...] = (
    Step(desk.step_desk_names_from_curated_list,
         "gave each conversation the two-word name `keys open` prints"),
    Step(desk.step_desk_deletions_wait,
         "made deletions asked for on the desk wait, so they can be cancelled"),
    Step(desk.step_desk_reply_uploaders, "recorded who uploaded each reply on the desk"),
    Step(complete_data_directory, "added the code of practice and onion keys the instance lacked"),
    Step(step_signing_keys_and_reply_proofs, "made room for responders' signing keys and signed replies"),
    Step(index_what_queries_filter_on, "sped up the lookups the desk and housekeeping make"),
    Step(recipients_by_name, "listed each conversation's responders by name, for the desk"),
    Step(payloads_in_buckets, "sorted the stored files into 256 folders"),
    Step(index_items_by_day, "sped up finding reports no one has downloaded"),
    Step(practice_says_what_the_code_says,
         "corrected the example code of practice's words about contacting the person reported"),
    Step(drop_payloads_no_row_names, "removed stored files a crash had left without a record"),
    Step(desk.step_name_every_conversation, "named every conversation the desk had not listed yet"),
    Step(tag_codenames_for_the_login_budget,
         "prepared each conversation to be recognised at login during a flood of wrong codenames"),
    Step(items_of_every_origin, "let conversations hold items from new parties, such as team notes"),
    Step(desk.step_desk_responders_language, "gave each desk account the language its pages and mail use"),
    Step(items_keep_a_receipt_for_their_reporter, "made room for the receipts reporters see of what arrived"),
    Step(case_progress, "made room for each case's state and the day the team received its report"),
    Step(figures_without_content, "made room for the yearly figures, which count without reading"),
    Step(case_handlers, "made room for who handles each case"),
    Step(desk.step_desk_enrolment, "let responders enrol with a one-time code and choose their own login"),
    Step(invitations_for_the_person_reported, "made room for inviting the person reported to respond"),
    Step(index_the_days_figures_count, "sped up the figures and the count of late conversations"),
)

CURRENT = VERSION
if len(STEPS) != VERSION:
    raise ImportError(f"dropbox.migrations has {len(STEPS)} steps, but storage.schema.VERSION is "
                      f"{VERSION}: a new step raises VERSION with it")
if not all(step.done.strip() for step in STEPS):
    raise ImportError("every step in dropbox.migrations.STEPS says what it did")


def version(db: sqlite3.Connection) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]


def check_database(database: Path) -> int:
    """The version of `database` once shown to be one this program can upgrade and serve;
    MigrationError (one line) otherwise, with nothing changed anywhere.

    Every step is first run on a copy in memory, and the copy must then hold every table and
    column of a new database, and only well-formed ids (ids become paths: `keys.ids`). So a
    file that is not SQLite, a damaged, empty or newer one, a missing table or column, or
    rows a step cannot read are all refused before the real upgrade, or a restore, begins."""
    where = f"{database} is not a usable instance database"
    try:
        with closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)) as source, \
                closing(sqlite3.connect(":memory:", isolation_level=None)) as copy:
            source.backup(copy)
            if copy.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise MigrationError(f"{where}: it is damaged (SQLite's quick_check fails)")
            found = version(copy)
            if found > len(STEPS):
                raise MigrationError(f"this database is version {found}, newer than this program "
                                     f"knows ({len(STEPS)}): upgrade onion-dropbox first")
            missing = _missing(copy, _shape(found))
            if missing:
                raise MigrationError(f"{where}: it has no {missing} (version {found})")
            try:
                upgrade(copy, None)
            except MigrationError:
                raise
            except Exception as exc:  # noqa: BLE001 - on a copy in memory: whatever a step meets, it is refused
                step = STEPS[version(copy)].name  # the steps before it have committed
                raise MigrationError(f"{where}: upgrade step {step} fails on it "
                                     f"({type(exc).__name__}: {exc})") from None
            missing = _missing(copy, _shape(len(STEPS)))
            if missing:
                raise MigrationError(f"{where}: once upgraded it has no {missing}")
            _check_ids(copy)
    except sqlite3.Error as exc:
        raise MigrationError(f"{where} ({exc})") from None
    except FormatError as exc:
        raise MigrationError(f"{where}: {exc}") from None
    return found


def refuse_links(data_dir: Path) -> None:
    """The layout of a data directory holds no symbolic link, and the steps move and remove
    files: one found there (a crafted or damaged instance) stops the upgrade before it begins,
    so no step ever acts on a file outside the instance."""
    for folder, dirs, names in os.walk(data_dir):
        for name in (*dirs, *names):
            if os.path.islink(os.path.join(folder, name)):
                link = Path(folder, name).relative_to(data_dir)
                raise MigrationError(f"{data_dir / link} is a symbolic link, and an instance holds "
                                     "none: nothing was upgraded (replace it by what it points at)")


# Every column that holds an id, by table: ids become paths.
ID_COLUMNS = {"conversations": ("id",), "items": ("id", "conversation_id"),
              "conversation_recipients": ("conversation_id",), "desk_conversations": ("conversation_id",),
              "desk_stars": ("conversation_id",), "desk_deletions": ("conversation_id",),
              "desk_uploads": ("item_id",),
              "case_progress": ("conversation_id",), "case_handlers": ("conversation_id",),
              "invitations": ("id", "conversation_id")}


def _check_ids(db: sqlite3.Connection) -> None:
    for table, columns in ID_COLUMNS.items():
        for row in db.execute(f"SELECT {', '.join(columns)} FROM {table}"):
            for value in row:
                check_id(value, f"table {table}")
    for (value,) in db.execute("SELECT invitation_id FROM items WHERE invitation_id IS NOT NULL"):
        check_id(value, "table items")
    known = ", ".join("?" * len(ITEM_ORIGINS))
    unknown = db.execute(f"SELECT origin FROM items WHERE origin NOT IN ({known}) LIMIT 1", ITEM_ORIGINS).fetchone()
    if unknown is not None:
        raise FormatError(f"table items holds an item of unknown origin {str(unknown[0])[:40]!r}")


def _shape(steps: int) -> dict[str, set[str]]:
    """Table → columns of a new database brought through the first `steps` steps."""
    with closing(sqlite3.connect(":memory:", isolation_level=None)) as db:
        db.executescript(SCHEMA)
        upgrade(db, None, STEPS[:steps])
        return {table: {column[1] for column in db.execute(f"PRAGMA table_info({table})")}
                for (table,) in db.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}


def _missing(db: sqlite3.Connection, shape: dict[str, set[str]]) -> str | None:
    """The first table or column of `shape` that `db` lacks, named; None if it has them all."""
    for table, columns in shape.items():
        have = {column[1] for column in db.execute(f"PRAGMA table_info({table})")}
        if not have:
            return f"table {table}"
        if columns - have:
            return f"column {table}.{min(columns - have)}"
    return None


def upgrade(db: sqlite3.Connection, data_dir: Path | None, steps: Sequence[Step] = STEPS) -> list[str]:
    """Apply every step the database has not had; returns their names, in order.

    `db` must be in autocommit mode (isolation_level None): each step and its
    version number commit together."""
    found = version(db)
    if found > len(steps):
        raise MigrationError(f"this database is version {found}, newer than this program "
                             f"knows ({len(steps)}): upgrade onion-dropbox first")
    applied = []
    for number, step in enumerate(steps[found:], start=found + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            step.apply(db, data_dir)
            db.execute(f"PRAGMA user_version = {number}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        applied.append(step.name)
    return applied


def what_it_did(step_name: str) -> str:
    """The plain words for a step `upgrade` applied."""
    return next(step.done for step in STEPS if step.name == step_name)


class MigrationError(Exception):
    """The database cannot be brought to this program's version; the message says why."""
