"""The file's shape: the schema and its migrations, opening and checking a file, the in-memory copy."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from pathlib import Path

from .records import APPLICATION_ID, HOME_ENV, NOT_SAVED, SCHEMA_VERSION, Refused

logger = logging.getLogger(__name__)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS registrations (
    seq INTEGER PRIMARY KEY,
    base_url TEXT NOT NULL,
    job_key TEXT NOT NULL,
    key_id TEXT,
    prompt TEXT NOT NULL,
    count INTEGER NOT NULL,
    record_ids TEXT NOT NULL,
    batch_id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    reservation_id TEXT NOT NULL,
    credits_reserved INTEGER NOT NULL,
    idempotency_key TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    comparison TEXT NOT NULL DEFAULT '',
    template TEXT NOT NULL DEFAULT '',
    parts TEXT NOT NULL DEFAULT '[]',
    open_count INTEGER NOT NULL,
    UNIQUE (base_url, job_key)
);
CREATE INDEX IF NOT EXISTS registrations_open ON registrations (open_count) WHERE open_count > 0;
CREATE INDEX IF NOT EXISTS registrations_where ON registrations (base_url, key_id, seq);
CREATE TABLE IF NOT EXISTS records (
    base_url TEXT NOT NULL,
    record_id TEXT NOT NULL,
    seq INTEGER NOT NULL REFERENCES registrations (seq),
    position INTEGER NOT NULL,
    PRIMARY KEY (seq, position)
);
CREATE INDEX IF NOT EXISTS records_by_id ON records (base_url, record_id);
CREATE TABLE IF NOT EXISTS finals (
    base_url TEXT NOT NULL,
    record_id TEXT NOT NULL,
    status TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (base_url, record_id)
);
CREATE TABLE IF NOT EXISTS unconfirmed (
    seq INTEGER PRIMARY KEY,
    base_url TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    key_id TEXT,
    prompt TEXT NOT NULL,
    count INTEGER NOT NULL,
    attempted_at TEXT NOT NULL,
    UNIQUE (base_url, idempotency_key)
);
CREATE TABLE IF NOT EXISTS marks (
    base_url TEXT NOT NULL,
    key_id TEXT NOT NULL,
    scenery_id TEXT NOT NULL,
    flag TEXT NOT NULL CHECK (flag IN ('pick', 'reject', '')),
    stars INTEGER NOT NULL CHECK (stars BETWEEN 0 AND 5),
    updated_at TEXT NOT NULL,
    PRIMARY KEY (base_url, key_id, scenery_id)
);
CREATE TABLE IF NOT EXISTS imports (
    sha256 TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    entries INTEGER NOT NULL,
    skipped INTEGER NOT NULL,
    imported_at TEXT NOT NULL
);
"""

_RETRY_LINK = "ALTER TABLE registrations ADD COLUMN retry_of TEXT NOT NULL DEFAULT ''"
"""Version 2: a job sent by "Retry N failed" names the job (its batch key) whose failures it replaces, so
a later session draws it inside that run again. Jobs written before keep '' (a run of their own)."""

_MIGRATIONS: dict[int, str] = {1: _SCHEMA, 2: _RETRY_LINK}
"""Schema version -> the script that brings version-1 to it. A new version adds a step here; a file from
a newer version of the package is refused with a sentence rather than written in a shape it does not know."""

REGISTRATION_COLUMNS = (
    "base_url, key_id, prompt, count, record_ids, batch_id, order_id, reservation_id, credits_reserved, "
    "submitted_at, idempotency_key, comparison, template, parts, retry_of, seq"
)


def sql_text(value: str) -> str | bytes:
    """Text for a column; a lone surrogate (an id a server sent) cannot be UTF-8, so it goes in as a
    blob of its surrogate-pass bytes and comes back unchanged: a charged job is never refused over it."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass")
    return value


def from_sql_text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogatepass")
    return str(value)


def json_text(value: object) -> str:
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"))


class Redo(Exception):
    """The file failed mid-write; the store is in memory now and the write is done again there."""


def prepare(db: sqlite3.Connection, path: Path, *, wal: bool) -> None:
    """Check the file is ours and current, bring its schema up to date (one transaction per step)."""
    application_id = db.execute("PRAGMA application_id").fetchone()[0]
    version = db.execute("PRAGMA user_version").fetchone()[0]
    tables = db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]
    if tables and application_id != APPLICATION_ID:
        raise Refused(
            f"The file {path} is not a qamera-widgets store (another program's database?). Move it away or "
            f"set {HOME_ENV} to another folder, and restart the kernel; {NOT_SAVED}"
        )
    if version > SCHEMA_VERSION:
        raise Refused(
            f"The local store {path} was written by a newer qamera-widgets (schema {version}, this one reads "
            f"{SCHEMA_VERSION}). Upgrade qamera-widgets, or set {HOME_ENV} to another folder, and restart "
            f"the kernel; {NOT_SAVED}"
        )
    if wal:
        mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            logger.info("the local store %s runs in %s mode (WAL unavailable there)", path, mode)
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA foreign_keys=ON")
    while version < SCHEMA_VERSION:
        db.execute("BEGIN IMMEDIATE")
        try:
            current = db.execute("PRAGMA user_version").fetchone()[0]  # another kernel may have done it
            if current == version:
                for statement in _statements(_MIGRATIONS[version + 1]):
                    db.execute(statement)
                db.execute(f"PRAGMA application_id={APPLICATION_ID}")
                db.execute(f"PRAGMA user_version={version + 1}")
            db.execute("COMMIT")
        except BaseException:
            roll_back(db)
            raise
        version = db.execute("PRAGMA user_version").fetchone()[0]


def roll_back(db: sqlite3.Connection) -> None:
    try:
        if db.in_transaction:
            db.execute("ROLLBACK")
    except sqlite3.Error:  # a broken file: the connection is dropped for memory anyway
        pass


def copy_of(db: sqlite3.Connection | None, path: Path) -> sqlite3.Connection | None:
    """What the file still holds, copied into memory (read-only when the open one is gone); None when it
    cannot be read or is not ours (a damaged file then starts an empty memory store)."""
    memory = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    source = db
    try:
        if source is None:
            if not path.is_file() or path.is_symlink():
                raise sqlite3.OperationalError("no file to copy")
            source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
        source.backup(memory)
        if memory.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise sqlite3.DatabaseError("damaged")
        prepare(memory, path, wal=False)
    except (sqlite3.Error, Refused, OSError):
        memory.close()
        return None
    finally:
        if source is not None and source is not db:
            source.close()
    return memory


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def sync_directory(folder: Path) -> None:
    """Make a new file's directory entry durable too (POSIX only; best effort)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
