"""An append-only record of every confirmed generation job, so a job survives a kernel restart.

Credits are reserved the moment the server confirms a registration; if the notebook dies before the
user sees the results, the ids would be lost and the user might pay again for the same idea. Each
confirmation is therefore on disk (flushed and fsynced) before any UI reports success, and
`Journal.pending()` gives a fresh session the batches it should go back to.

The file is JSON lines: one `registration` line per job and `final` lines as records finish, plus an
`unconfirmed` line for each POST whose answer was lost (the job may exist and be charged; see
`Journal.unconfirmed()`). Lines are only ever appended, so a crash can at worst cut the last line
short; reading skips such a line with a warning instead of failing.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import platformdirs

from ..client.models import Registration, parse_timestamp
from ..client.rules import utc_now
from ..contract import TERMINAL_STATUSES, key_id_of
from .registry import ProcessWide

try:
    import fcntl
except ImportError:  # Windows: appends from one process are still serialised by the thread lock
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "HOME_ENV",
    "Journal",
    "JournalBatch",
    "JournalUnavailableError",
    "JournalWarning",
    "UnconfirmedAttempt",
    "batch_key",
    "default_journal_path",
]

logger = logging.getLogger(__name__)

HOME_ENV = "QAMERA_WIDGETS_HOME"
JOURNAL_FILE = "journal.jsonl"

_write_locks: ProcessWide[str, threading.Lock] = ProcessWide(lambda _: threading.Lock())
"""One write lock per journal file. Process-wide because every `Journal` on one path in this kernel (a
form's, a board's, the user's own) appends to the same file, and two appends must not interleave."""


class JournalWarning(UserWarning):
    """A journal line could not be read and was skipped."""


def default_journal_path() -> Path:
    """`$QAMERA_WIDGETS_HOME/journal.jsonl`, else the platform's per-user data directory."""
    home = os.environ.get(HOME_ENV, "").strip()
    base = Path(home).expanduser() if home else Path(platformdirs.user_data_dir("qamera-widgets"))
    return base / JOURNAL_FILE


def _lock_for(path: Path) -> threading.Lock:
    """One lock per file in this process, shared by every `Journal` pointing at it."""
    key = os.path.normcase(os.path.abspath(path))
    return _write_locks[key]


def batch_key(batch_id: str, record_ids: Iterable[str]) -> str:
    """What identifies one job: its batch id, or its record ids when the server gave no batch id."""
    return batch_id or ",".join(record_ids)


def _public_key_id(key_id: str | None) -> str | None:
    """Keep only the key id even if a caller passed a whole key by mistake: the secret never lands on disk."""
    if not key_id:
        return None
    return key_id_of(key_id) or key_id.split(".", 1)[0]


@dataclass(frozen=True)
class JournalBatch:
    """One registered job as replayed from the journal, with the final statuses known so far."""

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


Replayed = TypeVar("Replayed", JournalBatch, UnconfirmedAttempt)


_FIELD_NAMES: dict[type, tuple[str, ...]] = {
    cls: tuple(f.name for f in fields(cls)) for cls in (JournalBatch, UnconfirmedAttempt)
}


def _from_entry(cls: type[Replayed], entry: Mapping[str, Any], **derived: Any) -> Replayed:
    """A replayed record from a parsed line: every field the line has by its own name (the line format
    and the dataclass share names on purpose), plus what was derived from other lines."""
    own = {name: entry[name] for name in _FIELD_NAMES[cls] if name in entry and name not in derived}
    return cls(**own, **derived)


class Journal:
    """The JSON-lines journal at `path` (default: `default_journal_path()`, read when constructed)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path: Path = Path(path) if path is not None else default_journal_path()

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    def record_registration(
        self,
        registration: Registration,
        *,
        base_url: str,
        key_id: str | None,
        comparison: str = "",
        template: str = "",
        parts: Sequence[tuple[str, bool]] = (),
    ) -> None:
        """Append a confirmed job; returns only once the line is on disk, so the UI may report success.

        `comparison`, `template` and `parts` say which comparison the job belongs to (see PromptForm).
        """
        shape: dict[str, Any] = {}
        if comparison:
            shape = {"comparison": comparison, "template": template, "parts": [list(p) for p in parts]}
        self._append(
            {
                **shape,
                "type": "registration",
                "base_url": base_url,
                "key_id": _public_key_id(key_id),
                "prompt": registration.preferences,
                "count": registration.count,
                "record_ids": list(registration.record_ids),
                "batch_id": registration.batch_id,
                "order_id": registration.order_id,
                "reservation_id": registration.reservation_id,
                "credits_reserved": registration.credits_reserved,
                "idempotency_key": registration.idempotency_key,
                "submitted_at": registration.submitted_at.isoformat(),
            }
        )

    def record_unconfirmed(
        self,
        *,
        base_url: str,
        key_id: str | None,
        prompt: str,
        count: int,
        idempotency_key: str,
        attempted_at: datetime | None = None,
    ) -> None:
        """Append a submission the server may have charged without confirming it, so it is not forgotten."""
        self._append(
            {
                "type": "unconfirmed",
                "base_url": base_url,
                "key_id": _public_key_id(key_id),
                "prompt": prompt,
                "count": count,
                "idempotency_key": idempotency_key,
                "attempted_at": (attempted_at or utc_now()).isoformat(),
            }
        )

    def record_final(self, base_url: str, statuses: Mapping[str, str]) -> None:
        """Append the final status of finished records; non-terminal statuses (e.g. a local TIMED_OUT) are
        left out so those records stay pending and a later session goes back to them."""
        final = {
            str(record_id): status.upper()
            for record_id, status in statuses.items()
            if isinstance(status, str) and status.upper() in TERMINAL_STATUSES
        }
        if not final:
            return
        self._append(
            {"type": "final", "base_url": base_url, "statuses": final, "recorded_at": utc_now().isoformat()}
        )

    def batches(self, *, base_url: str | None = None, key_id: str | None = None) -> list[JournalBatch]:
        """Every recorded job in submission order, optionally only those of one server and key id."""
        return self._batches(base_url, key_id, pending_only=False)

    def pending(self, *, base_url: str | None = None, key_id: str | None = None) -> list[JournalBatch]:
        """Jobs with at least one record whose final status was never recorded."""
        return self._batches(base_url, key_id, pending_only=True)

    def _batches(self, base_url: str | None, key_id: str | None, *, pending_only: bool) -> list[JournalBatch]:
        state = self._read()
        finals = state.finals
        wanted_key_id = _public_key_id(key_id)
        result = []
        for entry in list(state.registrations.values()):
            url = entry["base_url"]
            if base_url is not None and url != base_url:
                continue
            if wanted_key_id is not None and entry["key_id"] != wanted_key_id:
                continue
            ids = entry["record_ids"]
            final = {i: finals[(url, i)] for i in ids if (url, i) in finals}
            if pending_only and len(final) == len(set(ids)):
                continue
            result.append(_from_entry(JournalBatch, entry, record_ids=tuple(ids), final=final))
        return result

    def unconfirmed(
        self, *, base_url: str | None = None, key_id: str | None = None
    ) -> list[UnconfirmedAttempt]:
        """Submissions still in doubt: recorded as unconfirmed and never confirmed later under the same
        idempotency key (by the same server). Oldest first; one per key, with its first attempt's time."""
        attempts = list(self._read().attempts.values())
        wanted_key_id = _public_key_id(key_id)
        return [
            _from_entry(UnconfirmedAttempt, entry)
            for entry in attempts
            if (base_url is None or entry["base_url"] == base_url)
            and (wanted_key_id is None or entry["key_id"] == wanted_key_id)
        ]

    def _append(self, entry: Mapping[str, Any]) -> None:
        line = _encode_line(entry)
        try:
            self._append_line(line)
        except OSError as exc:
            problem = _path_problem(exc, self.path)
            raise JournalUnavailableError(exc.errno or 0, problem, str(self.path)) from exc

    def _append_line(self, line: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        created = not self.path.exists()
        with _lock_for(self.path), open(self.path, "a+b") as handle:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                if handle.seek(0, os.SEEK_END) > 0:
                    handle.seek(-1, os.SEEK_END)
                    if handle.read(1) != b"\n":
                        # A line cut off by a crash must not swallow this one: start on a fresh line.
                        line = b"\n" + line
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
            finally:
                if fcntl is not None:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        if created:
            self._sync_directory()

    def _sync_directory(self) -> None:
        """Make the new file's directory entry durable too (POSIX only; best effort)."""
        try:
            fd = os.open(self.path.parent, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)

    def _read(self) -> _Folded:
        """What the file says, folded; only lines appended since the last read (by any `Journal` on this
        path in this process) are parsed, so `pending()` stays quick however long the journal grows."""
        key = os.path.normcase(os.path.abspath(self.path))
        state = _folded[key]
        with state.lock:
            try:
                self._catch_up(state)
            except FileNotFoundError:
                state.reset()
            except OSError as exc:
                _warn_once(state, f"os:{exc.errno}", _path_problem(exc, self.path, reading=True))
            return state.snapshot()

    def _catch_up(self, state: _Folded) -> None:
        with open(self.path, "rb") as handle:
            info = os.fstat(handle.fileno())
            identity = (info.st_dev, info.st_ino)
            if identity != state.identity or info.st_size < state.offset or not _same_tail(handle, state):
                state.reset()
                state.identity = identity
            handle.seek(state.offset)
            content = handle.read()
        end = content.rfind(b"\n") + 1
        complete, fragment = content[:end], content[end:]
        lines = complete.split(b"\n")[:-1] if complete else []
        skipped: list[tuple[int, str]] = []
        for entry in _parse_lines(lines, state.lines_read + 1, skipped):
            state.fold(entry)
        state.lines_read += len(lines)
        state.offset += len(complete)
        state.tail = complete[-_TAIL_BYTES:] if complete else state.tail
        if fragment.strip():
            # A line still being written, or cut off by a crash: not folded, looked at again next time.
            cut = "the line is incomplete; the last write may have been cut off"
            skipped.append((state.lines_read + 1, cut))
        new = [(n, why) for n, why in skipped if n not in state.warned_lines]
        if new:
            state.warned_lines.update(n for n, _ in new)
            numbers = ", ".join(str(n) for n, _ in new[:10]) + (" ..." if len(new) > 10 else "")
            noun = "line" if len(new) == 1 else "lines"
            message = (
                f"Skipped {noun} {numbers} of the journal {self.path}: not a complete entry "
                f"({new[0][1]}). The other entries are read as usual."
            )
            warnings.warn(message, JournalWarning, stacklevel=4)
            logger.warning(message)


_TAIL_BYTES = 256


@dataclass
class _Folded:
    """The journal folded into what the queries need, plus where reading stopped in the file."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    identity: tuple[int, int] | None = None
    offset: int = 0
    lines_read: int = 0
    tail: bytes = b""
    registrations: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    finals: dict[tuple[str, str], str] = field(default_factory=dict)
    attempts: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    warned_lines: set[int] = field(default_factory=set)
    warned: set[str] = field(default_factory=set)

    def reset(self) -> None:
        fresh = _Folded()
        for name in ("identity", "offset", "lines_read", "tail", "registrations", "finals", "attempts"):
            setattr(self, name, getattr(fresh, name))
        self.warned_lines.clear()

    def fold(self, entry: dict[str, Any]) -> None:
        kind, url = entry["type"], entry["base_url"]
        if kind == "registration":
            # A replayed POST (same idempotency key) confirms the same job twice; keep the first.
            self.registrations.setdefault((url, batch_key(entry["batch_id"], entry["record_ids"])), entry)
            if entry["idempotency_key"]:
                self.attempts.pop((url, entry["idempotency_key"]), None)
        elif kind == "final":
            for record_id, status in entry["statuses"].items():
                if status in TERMINAL_STATUSES:
                    self.finals[(url, record_id)] = status
        elif kind == "unconfirmed":
            self.attempts.setdefault((url, entry["idempotency_key"]), entry)

    def snapshot(self) -> _Folded:
        """A copy the caller can iterate while another thread folds more lines in."""
        return _Folded(
            registrations=dict(self.registrations), finals=dict(self.finals), attempts=dict(self.attempts)
        )


_folded: ProcessWide[str, _Folded] = ProcessWide(lambda _: _Folded())
"""What each journal file says, folded, with how far it was read. Process-wide so that every `Journal` on
one path parses each line once, however many widgets read the file."""


def _same_tail(handle: Any, state: _Folded) -> bool:
    """Whether the bytes before where reading stopped are still those read: else it was rewritten."""
    if not state.tail:
        return state.offset == 0
    handle.seek(state.offset - len(state.tail))
    return bool(handle.read(len(state.tail)) == state.tail)


def _parse_lines(
    lines: list[bytes], first_number: int, skipped: list[tuple[int, str]]
) -> Iterator[dict[str, Any]]:
    """The valid entries; every other line lands in `skipped` with its number and the reason.

    Whatever a line holds (nesting deep enough for RecursionError, 1e999, wrong types) it is skipped, never
    fatal: the journal exists so that the other lines are not lost.
    """
    for number, raw in enumerate(lines, start=first_number):
        if not raw.strip():
            continue
        try:
            entry = _validated(json.loads(raw.decode("utf-8")))
        except Exception as exc:
            skipped.append((number, f"{type(exc).__name__}: {exc}"[:200]))
            continue
        if entry is not None:
            yield entry


def _warn_once(state: _Folded, key: str, message: str) -> None:
    if key in state.warned:
        return
    state.warned.add(key)
    warnings.warn(message, JournalWarning, stacklevel=4)
    logger.warning(message)


class JournalUnavailableError(OSError):
    """The journal cannot be written where it is; `strerror` says what to change (the path or the folder)."""


def _path_problem(exc: OSError, path: Path, *, reading: bool = False) -> str:
    """The sentence for a journal path that cannot be used, naming what to fix."""
    verb = "read" if reading else "write"
    fix = f"or set {HOME_ENV} to a folder you can write to"
    if isinstance(exc, IsADirectoryError):
        return f"Cannot {verb} the journal: {path} is a folder, not a file. Move that folder away, {fix}."
    if isinstance(exc, (NotADirectoryError, FileExistsError)):
        return (
            f"Cannot {verb} the journal {path}: a part of its folder path ({path.parent}) is a file, not a "
            f"folder. Remove or rename that file, {fix}."
        )
    if isinstance(exc, PermissionError):
        return (
            f"Cannot {verb} the journal {path}: permission denied. Give yourself access to {path.parent}, "
            f"{fix}."
        )
    return f"Cannot {verb} the journal {path} ({exc.strerror or type(exc).__name__}); {fix}."


def _encode_line(entry: Mapping[str, Any]) -> bytes:
    """One JSON line; text that UTF-8 cannot carry (a lone surrogate in an id a server sent) is written
    as a JSON escape instead, so a charged job is never left out of the journal over its spelling."""
    try:
        text = json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(entry, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    return text + b"\n"


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
