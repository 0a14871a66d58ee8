"""What the store holds and says: its constants, job records, warnings and the sentences that say
why the file cannot be used.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import platformdirs

from ...contract import key_id_of

HOME_ENV = "QAMERA_WIDGETS_HOME"
DB_FILE = "store.sqlite3"
LEGACY_JOURNAL = "journal.jsonl"
LOCK_FILE = "store.lock"
SCHEMA_VERSION = 2
APPLICATION_ID = 0x51574731  # "QWG1": tells our file from another program's SQLite database
BUSY_TIMEOUT_MS = 30_000
MARK_FLAGS = ("pick", "reject", "")
NOT_SAVED = "until then jobs and marks are kept in memory for this session only and are not being saved."


class StoreWarning(UserWarning):
    """Something in the store could not be read or saved; the message says what to do."""


class StoreUnavailableError(OSError):
    """A job could not be saved; `strerror` is the sentence saying what to change. It is kept in memory."""


def default_home() -> Path:
    """`$QAMERA_WIDGETS_HOME`, else the platform's per-user data directory."""
    home = os.environ.get(HOME_ENV, "").strip()
    return Path(home).expanduser() if home else Path(platformdirs.user_data_dir("qamera-widgets"))


def batch_key(batch_id: str, record_ids: Iterable[str]) -> str:
    """What identifies one job: its batch id, or its record ids when the server gave no batch id."""
    return batch_id or ",".join(record_ids)


def public_key_id(key_id: str | None) -> str | None:
    """The key's public id, also when a whole key was passed by mistake: the secret never lands on disk or
    in a registry's key. None (no key named) stays None, so a query over every key stays one."""
    if not key_id:
        return None
    key_id = key_id.strip()
    return key_id_of(key_id) or key_id.split(".", 1)[0]


@dataclass(frozen=True)
class JobRecord:
    """One registered job as the store replays it, with the final statuses known so far."""

    base_url: str
    key_id: str | None
    prompt: str
    count: int
    record_ids: tuple[str, ...]
    batch_id: str
    order_id: str
    reservation_id: str
    credits_reserved: int
    submitted_at: datetime
    final: dict[str, str] = field(default_factory=dict)
    idempotency_key: str = ""
    comparison: str = ""
    """Shared by the jobs of one comparison, so a later session draws them as one again."""
    template: str = ""
    parts: tuple[tuple[str, bool], ...] = ()
    retry_of: str = ""
    """The key of the job whose failed pictures this one generates again ("Retry N failed"); '' if none."""

    @property
    def key(self) -> str:
        return batch_key(self.batch_id, self.record_ids)

    @property
    def unfinished_ids(self) -> tuple[str, ...]:
        """Records with no terminal status recorded yet: the ones a resumed board must watch."""
        return tuple(i for i in self.record_ids if i not in self.final)


@dataclass(frozen=True)
class UnconfirmedAttempt:
    """A POST whose answer never arrived: the job may exist and be charged, or may not exist at all.

    Resending `prompt` and `count` with `idempotency_key` is the safe way to find out: a server that
    honours the key replays the job it created instead of charging again.
    """

    base_url: str
    key_id: str | None
    prompt: str
    count: int
    idempotency_key: str
    attempted_at: datetime


def _same_folder(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def refuse_outside_symlink(path: Path, folder: Path) -> None:
    """Refuse a store file that is a symlink leading out of its folder: writing through it would append to
    whatever it points at (as root, any file). A link to a file inside the folder is harmless."""
    if path.is_symlink() and not _same_folder(path, folder):
        raise Refused(
            f"The local store file {path} is a symbolic link to {os.readlink(path)}, outside {folder}; "
            f"it is not written through. Replace the link with a real file or remove it, or set {HOME_ENV} "
            f"to another folder, and restart the kernel; {NOT_SAVED}"
        )


class Refused(Exception):
    """The store file cannot be used; the message is the sentence for the person."""


# SQLite's primary result codes (sqlite3 has them from Python 3.11 on, but its type stubs do not).
_SQLITE_PERM, _SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_CORRUPT = 3, 8, 10, 11
_SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 13, 14, 26
SQLITE_BUSY, SQLITE_LOCKED = 5, 6


def error_code(exc: BaseException) -> int:
    return int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


def busy_sentence(path: Path) -> str:
    return (
        f"The local store {path} is busy: another kernel has held it for {BUSY_TIMEOUT_MS // 1000} s. This "
        "write was not saved (for a job: keep its batch id); restart a kernel that seems stuck, then retry."
    )


def problem_sentence(exc: BaseException, path: Path) -> str:
    """The one sentence for a store that cannot be used, naming what to fix."""
    fix = f"or set {HOME_ENV} to a folder you can write to"
    then = f"and restart the kernel; {NOT_SAVED}"
    if isinstance(exc, Refused):
        return str(exc)
    if isinstance(exc, sqlite3.Error):
        code = error_code(exc)
        if code == _SQLITE_FULL:
            return f"Cannot save the local store {path}: the disk is full. Free some space, {fix}, {then}"
        if code in (_SQLITE_READONLY, _SQLITE_PERM, _SQLITE_CANTOPEN):
            return (
                f"Cannot write the local store {path}: its folder is read-only or not accessible. Give "
                f"yourself write access to {path.parent}, {fix}, {then}"
            )
        if code == _SQLITE_IOERR:
            return (
                f"Cannot save the local store {path}: writing to the disk failed (is it full, or a file size "
                f"limit reached?). Free some space, {fix}, {then}"
            )
        if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
            return (
                f"The local store {path} is damaged (not a readable database). Move that file away (it is "
                f"left as it is), {fix}, {then}"
            )
        return f"Cannot use the local store {path} ({exc}); {fix}, {then}"
    if isinstance(exc, OSError):
        if exc.errno in (28, 27):  # ENOSPC, EFBIG
            return f"Cannot save the local store {path}: the disk is full. Free some space, {fix}, {then}"
        if isinstance(exc, IsADirectoryError):
            return (
                f"Cannot use the local store: {path} is a folder, not a file. Move that folder away, {fix}, "
                f"{then}"
            )
        if isinstance(exc, (NotADirectoryError, FileExistsError)):
            return (
                f"Cannot use the local store {path}: a part of its folder path ({path.parent}) is a file, "
                f"not a folder. Remove or rename that file, {fix}, {then}"
            )
        if isinstance(exc, PermissionError) or exc.errno == 30:  # EROFS
            return (
                f"Cannot write the local store {path}: permission denied (a read-only folder?). Give "
                f"yourself write access to {path.parent}, {fix}, {then}"
            )
        return f"Cannot use the local store {path} ({exc.strerror or type(exc).__name__}); {fix}, {then}"
    return f"Cannot use the local store {path} ({type(exc).__name__}); {fix}, {then}"
