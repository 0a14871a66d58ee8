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
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import platformdirs

from ..client.models import parse_timestamp
from ..client.rules import utc_now
from ..contract import TERMINAL_STATUSES, key_id_of
from .registry import ProcessWide

try:
    import fcntl
except ImportError:  # Windows: SQLite's own busy timeout then orders the kernels' writes
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "DB_FILE",
    "HOME_ENV",
    "MARK_FLAGS",
    "SCHEMA_VERSION",
    "JobRecord",
    "LocalStore",
    "StoreUnavailableError",
    "StoreWarning",
    "UnconfirmedAttempt",
    "batch_key",
    "default_home",
    "open_store",
]

logger = logging.getLogger(__name__)

HOME_ENV = "QAMERA_WIDGETS_HOME"
DB_FILE = "store.sqlite3"
LEGACY_JOURNAL = "journal.jsonl"
LOCK_FILE = "store.lock"
SCHEMA_VERSION = 1
APPLICATION_ID = 0x51574731  # "QWG1": tells our file from another program's SQLite database
BUSY_TIMEOUT_MS = 30_000
MARK_FLAGS = ("pick", "reject", "")
_NOT_SAVED = "until then jobs and marks are kept in memory for this session only and are not being saved."


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
    """Keep only the key id even if a caller passed a whole key by mistake: the secret never lands on disk."""
    if not key_id:
        return None
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

_MIGRATIONS: dict[int, str] = {1: _SCHEMA}
"""Schema version -> the script that brings version-1 to it. A new version adds a step here; a file from
a newer version of the package is refused with a sentence rather than written in a shape it does not know."""

_REGISTRATION_COLUMNS = (
    "base_url, key_id, prompt, count, record_ids, batch_id, order_id, reservation_id, credits_reserved, "
    "submitted_at, idempotency_key, comparison, template, parts, seq"
)


def _text(value: str) -> str | bytes:
    """Text for a column; a lone surrogate (an id a server sent) cannot be UTF-8, so it goes in as a
    blob of its surrogate-pass bytes and comes back unchanged: a charged job is never refused over it."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass")
    return value


def _untext(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogatepass")
    return str(value)


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"))


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
        raise _Refused(
            f"The local store file {path} is a symbolic link to {os.readlink(path)}, outside {folder}; "
            f"it is not written through. Replace the link with a real file or remove it, or set {HOME_ENV} "
            f"to another folder, and restart the kernel; {_NOT_SAVED}"
        )


class _Refused(Exception):
    """The store file cannot be used; the message is the sentence for the person."""


# SQLite's primary result codes (sqlite3 has them from Python 3.11 on, but its type stubs do not).
_SQLITE_PERM, _SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_CORRUPT = 3, 8, 10, 11
_SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 13, 14, 26
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6


def _code_of(exc: BaseException) -> int:
    return int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


def _busy_sentence(path: Path) -> str:
    return (
        f"The local store {path} is busy: another kernel has held it for {BUSY_TIMEOUT_MS // 1000} s. This "
        "write was not saved (for a job: keep its batch id); restart a kernel that seems stuck, then retry."
    )


def problem_sentence(exc: BaseException, path: Path) -> str:
    """The one sentence for a store that cannot be used, naming what to fix."""
    fix = f"or set {HOME_ENV} to a folder you can write to"
    then = f"and restart the kernel; {_NOT_SAVED}"
    if isinstance(exc, _Refused):
        return str(exc)
    if isinstance(exc, sqlite3.Error):
        code = _code_of(exc)
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


_BUDGET_TABLE = (
    "CREATE TABLE IF NOT EXISTS key_budgets (scope TEXT PRIMARY KEY, reserved INTEGER NOT NULL, "
    "updated_at TEXT NOT NULL)"
)


class LocalStore:
    """The store in `folder` (default `default_home()`): `folder/store.sqlite3`, plus the picture cache in
    `folder/pictures/` (see `engine.picture_cache`). Use `open_store()` for the process-wide one per
    folder: every widget in a kernel then shares one connection and one in-memory fallback."""

    def __init__(self, folder: str | os.PathLike[str] | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_home()
        self.path = self.folder / DB_FILE
        self.problem = ""
        """The sentence saying why the store is not being saved ("" while it is)."""
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._warned = False
        self._imported: set[str] = set()
        self._writes = 0
        self._lock_fd: int | None = None
        self._answers: dict[tuple[Any, ...], tuple[tuple[int, int], list[JobRecord]]] = {}

    def __repr__(self) -> str:
        state = "in memory only" if self.problem else "saved"
        return f"LocalStore({str(self.folder)!r}, {state})"

    @classmethod
    def default(cls) -> LocalStore:
        """The process-wide store for the current `QAMERA_WIDGETS_HOME` (or the platform's data folder)."""
        return open_store()

    @property
    def saved(self) -> bool:
        """Whether writes reach the file (False: memory only, `problem` says why)."""
        self._connection()
        return not self.problem

    # -- connection -------------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        with self._lock:
            if self._db is None:
                try:
                    self._db = self._open_file()
                except (OSError, sqlite3.Error, _Refused) as exc:
                    self._fall_back(exc, copy=not isinstance(exc, _Refused))
            assert self._db is not None
            return self._db

    def _open_file(self) -> sqlite3.Connection:
        self.folder.mkdir(parents=True, exist_ok=True)
        refuse_outside_symlink(self.path, self.folder)
        if self.path.is_dir():
            raise IsADirectoryError(21, "Is a directory", str(self.path))
        created = not self.path.exists()
        db = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        try:
            db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            _prepare(db, self.path, wal=True)
        except BaseException:
            db.close()
            raise
        if created:
            _sync_directory(self.folder)
        return db

    def _fall_back(self, exc: BaseException, *, copy: bool) -> None:
        """Carry on in memory (with what the file held, when it can still be read) and keep the sentence."""
        if self.problem:
            return
        self.problem = problem_sentence(exc, self.path)
        logger.warning("%s", self.problem)
        self._answers.clear()
        old, self._db = self._db, None
        memory = _copy_of(old, self.path) if copy else None
        if old is not None:
            with suppress(sqlite3.Error):
                old.close()
        if memory is None:
            memory = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            _prepare(memory, self.path, wal=False)
        self._db = memory

    def warn_if_unsaved(self, stacklevel: int = 3) -> None:
        """Say once (a warning and the log) that the store is not being saved; reads call this."""
        if self.problem and not self._warned:
            self._warned = True
            warnings.warn(self.problem, StoreWarning, stacklevel=stacklevel + 1)

    @contextmanager
    def _write(self, *, durable_or_raise: bool) -> Iterator[sqlite3.Connection]:
        """One transaction. On the file's failure the store moves to memory and the write is redone there;
        `durable_or_raise` then raises `StoreUnavailableError` (a job's write), else it only warns."""
        with self._lock, self._kernels_in_turn():
            db = self._connection()
            saved = not self.problem
            self._writes += 1
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                    db.execute("COMMIT")
                except BaseException:
                    _roll_back(db)
                    raise
            except (sqlite3.Error, OSError) as exc:
                if not saved or isinstance(exc, sqlite3.IntegrityError):
                    raise
                if _code_of(exc) in (_SQLITE_BUSY, _SQLITE_LOCKED):
                    # Another kernel held the file too long: the file is fine, so no move to memory.
                    raise StoreUnavailableError(0, _busy_sentence(self.path), str(self.path)) from exc
                self._fall_back(exc, copy=True)
                raise _Redo() from exc
            if not saved and durable_or_raise:
                raise StoreUnavailableError(0, self.problem, str(self.path))

    @contextmanager
    def _kernels_in_turn(self) -> Iterator[None]:
        """One writer at a time across processes, woken the moment the other is done: SQLite's busy
        handler sleeps in growing steps instead, which halves two kernels' write rate."""
        if fcntl is None or self.problem:
            yield
            return
        if self._lock_fd is None:
            try:
                self._lock_fd = os.open(
                    self.folder / LOCK_FILE, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600
                )
            except OSError:  # the write itself will say what is wrong with the folder
                yield
                return
        fd = self._lock_fd
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        held = False
        while not held:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held = True
            except BlockingIOError:
                if time.monotonic() > deadline:  # a kernel stuck mid-write: SQLite's timeout decides
                    break
                time.sleep(0.0005)
        try:
            yield
        finally:
            if held:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _run(self, work: Any, *, durable_or_raise: bool) -> None:
        """`work(db)` in one write transaction, redone in memory if the file fails meanwhile."""
        for _ in range(2):
            try:
                with self._write(durable_or_raise=durable_or_raise) as db:
                    work(db)
                return
            except _Redo:
                continue
        raise StoreUnavailableError(0, self.problem, str(self.path))  # pragma: no cover - memory cannot fail

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            db = self._connection()
            try:
                return db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                if self.problem:
                    raise
                self._fall_back(exc, copy=True)
            assert self._db is not None
            return self._db.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None

    # -- jobs -------------------------------------------------------------------------------------

    def record_registration(self, entry: Mapping[str, Any]) -> None:
        """Save a confirmed job (fields as in `JobRecord`); returns once it is on disk (`synchronous=FULL`).

        Raises `StoreUnavailableError` when it could only be kept in memory: tell the person to keep the
        batch id."""
        self._run(lambda db: _insert_registration(db, entry), durable_or_raise=True)

    def record_unconfirmed(self, entry: Mapping[str, Any]) -> None:
        """Save a submission the server may have charged without confirming it, so it is not forgotten."""
        self._run(lambda db: _insert_unconfirmed(db, entry), durable_or_raise=True)

    def record_final(self, base_url: str, statuses: Mapping[str, str], recorded_at: str = "") -> None:
        """Save the terminal statuses among `statuses` (others, e.g. a local TIMED_OUT, stay pending)."""
        final = {
            str(i): s.upper()
            for i, s in statuses.items()
            if isinstance(s, str) and s.upper() in TERMINAL_STATUSES
        }
        if final:
            when = recorded_at or utc_now().isoformat()
            self._run(lambda db: _insert_finals(db, base_url, final, when), durable_or_raise=True)

    def jobs(
        self,
        *,
        base_url: str | None = None,
        key_id: str | None = None,
        pending_only: bool = False,
        latest: int | None = None,
    ) -> list[JobRecord]:
        """Recorded jobs in the order they were saved (only the `latest` n when given), optionally of one
        server and key id, optionally only those with a record whose final status is unknown."""
        wanted_key = public_key_id(key_id)
        with self._lock:
            version = self._version()
            question = (base_url, wanted_key, pending_only, latest)
            answer = self._answers.get(question)
            if answer is not None and answer[0] == version:
                self.warn_if_unsaved()
                return list(answer[1])
            jobs = self._jobs(base_url, wanted_key, pending_only, latest)
            if self._answers and next(iter(self._answers.values()))[0] != version:
                self._answers.clear()
            self._answers[question] = (version, jobs)
        self.warn_if_unsaved()
        return list(jobs)

    def _version(self) -> tuple[int, int]:
        """Changes by this connection and by any other since it opened: an unchanged pair means an
        answer computed before is still right (several views starting at once read the store once)."""
        db = self._connection()
        try:
            other = int(db.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:
            other = -1
        return self._writes, other

    def _jobs(
        self, base_url: str | None, key_id: str | None, pending_only: bool, latest: int | None
    ) -> list[JobRecord]:
        where, params = _where(base_url, key_id)
        if pending_only:
            where.append("open_count > 0")
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        if latest is not None:
            sql = (
                f"SELECT * FROM (SELECT {_REGISTRATION_COLUMNS} FROM registrations {clause} "
                f"ORDER BY seq DESC LIMIT ?) ORDER BY seq"
            )
            rows = self._read(sql, [*params, max(0, latest)])
        else:
            rows = self._read(
                f"SELECT {_REGISTRATION_COLUMNS} FROM registrations {clause} ORDER BY seq", params
            )
        if not rows:
            return []
        finals = self._finals_of([row[-1] for row in rows], base_url, key_id, pending_only)
        return [_job_of(row, finals.get(row[-1], {})) for row in rows]

    def _finals_of(
        self, seqs: list[int], base_url: str | None, key_id: str | None, pending_only: bool
    ) -> dict[int, dict[str, str]]:
        """The final statuses of the jobs `seqs` (ascending), in one join over their range of the table."""
        where, params = _where(base_url, key_id, "g.")
        if pending_only:
            where.append("g.open_count > 0")
        where.append("g.seq BETWEEN ? AND ?")
        params.extend((seqs[0], seqs[-1]))
        sql = (
            "SELECT r.seq, r.record_id, f.status FROM registrations g JOIN records r ON r.seq = g.seq "
            "JOIN finals f ON f.base_url = r.base_url AND f.record_id = r.record_id "
            f"WHERE {' AND '.join(where)}"
        )
        wanted = set(seqs)
        finals: dict[int, dict[str, str]] = {}
        for seq, record_id, status in self._read(sql, params):
            if seq in wanted:
                finals.setdefault(seq, {})[_untext(record_id)] = status
        return finals

    def unconfirmed(
        self, *, base_url: str | None = None, key_id: str | None = None
    ) -> list[UnconfirmedAttempt]:
        """Submissions still in doubt (never confirmed later under the same idempotency key by the same
        server), oldest first."""
        where, params = _where(base_url, public_key_id(key_id))
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self._read(
            "SELECT base_url, key_id, prompt, count, idempotency_key, attempted_at FROM unconfirmed "
            f"{clause} ORDER BY seq",
            params,
        )
        self.warn_if_unsaved()
        return [
            UnconfirmedAttempt(
                base_url=_untext(url),
                key_id=None if kid is None else _untext(kid),
                prompt=_untext(prompt),
                count=int(count),
                idempotency_key=_untext(key),
                attempted_at=_time(attempted),
            )
            for url, kid, prompt, count, key, attempted in rows
        ]

    def prompts(self, base_url: str, record_ids: Iterable[str]) -> dict[str, tuple[str, int]]:
        """record id -> (the prompt that made it, its position in its job), for the ids the store knows."""
        ids = [_text(i) for i in dict.fromkeys(record_ids)]
        found: dict[str, tuple[str, int]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = self._read(
                "SELECT r.record_id, g.prompt, r.position FROM records r "
                "JOIN registrations g ON g.seq = r.seq "
                f"WHERE r.base_url = ? AND r.record_id IN ({','.join('?' * len(chunk))})",
                [_text(base_url), *chunk],
            )
            for record_id, prompt, position in rows:
                found[_untext(record_id)] = (_untext(prompt), int(position))
        return found

    # -- marks ------------------------------------------------------------------------------------

    def marks(self, base_url: str, key_id: str) -> dict[str, tuple[str, int]]:
        """scenery id -> (flag, stars) for one server and key id; flag is "pick", "reject" or ""."""
        rows = self._read(
            "SELECT scenery_id, flag, stars FROM marks WHERE base_url = ? AND key_id = ?",
            [_text(base_url), _text(public_key_id(key_id) or "")],
        )
        self.warn_if_unsaved()
        return {_untext(sid): (str(flag), int(stars)) for sid, flag, stars in rows}

    def set_marks(self, base_url: str, key_id: str, marks: Mapping[str, tuple[str, int]]) -> None:
        """Save several marks in one transaction, durable on return; ("", 0) deletes a mark.

        Raises ValueError for a flag or star count out of range (nothing is saved then). Never raises for
        the disk: the marks are then kept in memory and `problem` says why (also warned once)."""
        checked = [(str(sid), *_checked_mark(mark)) for sid, mark in marks.items()]
        if not checked:
            return
        url, kid, now = _text(base_url), _text(public_key_id(key_id) or ""), utc_now().isoformat()

        def work(db: sqlite3.Connection) -> None:
            for sid, flag, stars in checked:
                if not flag and not stars:
                    db.execute(
                        "DELETE FROM marks WHERE base_url = ? AND key_id = ? AND scenery_id = ?",
                        (url, kid, _text(sid)),
                    )
                else:
                    db.execute(
                        "INSERT INTO marks VALUES (?, ?, ?, ?, ?, ?) "
                        "ON CONFLICT (base_url, key_id, scenery_id) DO UPDATE SET flag = excluded.flag, "
                        "stars = excluded.stars, updated_at = excluded.updated_at",
                        (url, kid, _text(sid), flag, stars, now),
                    )

        try:
            self._run(work, durable_or_raise=False)
        except StoreUnavailableError as exc:  # busy: marks never raise into a view
            warnings.warn(exc.strerror or "", StoreWarning, stacklevel=2)
            logger.warning("%s", exc.strerror)
        self.warn_if_unsaved()

    # -- a key's budget (QAMERA_KEY_BUDGET) -------------------------------------------------------

    def book_credits(self, scope: str, limit: int, credits: int) -> tuple[bool, int]:
        """Add `credits` (negative: give back) to what every kernel on `scope` (a key) reserved, unless that
        would pass `limit`; (booked, reserved total) in one transaction, so kernels cannot both slip under.
        The table is made on first use (no schema step: older versions just never look at it)."""
        result: list[tuple[bool, int]] = []

        def work(db: sqlite3.Connection) -> None:
            db.execute(_BUDGET_TABLE)
            row = db.execute("SELECT reserved FROM key_budgets WHERE scope = ?", (scope,)).fetchone()
            reserved = int(row[0]) if row else 0
            wanted = max(0, reserved + credits)
            booked = credits <= 0 or wanted <= limit
            if booked and credits:
                db.execute(
                    "INSERT INTO key_budgets VALUES (?, ?, ?) ON CONFLICT (scope) DO UPDATE SET "
                    "reserved = excluded.reserved, updated_at = excluded.updated_at",
                    (scope, wanted, utc_now().isoformat()),
                )
            result.clear()
            result.append((booked, wanted if booked else reserved))

        self._run(work, durable_or_raise=False)
        return result[0]

    # -- the old journal --------------------------------------------------------------------------

    def import_journal(self, path: str | os.PathLike[str]) -> int:
        """Bring an old `journal.jsonl` into the store, then rename it (`.imported`), never delete it.

        One transaction: a second kernel opening meanwhile sees all of it or none of it, and importing the
        same content twice (a rename that failed) is recognised by its hash and skipped. Bad lines are
        skipped with one warning. Returns how many entries were imported."""
        source = Path(path)
        try:
            refuse_outside_symlink(source, source.parent)
            content = source.read_bytes()
        except FileNotFoundError:
            return 0
        except (OSError, _Refused) as exc:
            message = problem_sentence(exc, source) if isinstance(exc, OSError) else str(exc)
            warnings.warn(message, StoreWarning, stacklevel=2)
            logger.warning("%s", message)
            return 0
        digest = hashlib.sha256(content).hexdigest()
        if digest in self._imported:
            return 0
        skipped: list[tuple[int, str]] = []
        entries = list(_parse_journal(content, skipped))
        if skipped:
            numbers = ", ".join(str(n) for n, _ in skipped[:10]) + (" ..." if len(skipped) > 10 else "")
            noun = "line" if len(skipped) == 1 else "lines"
            message = (
                f"Skipped {noun} {numbers} of the journal {source} while moving it into the local store: "
                f"not a complete entry ({skipped[0][1]}). The other entries were imported as usual."
            )
            warnings.warn(message, StoreWarning, stacklevel=2)
            logger.warning("%s", message)
        imported = 0

        def work(db: sqlite3.Connection) -> None:
            nonlocal imported
            if db.execute("SELECT 1 FROM imports WHERE sha256 = ?", (digest,)).fetchone():
                return
            _import_entries(db, entries)
            db.execute(
                "INSERT INTO imports VALUES (?, ?, ?, ?, ?)",
                (digest, _text(str(source)), len(entries), len(skipped), utc_now().isoformat()),
            )
            imported = len(entries)

        try:
            self._run(work, durable_or_raise=True)
        except StoreUnavailableError:
            return imported  # kept in memory; the file stays where it is for a later session
        self._imported.add(digest)
        try:
            source.rename(source.with_name(source.name + ".imported"))
        except OSError as exc:  # imported all the same; the hash keeps it from being imported twice
            logger.info("could not rename the imported journal %s: %s", source, exc)
        return imported

    # -- figures ----------------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """How many jobs, records, final statuses, unconfirmed attempts and marks the store holds."""
        figures = {}
        for name, table in (
            ("jobs", "registrations"),
            ("records", "records"),
            ("finals", "finals"),
            ("unconfirmed", "unconfirmed"),
            ("marks", "marks"),
        ):
            figures[name] = int(self._read(f"SELECT COUNT(*) FROM {table}")[0][0])
        return figures


class _Redo(Exception):
    """The file failed mid-write; the store is in memory now and the write is done again there."""


def _prepare(db: sqlite3.Connection, path: Path, *, wal: bool) -> None:
    """Check the file is ours and current, bring its schema up to date (one transaction per step)."""
    application_id = db.execute("PRAGMA application_id").fetchone()[0]
    version = db.execute("PRAGMA user_version").fetchone()[0]
    tables = db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]
    if tables and application_id != APPLICATION_ID:
        raise _Refused(
            f"The file {path} is not a qamera-widgets store (another program's database?). Move it away or "
            f"set {HOME_ENV} to another folder, and restart the kernel; {_NOT_SAVED}"
        )
    if version > SCHEMA_VERSION:
        raise _Refused(
            f"The local store {path} was written by a newer qamera-widgets (schema {version}, this one reads "
            f"{SCHEMA_VERSION}). Upgrade qamera-widgets, or set {HOME_ENV} to another folder, and restart "
            f"the kernel; {_NOT_SAVED}"
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
            _roll_back(db)
            raise
        version = db.execute("PRAGMA user_version").fetchone()[0]


def _roll_back(db: sqlite3.Connection) -> None:
    try:
        if db.in_transaction:
            db.execute("ROLLBACK")
    except sqlite3.Error:  # a broken file: the connection is dropped for memory anyway
        pass


def _copy_of(db: sqlite3.Connection | None, path: Path) -> sqlite3.Connection | None:
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
        _prepare(memory, path, wal=False)
    except (sqlite3.Error, _Refused, OSError):
        memory.close()
        return None
    finally:
        if source is not None and source is not db:
            source.close()
    return memory


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def _sync_directory(folder: Path) -> None:
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


def _where(base_url: str | None, key_id: str | None, prefix: str = "") -> tuple[list[str], list[Any]]:
    where, params = [], []
    if base_url is not None:
        where.append(f"{prefix}base_url = ?")
        params.append(_text(base_url))
    if key_id is not None:
        where.append(f"{prefix}key_id = ?")
        params.append(_text(key_id))
    return where, params


def _time(value: object) -> datetime:
    parsed = parse_timestamp(_untext(value))
    return (parsed or datetime(1970, 1, 1, tzinfo=timezone.utc)).astimezone(timezone.utc)


def _job_of(row: Sequence[Any], final: dict[str, str]) -> JobRecord:
    (
        url,
        kid,
        prompt,
        count,
        ids,
        batch,
        order,
        reservation,
        credits,
        submitted,
        idem,
        comp,
        tmpl,
        parts,
        _,
    ) = row
    return JobRecord(
        base_url=_untext(url),
        key_id=None if kid is None else _untext(kid),
        prompt=_untext(prompt),
        count=int(count),
        record_ids=tuple(json.loads(ids)),
        batch_id=_untext(batch),
        order_id=_untext(order),
        reservation_id=_untext(reservation),
        credits_reserved=int(credits),
        submitted_at=_time(submitted),
        final=final,
        idempotency_key=_untext(idem),
        comparison=_untext(comp),
        template=_untext(tmpl),
        parts=tuple((str(t), bool(v)) for t, v in json.loads(parts)),
    )


def _iso(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


_INSERT_REGISTRATION = (
    "INSERT OR IGNORE INTO registrations (base_url, job_key, key_id, prompt, count, record_ids, "
    "batch_id, order_id, reservation_id, credits_reserved, idempotency_key, submitted_at, comparison, "
    "template, parts, open_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _registration_row(entry: Mapping[str, Any]) -> tuple[Any, ...]:
    ids = [str(i) for i in entry["record_ids"]]
    batch_id = str(entry.get("batch_id") or "")
    comparison = str(entry.get("comparison") or "")
    parts = [list(p) for p in entry.get("parts") or ()] if comparison else []
    return (
        _text(entry["base_url"]),
        _text(batch_key(batch_id, ids)),
        None if entry.get("key_id") is None else _text(str(public_key_id(entry["key_id"]))),
        _text(str(entry["prompt"])),
        int(entry["count"]),
        _dumps(ids),
        _text(batch_id),
        _text(str(entry.get("order_id") or "")),
        _text(str(entry.get("reservation_id") or "")),
        int(entry["credits_reserved"]),
        _text(str(entry.get("idempotency_key") or "")),
        _iso(entry["submitted_at"]),
        _text(comparison),
        _text(str(entry.get("template") or "") if comparison else ""),
        _dumps(parts),
    )


def _insert_registration(db: sqlite3.Connection, entry: Mapping[str, Any]) -> None:
    row = _registration_row(entry)
    cursor = db.execute(_INSERT_REGISTRATION, (*row, 0))
    if cursor.rowcount == 1:  # a replayed POST confirms the same job twice: the first one stays
        seq = cursor.lastrowid
        ids = json.loads(row[5])
        db.executemany(
            "INSERT INTO records VALUES (?, ?, ?, ?)", [(row[0], _text(i), seq, n) for n, i in enumerate(ids)]
        )
        _recount(db, "seq = ?", (seq,))
    if entry.get("idempotency_key"):
        db.execute("DELETE FROM unconfirmed WHERE base_url = ? AND idempotency_key = ?", (row[0], row[10]))


def _import_entries(db: sqlite3.Connection, entries: Sequence[Mapping[str, Any]]) -> None:
    """An old journal's entries in bulk, with the journal's rules: the first confirmation of a job stays,
    a confirmation settles an earlier unconfirmed attempt under its key, the last final status counts."""
    before = int(db.execute("SELECT COALESCE(MAX(seq), 0) FROM registrations").fetchone()[0])
    registrations: list[tuple[Any, ...]] = []
    attempts: dict[tuple[str, str], Mapping[str, Any]] = {}
    finals: dict[tuple[str, str], tuple[str, str]] = {}
    for entry in entries:
        kind, url = entry["type"], entry["base_url"]
        if kind == "registration":
            registrations.append(_registration_row(entry))
            if entry["idempotency_key"]:
                attempts.pop((url, entry["idempotency_key"]), None)
        elif kind == "unconfirmed":
            attempts.setdefault((url, entry["idempotency_key"]), entry)
        else:
            when = str(entry.get("recorded_at", ""))
            for record_id, status in entry["statuses"].items():
                if status in TERMINAL_STATUSES:
                    finals[(url, record_id)] = (status, when)
    fresh = not before and not db.execute("SELECT 1 FROM finals LIMIT 1").fetchone()
    # Into an empty store the open counts are known here; otherwise SQL counts them below.
    db.executemany(
        _INSERT_REGISTRATION,
        [(*row, _open_count(row, finals) if fresh else 0) for row in registrations],
    )
    added = db.execute("SELECT seq, base_url, record_ids FROM registrations WHERE seq > ?", (before,))
    db.executemany(
        "INSERT INTO records VALUES (?, ?, ?, ?)",
        [
            (url, _text(i), seq, n)
            for seq, url, ids in added.fetchall()
            for n, i in enumerate(json.loads(ids))
        ],
    )
    db.executemany(
        "DELETE FROM unconfirmed WHERE base_url = ? AND idempotency_key = ?",
        [(row[0], row[10]) for row in registrations if row[10]],
    )
    for entry in attempts.values():
        _insert_unconfirmed(db, entry)
    db.executemany(
        "INSERT OR REPLACE INTO finals VALUES (?, ?, ?, ?)",
        [(_text(url), _text(i), status, when) for (url, i), (status, when) in finals.items()],
    )
    if not fresh:  # finals may finish jobs the store already had
        _recount(db, "1", ())


def _open_count(row: tuple[Any, ...], finals: Mapping[tuple[str, str], object]) -> int:
    url = _untext(row[0])
    return sum(1 for i in set(json.loads(row[5])) if (url, i) not in finals)


def _recount(db: sqlite3.Connection, where: str, params: Sequence[Any]) -> None:
    """Keep `open_count` (records without a final status) right, so `pending` is one indexed query."""
    db.execute(
        "UPDATE registrations SET open_count = (SELECT COUNT(DISTINCT r.record_id) FROM records r "
        "WHERE r.seq = registrations.seq AND NOT EXISTS (SELECT 1 FROM finals f "
        f"WHERE f.base_url = r.base_url AND f.record_id = r.record_id)) WHERE {where}",
        params,
    )


def _insert_unconfirmed(db: sqlite3.Connection, entry: Mapping[str, Any]) -> None:
    db.execute(
        "INSERT OR IGNORE INTO unconfirmed (base_url, idempotency_key, key_id, prompt, count, attempted_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (
            _text(entry["base_url"]),
            _text(str(entry["idempotency_key"])),
            None if entry.get("key_id") is None else _text(str(public_key_id(entry["key_id"]))),
            _text(str(entry["prompt"])),
            int(entry["count"]),
            _iso(entry["attempted_at"]),
        ),
    )


def _insert_finals(db: sqlite3.Connection, base_url: str, statuses: Mapping[str, str], when: str) -> None:
    url = _text(base_url)
    rows = [(url, _text(i), s, when) for i, s in statuses.items() if s in TERMINAL_STATUSES]
    if not rows:
        return
    db.executemany("INSERT OR REPLACE INTO finals VALUES (?, ?, ?, ?)", rows)
    ids = [r[1] for r in rows]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        _recount(
            db,
            "seq IN (SELECT seq FROM records WHERE base_url = ? "
            f"AND record_id IN ({','.join('?' * len(chunk))}))",
            (url, *chunk),
        )


def _checked_mark(mark: object) -> tuple[str, int]:
    """The last line of defence: the review code validates marks; a wrong one still never reaches the file."""
    if not isinstance(mark, tuple) or len(mark) != 2:
        raise ValueError(f"a mark is a (flag, stars) pair, not {mark!r}")
    flag, stars = mark
    if flag not in MARK_FLAGS:
        raise ValueError(f"a mark's flag must be 'pick', 'reject' or '', not {flag!r}")
    if isinstance(stars, bool) or not isinstance(stars, int) or not 0 <= stars <= 5:
        raise ValueError(f"a mark's stars must be a whole number from 0 to 5, not {stars!r}")
    return str(flag), stars


# -- reading an old journal.jsonl (what the journal module validated, kept for the import) ----------------


def _parse_journal(content: bytes, skipped: list[tuple[int, str]]) -> Iterator[dict[str, Any]]:
    """The valid entries of a JSON-lines journal; every other line lands in `skipped` with its number.

    Whatever a line holds (nesting deep enough for RecursionError, 1e999, wrong types) it is skipped, never
    fatal: the import exists so that the other lines are not lost."""
    lines = content.split(b"\n")
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            entry = _validated(json.loads(raw.decode("utf-8")))
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"[:200]
            if number == len(lines):
                reason = "the line is incomplete; the last write may have been cut off"
            skipped.append((number, reason))
            continue
        if entry is not None:
            yield entry


def _validated(entry: object) -> dict[str, Any] | None:
    """The entry with its fields checked and normalised; None for kinds this version does not know."""
    if not isinstance(entry, dict):
        raise TypeError("a line should hold a JSON object")
    kind = entry["type"]
    if not isinstance(entry["base_url"], str):
        raise TypeError("base_url should be text")
    if kind == "final":
        statuses = entry["statuses"]
        if not isinstance(statuses, dict) or not all(isinstance(s, str) for s in statuses.values()):
            raise TypeError("statuses should map ids to text")
        return {**entry, "statuses": {str(i): s.upper() for i, s in statuses.items()}}
    if kind == "unconfirmed":
        return _validated_unconfirmed(entry)
    if kind != "registration":
        return None
    ids = entry["record_ids"]
    if not isinstance(ids, list) or not all(isinstance(i, (str, int)) for i in ids):
        raise TypeError("record_ids should be a list of ids")
    submitted_at = parse_timestamp(entry["submitted_at"])
    if submitted_at is None:
        raise ValueError("submitted_at is not an ISO time")
    count, credits = _whole_number(entry["count"]), entry["credits_reserved"]
    if isinstance(credits, bool) or not isinstance(credits, (int, float)):
        raise TypeError("credits_reserved should be a number")
    key_id = entry.get("key_id")
    return {
        "type": kind,
        "base_url": entry["base_url"],
        "key_id": None if key_id is None else str(key_id),
        "prompt": str(entry["prompt"]),
        "count": count,
        "record_ids": [str(i) for i in ids],
        "batch_id": str(entry.get("batch_id") or ""),
        "order_id": str(entry.get("order_id") or ""),
        "reservation_id": str(entry.get("reservation_id") or ""),
        "credits_reserved": int(credits),
        "idempotency_key": str(entry.get("idempotency_key") or ""),
        "submitted_at": submitted_at.astimezone(timezone.utc),
        **_comparison_of(entry),
    }


def _comparison_of(entry: dict[str, Any]) -> dict[str, Any]:
    """The optional comparison a job belongs to; anything malformed there reads as no comparison."""
    comparison, template, parts = entry.get("comparison"), entry.get("template"), entry.get("parts")
    shaped = isinstance(parts, list) and all(
        isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) and isinstance(p[1], bool)
        for p in parts
    )
    if not (isinstance(comparison, str) and comparison and isinstance(template, str) and shaped):
        return {"comparison": "", "template": "", "parts": ()}
    assert isinstance(parts, list)
    return {"comparison": comparison, "template": template, "parts": tuple((t, v) for t, v in parts)}


def _whole_number(count: object) -> int:
    if isinstance(count, bool) or not isinstance(count, int):
        raise TypeError("count should be a whole number")
    return count


def _validated_unconfirmed(entry: dict[str, Any]) -> dict[str, Any]:
    key = entry["idempotency_key"]
    if not isinstance(key, str) or not key:
        raise TypeError("idempotency_key should be non-empty text")
    attempted_at = parse_timestamp(entry["attempted_at"])
    if attempted_at is None:
        raise ValueError("attempted_at is not an ISO time")
    key_id = entry.get("key_id")
    return {
        "type": "unconfirmed",
        "base_url": entry["base_url"],
        "key_id": None if key_id is None else str(key_id),
        "prompt": str(entry["prompt"]),
        "count": _whole_number(entry["count"]),
        "idempotency_key": key,
        "attempted_at": attempted_at.astimezone(timezone.utc),
    }


def _store_key(folder: str) -> LocalStore:
    return LocalStore(folder)


_stores: ProcessWide[str, LocalStore] = ProcessWide(_store_key)
"""One store per folder in this process: every widget and `Journal` on a folder shares one connection,
one in-memory fallback and one warning, as they share one file."""


def open_store(folder: str | os.PathLike[str] | None = None) -> LocalStore:
    """The process-wide `LocalStore` for `folder` (default: the current `QAMERA_WIDGETS_HOME`), with an
    old `journal.jsonl` in that folder brought in on first use."""
    base = Path(folder) if folder is not None else default_home()
    store = _stores[os.path.normcase(os.path.abspath(base))]
    legacy = store.folder / LEGACY_JOURNAL
    if legacy.exists() or legacy.is_symlink():
        store.import_journal(legacy)
    return store


def forget_stores() -> None:
    """Close and forget every process-wide store (tests that need a process as fresh as a new kernel)."""
    for store in _stores.values():
        store.close()
    _stores.clear()
