""" "Retry N failed" on a run: which failures a retry replaces, what it asks and costs, how a run and its
retries are drawn and counted as one run, and the desk that sends a retry through the form's submit
machine (`engine.jobs.submitting.Submitter`). No traitlets: the board draws what is computed here.

A retry is a job of its own on the server (new records, its own batch and idempotency key) whose
journal entry names the run it belongs to (`retry_of`, the run's key), so a later session draws it inside
that run again. Only the newest job's failures are offered: once a retry exists, the failures it
replaces are no longer offered, and if some of the retry's own pictures fail, those are.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ...client import AsyncQameraClient, Registration
from ...contract import price_for
from ..wording import excerpt, pictures
from .budgets import Budget
from .journal import Journal
from .plans import UNCONFIRMED_MESSAGE, Submission
from .runs import Run, RunCounts, run_time
from .status import state_of
from .submitting import Confirmed, Finished, Said, Sending, SubmitEvent, Submitter
from .tracking import WAITING

__all__ = [
    "RetryDesk",
    "RetryNote",
    "attach_retries",
    "combined_counts",
    "retry_line",
    "retry_question",
    "retryable",
]

RETRY_UNCONFIRMED = (
    "The server did not confirm the retry; it may still have been created. Press Retry again to resend "
    "the same job under its idempotency key: it cannot be charged twice."
)
BUSY = "A retry of this run is on its way; wait for its answer."


def _sent(run: Run) -> tuple[bool, float]:
    """Oldest first; a retry still waiting for its server after every confirmed one."""
    return (run.submitted_at is None, run.submitted_at.timestamp() if run.submitted_at else 0.0)


def attach_retries(runs: Iterable[Run]) -> tuple[list[Run], dict[str, list[Run]]]:
    """The runs drawn as their own (in the order given) and, per run key, its retries oldest first.

    A retry whose run is not among `runs` (older than the history a view reads) is drawn on its own."""
    listed = list(runs)
    keys = {run.key for run in listed if not run.retry_of}
    own: list[Run] = []
    retries: dict[str, list[Run]] = {}
    for run in listed:
        if run.retry_of and run.retry_of in keys:
            retries.setdefault(run.retry_of, []).append(run)
        else:
            own.append(run)
    for group in retries.values():
        group.sort(key=_sent)
    return own, retries


def combined_counts(runs: Iterable[Run], status: Mapping[str, str]) -> RunCounts:
    """A run and its retries counted as one: what its header says."""
    done = failed = running = timed_out = 0
    for run in runs:
        counts = run.counts(status)
        done, failed = done + counts.done, failed + counts.failed
        running, timed_out = running + counts.running, timed_out + counts.timed_out
    return RunCounts(done, failed, running, timed_out)


def retryable(run: Run, retries: Sequence[Run], status: Mapping[str, str]) -> tuple[str, ...]:
    """The failed records "Retry N failed" generates again: the newest job's (the run's own, or its last
    retry's), once every job of the run has settled; none while a retry still waits for its server."""
    members = [run, *retries]
    if not all(member.confirmed and member.counts(status).settled for member in members):
        return ()
    return tuple(i for i in members[-1].record_ids if state_of(status.get(i, WAITING)) == "failed")


def retry_question(prompt: str, count: int) -> str:
    """Asked beside "Retry N failed", with the cost at the contract's price."""
    what = "picture" if count == 1 else "pictures"
    return (
        f"Retry {count} failed {what} of \u201c{excerpt(prompt, 40)}\u201d? "
        f"{price_for(count)} credits will be reserved."
    )


def retry_line(retry: Run, ids: list[str], status: Mapping[str, str]) -> dict[str, Any]:
    """The sub-line over a retry's cards inside its run: "Retry · 2 pictures · 12:03:04"."""
    when = run_time(retry.submitted_at) if retry.submitted_at else "sending…"
    counts = retry.counts(status)
    return {
        "key": retry.key,
        "text": f"Retry · {pictures(retry.count)} · {when}",
        "progress": counts.text() if retry.confirmed else "sending…",
        "ids": ids,
    }


@dataclass(frozen=True)
class RetryNote:
    """What is said beside a run's retry button: progress ('info') or a refusal ('error')."""

    text: str
    kind: str = "info"


class RetryBoard(Protocol):
    """What the desk needs from the board that shows the run (`StatusBoard` is one)."""

    def show_submission(self, event: SubmitEvent) -> None: ...
    def note_retry(self, key: str, note: RetryNote | None) -> None: ...


class RetryDesk:
    """Sends the retries of one board's runs: one job each, through `Submitter` (the form's own submit
    machine: idempotency key, budget, journal before success), one at a time per run.

    `budget` is read at each retry (the studio's, which a person may replace); `on_confirmed` runs after
    the board shows the job (the studio's library learns its prompt there).
    """

    def __init__(
        self,
        client: AsyncQameraClient,
        journal: Journal,
        board: RetryBoard,
        *,
        budget: Callable[[], Budget | None],
        on_confirmed: Callable[[Registration], object] = lambda _registration: None,
        clock: Callable[[], float],
    ) -> None:
        self._client, self._journal, self.board = client, journal, board
        self._budget, self._on_confirmed, self._clock = budget, on_confirmed, clock
        self._submitters: dict[str, Submitter] = {}
        self.closed = False

    def busy(self, key: str) -> bool:
        """Whether a retry of this run is on its way (a second click then sends nothing)."""
        submitter = self._submitters.get(key)
        return submitter is not None and submitter.sending

    def retry(self, key: str, prompt: str, count: int) -> asyncio.Task[list[Registration]] | None:
        """Send one job of `count` pictures of `prompt` for the run `key`; a job whose answer was lost is
        resent under its idempotency key instead (never charged twice). None when nothing was sent."""
        if self.closed:
            return None
        if self.busy(key):
            self.board.note_retry(key, RetryNote(BUSY))
            return None
        submitter = self._submitters.get(key)
        if submitter is None:
            submitter = Submitter(
                self._client,
                self._journal,
                self._budget(),
                lambda event: self._hear(key, event),
                clock=self._clock,
            )
            self._submitters[key] = submitter
        submitter.budget = self._budget()
        doubt = submitter.unconfirmed
        job = doubt if doubt is not None else Submission(prompt, count, str(uuid.uuid4()), retry_of=key)
        return submitter.start([job], ("", 0), confirmed=True)

    async def wait_idle(self) -> None:
        """Until every retry in flight has its answer (journaled when it was confirmed)."""
        tasks = {s.inflight for s in self._submitters.values() if s.inflight is not None}
        if tasks:
            await asyncio.wait(tasks)

    def close(self) -> None:
        """Stop drawing; a retry in flight still finishes and is journaled (like the form's POST)."""
        self.closed = True
        for submitter in self._submitters.values():
            submitter.close()

    def _hear(self, key: str, event: SubmitEvent) -> None:
        """What the submit machine of one run's retry tells: its sentences go beside that run's button,
        its job's run to the board (drawn inside the run it retries, by the job's `retry_of`)."""
        if isinstance(event, Said):
            text = RETRY_UNCONFIRMED if event.text == UNCONFIRMED_MESSAGE else event.text
            self.board.note_retry(key, RetryNote(text, event.kind) if text else None)
        elif isinstance(event, Sending):
            self.board.note_retry(key, None)
            self.board.show_submission(event)
        elif isinstance(event, Confirmed):
            self.board.note_retry(key, None)
            self.board.show_submission(event)
            error, registration = event.journal_error, event.registration
            if error is not None:
                why = error.strerror or type(error).__name__
                self.board.note_retry(
                    key,
                    RetryNote(
                        f"Could not write the job journal ({why}): keep the batch id {registration.batch_id} "
                        "to find the retry again.",
                        "error",
                    ),
                )
            self._on_confirmed(registration)
        elif isinstance(event, Finished) and not self.closed:
            self.board.show_submission(event)  # a retry the server did not confirm leaves its run again
