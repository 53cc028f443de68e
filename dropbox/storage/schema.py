"""The database as v0.1.0 (commit da78831) created it, frozen: every later change is a step in
`dropbox.migrations`, so an old database and a new one reach the same schema the same way."""

# The version (SQLite's user_version) this program reads and writes: how many steps of
# `dropbox.migrations` its database has been through. Declared here, not counted from the
# steps, so that storage need not import what the steps import (config, the code of practice,
# tor keys, the desk); `dropbox.migrations` refuses to load if its steps do not reach it.
VERSION = 22

SCHEMA = """
CREATE TABLE IF NOT EXISTS team (
    name TEXT PRIMARY KEY,
    public_key BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    lookup_id TEXT NOT NULL UNIQUE,
    reporter_key BLOB NOT NULL,
    recipients TEXT NOT NULL,
    created TEXT NOT NULL,
    last_activity TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    origin TEXT NOT NULL CHECK (origin IN ('reporter', 'team')),
    header BLOB NOT NULL,
    payload_size INTEGER NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS state (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
-- The responder desk. Times of accounts are unix seconds; nothing here names a reporter.
CREATE TABLE IF NOT EXISTS desk_accounts (
    name TEXT PRIMARY KEY,
    password_hash BLOB NOT NULL,
    sealed_totp BLOB NOT NULL,
    last_otp_step INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER NOT NULL DEFAULT 0,
    email TEXT NOT NULL DEFAULT '',
    last_download_seq INTEGER NOT NULL DEFAULT 0,
    notice_pending INTEGER NOT NULL DEFAULT 0,
    last_notice INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS desk_conversations (
    conversation_id TEXT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
    designation TEXT NOT NULL UNIQUE,
    closed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS desk_stars (
    name TEXT NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    PRIMARY KEY (name, conversation_id)
);
-- An entry about a conversation keeps only the names of its recipients (its audience), never its id.
CREATE TABLE IF NOT EXISTS desk_audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    day TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    audience TEXT
);
"""
