"""The job journal's interface, kept on top of the local store (`engine.store`) for existing callers.

`Journal` used to be a JSON-lines file of its own; the jobs now live in the store's SQLite file in the same
folder, with the same promises: a confirmed registration is on disk before any view reports success, two
kernels writing at once lose nothing, and a path that cannot be used gets one sentence saying what to fix.
An old `journal.jsonl` is imported into the store the first time it is used and renamed, never deleted.
New code can use `LocalStore` (`engine.store.open_store()`) directly; `Journal` stays the name the widgets
and notebooks already use, with the same methods.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from ...client.models import Registration
from ...client.rules import utc_now
from ..store import (
    DB_FILE,
    LEGACY_JOURNAL,
    JobRecord,
    LocalStore,
    UnconfirmedAttempt,
    default_home,
    open_store,
    public_key_id,
)

__all__ = ["HISTORY_JOBS", "Journal", "default_journal_path"]

HISTORY_JOBS = 1000
"""How many of the latest jobs a new view reads at start: what a person scrolls back to, and a bounded
read however long the history (the store answers it from an index; `pending()` still lists every job)."""


def default_journal_path() -> Path:
    """`$QAMERA_WIDGETS_HOME/journal.jsonl`, else the platform's per-user data directory: where an old
    journal is looked for; the jobs themselves are in `store.sqlite3` beside it."""
    return default_home() / LEGACY_JOURNAL


class Journal:
    """The jobs of the store in `path`'s folder (default: `default_journal_path()`).

    `path` names the old JSON-lines journal, imported into the store (then renamed `.imported`) when it
    exists, or the store file itself. Every `Journal` on one folder shares the process-wide `LocalStore`.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path: Path = Path(path) if path is not None else default_journal_path()

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    @property
    def store(self) -> LocalStore:
        """The store these jobs live in (an old journal at `path` imported on first use)."""
        store = open_store(self.path.parent)
        if self.path.name not in (DB_FILE, LEGACY_JOURNAL) and (
            self.path.is_file() or self.path.is_symlink()
        ):
            store.import_journal(self.path)
        return store

    @property
    def store_path(self) -> Path:
        """The SQLite file the jobs are written to."""
        return self.path.parent / DB_FILE

    def record_registration(
        self,
        registration: Registration,
        *,
        base_url: str,
        key_id: str | None,
        comparison: str = "",
        template: str = "",
        parts: Sequence[tuple[str, bool]] = (),
        retry_of: str = "",
    ) -> None:
        """Save a confirmed job; returns only once it is on disk, so the UI may report success.

        `comparison`, `template` and `parts` say which comparison the job belongs to (see PromptForm);
        `retry_of` the job whose failed pictures it generates again ("Retry N failed" on a run).
        Raises `StoreUnavailableError` (an OSError with the sentence) when it is kept in memory only.
        """
        self.store.record_registration(
            {
                "base_url": base_url,
                "key_id": public_key_id(key_id),
                "prompt": registration.preferences,
                "count": registration.count,
                "record_ids": list(registration.record_ids),
                "batch_id": registration.batch_id,
                "order_id": registration.order_id,
                "reservation_id": registration.reservation_id,
                "credits_reserved": registration.credits_reserved,
                "idempotency_key": registration.idempotency_key,
                "submitted_at": registration.submitted_at,
                "comparison": comparison,
                "template": template,
                "parts": tuple(parts),
                "retry_of": retry_of,
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
        """Save a submission the server may have charged without confirming it, so it is not forgotten."""
        self.store.record_unconfirmed(
            {
                "base_url": base_url,
                "key_id": public_key_id(key_id),
                "prompt": prompt,
                "count": count,
                "idempotency_key": idempotency_key,
                "attempted_at": attempted_at or utc_now(),
            }
        )

    def record_final(self, base_url: str, statuses: Mapping[str, str]) -> None:
        """Save the final status of finished records; non-terminal statuses (e.g. a local TIMED_OUT) are
        left out so those records stay pending and a later session goes back to them."""
        self.store.record_final(base_url, statuses)

    def batches(
        self, *, base_url: str | None = None, key_id: str | None = None, latest: int | None = None
    ) -> list[JobRecord]:
        """Every recorded job in submission order (only the `latest` n when given), optionally only those of
        one server and key id."""
        return self.store.jobs(base_url=base_url, key_id=key_id, latest=latest)

    async def history(self, base_url: str, key_id: str | None) -> list[JobRecord]:
        """The latest `HISTORY_JOBS` jobs of one server and key, read in a thread (a long history takes a
        while): what a new Studio draws as its runs and its library names its prompts from."""
        return await asyncio.to_thread(self.batches, base_url=base_url, key_id=key_id, latest=HISTORY_JOBS)

    def pending(self, *, base_url: str | None = None, key_id: str | None = None) -> list[JobRecord]:
        """Jobs with at least one record whose final status was never recorded."""
        return self.store.jobs(base_url=base_url, key_id=key_id, pending_only=True)

    def unconfirmed(
        self, *, base_url: str | None = None, key_id: str | None = None
    ) -> list[UnconfirmedAttempt]:
        """Submissions still in doubt: recorded as unconfirmed and never confirmed later under the same
        idempotency key (by the same server). Oldest first; one per key, with its first attempt's time."""
        return self.store.unconfirmed(base_url=base_url, key_id=key_id)
