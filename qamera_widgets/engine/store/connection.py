"""The local store's connection to its SQLite file (a mixin of `LocalStore`)."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: SQLite's own busy timeout then orders the kernels' writes
    fcntl = None  # type: ignore[assignment]
from .records import (
    _SQLITE_BUSY,
    _SQLITE_LOCKED,
    BUSY_TIMEOUT_MS,
    LOCK_FILE,
    JobRecord,
    StoreUnavailableError,
    StoreWarning,
    _busy_sentence,
    _code_of,
    _Refused,
    problem_sentence,
    refuse_outside_symlink,
)
from .schema import _copy_of, _prepare, _Redo, _roll_back, _sync_directory

logger = logging.getLogger(__name__)


class StoreConnection:
    """`LocalStore`'s connection: opening the file, falling back to memory, one write transaction at a time
    across kernels, reads. A mixin so that `LocalStore` and its module stay small; it holds no state of its
    own (`LocalStore.__init__` sets what is declared here)."""

    folder: Path
    path: Path
    problem: str
    _lock: threading.RLock
    _db: sqlite3.Connection | None
    _warned: bool
    _writes: int
    _lock_fd: int | None
    _answers: dict[tuple[Any, ...], tuple[tuple[int, int], list[JobRecord]]]

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
