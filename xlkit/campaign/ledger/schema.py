"""The ledger's schema, versioned: `meta.schema` names the version a ledger is at, and opening it for writing
applies the numbered migrations after it, in one transaction. Version 1 is the ledger of the releases before the
seam (tables added since its first release were created when missing, so step 1 is idempotent and completes them);
version 2 adds the claims on runs and on units' upload slots, which replace lock files and process memory; version 3
the officers' accounts (the shared password of the releases before becomes the account `admin`), the audit trail,
units' e-mail addresses and the mail queue with its failures; version 4 `blob_data`, received files' bytes for a
campaign that keeps them in its database (`--blobs database`; empty elsewhere), and `session_links`, a new unit link
made on the board waiting, sealed, for its officer's next page (on whichever server). Each
step is the SQLite DDL, written so that it can run again (a ledger missing a table of its own version gets every
step again); another backend keeps its own DDL for the same numbers."""

from __future__ import annotations

SCHEMA_VERSION = 4
CORE_TABLES = frozenset({"meta", "units", "blobs", "runs", "checks", "receipts", "actions"})  # a ledger without one is damaged

SQLITE_STEPS: dict[int, str] = {
    1: """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS units(code TEXT PRIMARY KEY, position INTEGER NOT NULL, name TEXT NOT NULL, department TEXT NOT NULL,
    contact TEXT NOT NULL, phone TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blobs(sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, stored_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs(id INTEGER PRIMARY KEY, key TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
    files INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS runs_open ON runs(key, finished_at);
CREATE TABLE IF NOT EXISTS checks(id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL REFERENCES blobs, spec_key TEXT NOT NULL,
    version TEXT NOT NULL, report BLOB NOT NULL, UNIQUE(sha256, spec_key, version));
CREATE TABLE IF NOT EXISTS receipts(id INTEGER PRIMARY KEY, run INTEGER NOT NULL REFERENCES runs, item INTEGER NOT NULL,
    sha256 TEXT NOT NULL REFERENCES blobs, name TEXT NOT NULL, received_at TEXT NOT NULL, note TEXT NOT NULL, by TEXT NOT NULL,
    unit_code TEXT NOT NULL, form TEXT NOT NULL, errors INTEGER NOT NULL, warnings INTEGER NOT NULL,
    unexplained INTEGER NOT NULL, summary TEXT NOT NULL, UNIQUE(run, item));
CREATE INDEX IF NOT EXISTS receipts_unit ON receipts(unit_code, id);
CREATE TABLE IF NOT EXISTS actions(id INTEGER PRIMARY KEY, unit_code TEXT NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL,
    by TEXT NOT NULL, text TEXT NOT NULL, receipt INTEGER REFERENCES receipts, letter TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS actions_unit ON actions(unit_code, id);
CREATE TABLE IF NOT EXISTS tokens(id INTEGER PRIMARY KEY, unit_code TEXT NOT NULL, digest TEXT NOT NULL UNIQUE, issued_at TEXT NOT NULL,
    revoked_at TEXT);
CREATE TABLE IF NOT EXISTS explanations(id INTEGER PRIMARY KEY, receipt INTEGER NOT NULL REFERENCES receipts, issue INTEGER NOT NULL,
    text TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS explanations_receipt ON explanations(receipt, issue, id);
CREATE TABLE IF NOT EXISTS sessions(id INTEGER PRIMARY KEY, digest TEXT NOT NULL UNIQUE, account TEXT NOT NULL, address TEXT NOT NULL,
    generation INTEGER NOT NULL, created REAL NOT NULL, last_seen REAL NOT NULL, ended REAL, ended_why TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS login_attempts(account TEXT NOT NULL, address TEXT NOT NULL, failures INTEGER NOT NULL, next_at REAL NOT NULL,
    PRIMARY KEY(account, address));
""",
    2: """
CREATE TABLE IF NOT EXISTS claims(run INTEGER PRIMARY KEY REFERENCES runs, host TEXT NOT NULL, pid INTEGER NOT NULL, since TEXT NOT NULL,
    expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS upload_slots(unit_code TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, since TEXT NOT NULL,
    expires REAL NOT NULL);
""",
    3: """
CREATE TABLE IF NOT EXISTS accounts(login TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, department TEXT NOT NULL,
    password TEXT NOT NULL, generation INTEGER NOT NULL, disabled INTEGER NOT NULL, created_at TEXT NOT NULL);
INSERT INTO accounts(login, name, role, department, password, generation, disabled, created_at)
    SELECT 'admin', '管理员', 'admin', '', value, COALESCE((SELECT CAST(g.value AS INTEGER) FROM meta g WHERE g.key = 'password_generation'), 0),
    0, '' FROM meta WHERE key = 'admin_password' AND value <> '' ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS audit(id INTEGER PRIMARY KEY, at TEXT NOT NULL, kind TEXT NOT NULL, login TEXT NOT NULL, name TEXT NOT NULL,
    role TEXT NOT NULL, address TEXT NOT NULL, unit_code TEXT NOT NULL, receipt INTEGER, action INTEGER, text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_unit ON audit(unit_code, id);
CREATE TABLE IF NOT EXISTS unit_emails(unit_code TEXT PRIMARY KEY, email TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS mail(id INTEGER PRIMARY KEY, created_at TEXT NOT NULL, kind TEXT NOT NULL, unit_code TEXT NOT NULL,
    recipient TEXT NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL, attachments TEXT NOT NULL, attempts INTEGER NOT NULL,
    next_at REAL NOT NULL, sent_at TEXT, outcome TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS mail_pending ON mail(sent_at, next_at);
CREATE TABLE IF NOT EXISTS mail_failures(id INTEGER PRIMARY KEY, mail INTEGER NOT NULL REFERENCES mail, at TEXT NOT NULL, error TEXT NOT NULL);
""",
    4: """
CREATE TABLE IF NOT EXISTS blob_data(sha256 TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS session_links(session TEXT PRIMARY KEY, sealed BLOB NOT NULL);
""",
}


def statements(script: str) -> list[str]:
    """One DDL statement each (run one by one inside the caller's transaction)."""
    return [s.strip() for s in script.split(";") if s.strip()]
