"""The local store: a person's jobs and marks in one SQLite file in their data folder, shared by kernels.

A job is money (credits are reserved the moment the server confirms it), so its registration is committed
with `synchronous=FULL` before any view may report success; SQLite's WAL journal makes each write atomic,
so a kernel killed mid-write loses at most that write, and several kernels write the same file safely
(each write is one `BEGIN IMMEDIATE` transaction, waiting up to `BUSY_TIMEOUT_MS` for the others).

When the file cannot be used (full disk, read-only or missing folder, a damaged or foreign file, a symlink
leading out of the folder) the store says so in one sentence (`LocalStore.problem`) and carries on in
memory: the session still sees its jobs and marks, they are only not saved. Job writes then raise
`StoreUnavailableError` (the caller must tell the person to keep the batch id); marks never raise.

The secret part of an API key never reaches the file: only the public key id is stored.

The package's modules: `records` (what is stored and the sentences), `schema` (the file's shape and its
migrations), `rows` (SQLite rows in and out), `local` (`LocalStore`: the connection, its writes and reads,
and `open_store`), `legacy_journal` (an old `journal.jsonl`'s import) and `report` (what `qamera-widgets
store` prints). Import from `engine.store` itself: the split is not an interface.
"""

from __future__ import annotations

from .local import LocalStore, forget_stores, open_store
from .records import (
    APPLICATION_ID,
    BUSY_TIMEOUT_MS,
    DB_FILE,
    HOME_ENV,
    LEGACY_JOURNAL,
    LOCK_FILE,
    MARK_FLAGS,
    SCHEMA_VERSION,
    JobRecord,
    StoreUnavailableError,
    StoreWarning,
    UnconfirmedAttempt,
    batch_key,
    default_home,
    problem_sentence,
    public_key_id,
    refuse_outside_symlink,
)

__all__ = [
    "APPLICATION_ID",
    "BUSY_TIMEOUT_MS",
    "DB_FILE",
    "HOME_ENV",
    "LEGACY_JOURNAL",
    "LOCK_FILE",
    "MARK_FLAGS",
    "SCHEMA_VERSION",
    "JobRecord",
    "LocalStore",
    "StoreUnavailableError",
    "StoreWarning",
    "UnconfirmedAttempt",
    "batch_key",
    "default_home",
    "forget_stores",
    "open_store",
    "problem_sentence",
    "public_key_id",
    "refuse_outside_symlink",
]
