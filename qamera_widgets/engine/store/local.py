"""`LocalStore`: jobs, marks and the old journal's import on one SQLite file; `open_store` for the
process-wide store of a folder.
"""

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
import hashlib
from collections.abc import Iterable, Mapping

from ...client.rules import utc_now
from ...contract import TERMINAL_STATUSES
from ...runtime.registry import ProcessWide
from .legacy_journal import import_entries, parse_journal
from .records import (
    BUSY_TIMEOUT_MS,
    DB_FILE,
    LEGACY_JOURNAL,
    LOCK_FILE,
    SQLITE_BUSY,
    SQLITE_LOCKED,
    JobRecord,
    Refused,
    StoreUnavailableError,
    StoreWarning,
    UnconfirmedAttempt,
    busy_sentence,
    default_home,
    error_code,
    problem_sentence,
    public_key_id,
    refuse_outside_symlink,
)
from .rows import (
    checked_mark,
    insert_finals,
    insert_registration,
    insert_unconfirmed,
    job_of,
    parse_time,
    where_clause,
)
from .schema import (
    REGISTRATION_COLUMNS,
    Redo,
    copy_of,
    from_sql_text,
    prepare,
    roll_back,
    sql_text,
    sync_directory,
)

logger = logging.getLogger(__name__)


_BUDGET_TABLE = (
    "CREATE TABLE IF NOT EXISTS key_budgets (scope TEXT PRIMARY KEY, reserved INTEGER NOT NULL, "
    "updated_at TEXT NOT NULL)"
)


class LocalStore:
    """The store in `folder` (default `default_home()`): `folder/store.sqlite3`, plus the picture cache in
    `folder/pictures/` (see `engine.pictures.disk_cache`). Use `open_store()` for the process-wide one per
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

    # -- jobs -------------------------------------------------------------------------------------

    def record_registration(self, entry: Mapping[str, Any]) -> None:
        """Save a confirmed job (fields as in `JobRecord`); returns once it is on disk (`synchronous=FULL`).

        Raises `StoreUnavailableError` when it could only be kept in memory: tell the person to keep the
        batch id."""
        self._run(lambda db: insert_registration(db, entry), durable_or_raise=True)

    def record_unconfirmed(self, entry: Mapping[str, Any]) -> None:
        """Save a submission the server may have charged without confirming it, so it is not forgotten."""
        self._run(lambda db: insert_unconfirmed(db, entry), durable_or_raise=True)

    def record_final(self, base_url: str, statuses: Mapping[str, str], recorded_at: str = "") -> None:
        """Save the terminal statuses among `statuses` (others, e.g. a local TIMED_OUT, stay pending)."""
        final = {
            str(i): s.upper()
            for i, s in statuses.items()
            if isinstance(s, str) and s.upper() in TERMINAL_STATUSES
        }
        if final:
            when = recorded_at or utc_now().isoformat()
            self._run(lambda db: insert_finals(db, base_url, final, when), durable_or_raise=True)

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
        where, params = where_clause(base_url, key_id)
        if pending_only:
            where.append("open_count > 0")
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        if latest is not None:
            sql = (
                f"SELECT * FROM (SELECT {REGISTRATION_COLUMNS} FROM registrations {clause} "
                f"ORDER BY seq DESC LIMIT ?) ORDER BY seq"
            )
            rows = self._read(sql, [*params, max(0, latest)])
        else:
            rows = self._read(
                f"SELECT {REGISTRATION_COLUMNS} FROM registrations {clause} ORDER BY seq", params
            )
        if not rows:
            return []
        finals = self._finals_of([row[-1] for row in rows], base_url, key_id, pending_only)
        return [job_of(row, finals.get(row[-1], {})) for row in rows]

    def _finals_of(
        self, seqs: list[int], base_url: str | None, key_id: str | None, pending_only: bool
    ) -> dict[int, dict[str, str]]:
        """The final statuses of the jobs `seqs` (ascending), in one join over their range of the table."""
        where, params = where_clause(base_url, key_id, "g.")
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
                finals.setdefault(seq, {})[from_sql_text(record_id)] = status
        return finals

    def unconfirmed(
        self, *, base_url: str | None = None, key_id: str | None = None
    ) -> list[UnconfirmedAttempt]:
        """Submissions still in doubt (never confirmed later under the same idempotency key by the same
        server), oldest first."""
        where, params = where_clause(base_url, public_key_id(key_id))
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self._read(
            "SELECT base_url, key_id, prompt, count, idempotency_key, attempted_at FROM unconfirmed "
            f"{clause} ORDER BY seq",
            params,
        )
        self.warn_if_unsaved()
        return [
            UnconfirmedAttempt(
                base_url=from_sql_text(url),
                key_id=None if kid is None else from_sql_text(kid),
                prompt=from_sql_text(prompt),
                count=int(count),
                idempotency_key=from_sql_text(key),
                attempted_at=parse_time(attempted),
            )
            for url, kid, prompt, count, key, attempted in rows
        ]

    def prompts(self, base_url: str, record_ids: Iterable[str]) -> dict[str, tuple[str, int]]:
        """record id -> (the prompt that made it, its position in its job), for the ids the store knows."""
        ids = [sql_text(i) for i in dict.fromkeys(record_ids)]
        found: dict[str, tuple[str, int]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = self._read(
                "SELECT r.record_id, g.prompt, r.position FROM records r "
                "JOIN registrations g ON g.seq = r.seq "
                f"WHERE r.base_url = ? AND r.record_id IN ({','.join('?' * len(chunk))})",
                [sql_text(base_url), *chunk],
            )
            for record_id, prompt, position in rows:
                found[from_sql_text(record_id)] = (from_sql_text(prompt), int(position))
        return found

    # -- marks ------------------------------------------------------------------------------------

    def marks(self, base_url: str, key_id: str) -> dict[str, tuple[str, int]]:
        """scenery id -> (flag, stars) for one server and key id; flag is "pick", "reject" or ""."""
        rows = self._read(
            "SELECT scenery_id, flag, stars FROM marks WHERE base_url = ? AND key_id = ?",
            [sql_text(base_url), sql_text(public_key_id(key_id) or "")],
        )
        self.warn_if_unsaved()
        return {from_sql_text(sid): (str(flag), int(stars)) for sid, flag, stars in rows}

    def set_marks(self, base_url: str, key_id: str, marks: Mapping[str, tuple[str, int]]) -> None:
        """Save several marks in one transaction, durable on return; ("", 0) deletes a mark.

        Raises ValueError for a flag or star count out of range (nothing is saved then). Never raises for
        the disk: the marks are then kept in memory and `problem` says why (also warned once)."""
        checked = [(str(sid), *checked_mark(mark)) for sid, mark in marks.items()]
        if not checked:
            return
        url, kid, now = sql_text(base_url), sql_text(public_key_id(key_id) or ""), utc_now().isoformat()

        def work(db: sqlite3.Connection) -> None:
            for sid, flag, stars in checked:
                if not flag and not stars:
                    db.execute(
                        "DELETE FROM marks WHERE base_url = ? AND key_id = ? AND scenery_id = ?",
                        (url, kid, sql_text(sid)),
                    )
                else:
                    db.execute(
                        "INSERT INTO marks VALUES (?, ?, ?, ?, ?, ?) "
                        "ON CONFLICT (base_url, key_id, scenery_id) DO UPDATE SET flag = excluded.flag, "
                        "stars = excluded.stars, updated_at = excluded.updated_at",
                        (url, kid, sql_text(sid), flag, stars, now),
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
        except (OSError, Refused) as exc:
            message = problem_sentence(exc, source) if isinstance(exc, OSError) else str(exc)
            warnings.warn(message, StoreWarning, stacklevel=2)
            logger.warning("%s", message)
            return 0
        digest = hashlib.sha256(content).hexdigest()
        if digest in self._imported:
            return 0
        skipped: list[tuple[int, str]] = []
        entries = list(parse_journal(content, skipped))
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
            import_entries(db, entries)
            db.execute(
                "INSERT INTO imports VALUES (?, ?, ?, ?, ?)",
                (digest, sql_text(str(source)), len(entries), len(skipped), utc_now().isoformat()),
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

    # The connection: opening the file, falling back to memory, one write transaction at a time across
    # kernels, reads.

    def _connection(self) -> sqlite3.Connection:
        with self._lock:
            if self._db is None:
                try:
                    self._db = self._open_file()
                except (OSError, sqlite3.Error, Refused) as exc:
                    self._fall_back(exc, copy=not isinstance(exc, Refused))
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
            prepare(db, self.path, wal=True)
        except BaseException:
            db.close()
            raise
        if created:
            sync_directory(self.folder)
        return db

    def _fall_back(self, exc: BaseException, *, copy: bool) -> None:
        """Carry on in memory (with what the file held, when it can still be read) and keep the sentence."""
        if self.problem:
            return
        self.problem = problem_sentence(exc, self.path)
        logger.warning("%s", self.problem)
        self._answers.clear()
        old, self._db = self._db, None
        memory = copy_of(old, self.path) if copy else None
        if old is not None:
            with suppress(sqlite3.Error):
                old.close()
        if memory is None:
            memory = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            prepare(memory, self.path, wal=False)
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
                    roll_back(db)
                    raise
            except (sqlite3.Error, OSError) as exc:
                if not saved or isinstance(exc, sqlite3.IntegrityError):
                    raise
                if error_code(exc) in (SQLITE_BUSY, SQLITE_LOCKED):
                    # Another kernel held the file too long: the file is fine, so no move to memory.
                    raise StoreUnavailableError(0, busy_sentence(self.path), str(self.path)) from exc
                self._fall_back(exc, copy=True)
                raise Redo() from exc
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
            except Redo:
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
