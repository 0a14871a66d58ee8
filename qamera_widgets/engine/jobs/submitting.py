"""The submit state machine: at most one POST at a time, questions before spending, the budget, a safe
retry under the same idempotency key, and the journal before any success is reported. No traitlets: the
machine tells what happens as events (`SubmitEvent`: a sentence, a question, the jobs going out, a
confirmation...) to one listener, which shows them (`PromptForm` on its traits, `RetryDesk` beside a run's
button); the form routes clicks here.

A submission already sent is never cut off: closing the form lets it finish and journals what the
server confirmed; nothing more is told but that it finished.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from ...client import AsyncQameraClient, RateLimitError, Registration, SubmissionUnconfirmedError
from ..store import JobRecord
from ..wording import describe_error
from .budgets import Budget, BudgetExceededError
from .journal import Journal
from .plans import (
    RATE_LIMITED_MESSAGE,
    UNCONFIRMED_MESSAGE,
    Submission,
    cost_text,
    field_errors,
    history_from_jobs,
    jobs_credits,
    plan_jobs,
    plan_text,
    repeat_question,
)
from .templates import is_template

__all__ = [
    "HISTORY_LIMIT",
    "REPEAT_WINDOW_SECONDS",
    "SLOW_ANSWER_SECONDS",
    "AllConfirmed",
    "Asked",
    "Confirmed",
    "FieldsChecked",
    "Finished",
    "RetryOffered",
    "Said",
    "Sending",
    "SubmitEvent",
    "Submitter",
]

logger = logging.getLogger(__name__)

SLOW_ANSWER_SECONDS = 3.0
REPEAT_WINDOW_SECONDS = 1.0
"""A second Generate of the same prompt and count this soon after a confirmed job asks before paying."""
HISTORY_LIMIT = 30


@dataclass(frozen=True)
class Said:
    """A sentence about the submission, styled by `kind` ('info', 'ok' or 'error'); '' clears the line."""

    text: str
    kind: str = "info"


@dataclass(frozen=True)
class Asked:
    """A question to answer (`Submitter.answer`) before anything is sent; '' withdraws it."""

    question: str


@dataclass(frozen=True)
class FieldsChecked:
    """Why the prompt or the count cannot be sent, by field ("prompt", "count"); empty when both can."""

    errors: Mapping[str, str]


@dataclass(frozen=True)
class Sending:
    """The POSTs of `jobs` go out now: told inside the click, before the first await (a studio shows
    their runs' placeholders at once)."""

    jobs: tuple[Submission, ...]


@dataclass(frozen=True)
class Finished:
    """The POSTs of `jobs` have their answers, whatever they were; told even once the machine is closed."""

    jobs: tuple[Submission, ...]


@dataclass(frozen=True)
class RetryOffered:
    """Whether "Retry safely" (the job whose answer was lost, under its idempotency key) is offered."""

    offered: bool


@dataclass(frozen=True)
class Confirmed:
    """The server confirmed a job, and the journal has it (`journal_error` says why not)."""

    registration: Registration
    journal_error: OSError | None


@dataclass(frozen=True)
class AllConfirmed:
    """Every job of a submission of several (a comparison, a template) was confirmed."""

    registrations: tuple[Registration, ...]


SubmitEvent = Said | Asked | FieldsChecked | Sending | Finished | RetryOffered | Confirmed | AllConfirmed
"""What the submit machine tells its listener, in the order it happens."""


class Submitter:
    """One form's submissions: what is in flight, in doubt, awaiting a yes, and recently confirmed.

    Everything it has to show goes to `tell` as a `SubmitEvent`. Once closed (`close()`), a POST in flight
    still finishes and is journaled, but only its `Finished` is told.
    """

    def __init__(
        self,
        client: AsyncQameraClient,
        journal: Journal,
        budget: Budget | None,
        tell: Callable[[SubmitEvent], object],
        *,
        clock: Callable[[], float],
    ) -> None:
        self._client = client
        self.journal = journal
        self.budget = budget
        self._listener = tell
        self._clock = clock
        self.closed = False
        self._said = ""
        self.awaiting: list[Submission] = []
        self._last_confirmed: tuple[str, int, float] | None = None
        self.inflight: asyncio.Task[list[Registration]] | None = None
        self.unconfirmed: Submission | None = None
        self.last_registrations: list[Registration] = []
        self.last_registration: Registration | None = None
        self.history: list[tuple[str, int]] = []
        self._lost_key = ""  # the idempotency key of the job whose answer was lost last

    @property
    def sending(self) -> bool:
        return self.inflight is not None and not self.inflight.done()

    def close(self) -> None:
        """Tell nothing more but `Finished`; a POST in flight still finishes and is journaled."""
        self.closed = True

    def _tell(self, event: SubmitEvent) -> None:
        if not self.closed or isinstance(event, Finished):
            self._listener(event)

    def _say(self, text: str, kind: str = "info") -> None:
        self._said = text
        self._tell(Said(text, kind))

    def start(
        self, jobs: list[Submission] | None, fields: tuple[str, int], *, confirmed: bool = False
    ) -> asyncio.Task[list[Registration]] | None:
        """Everything before the first await: the guard, validation, the questions, the budget,
        and `Sending`. `fields` are the prompt and count shown, used when `jobs` is None.

        Runs synchronously inside the click handler, so a second click arriving before the POST went
        out already finds `inflight` set and joins it.
        """
        if self.closed:
            return None
        if self.inflight is not None and not self.inflight.done():
            return self.inflight
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._say("No running event loop: submit from a notebook cell or `await form.submit()`.")
            return None
        if jobs is None:
            jobs = self._plan(fields, confirmed=confirmed)
            if jobs is None:
                return None
        self.awaiting = []
        self._tell(Asked(""))
        if self.budget is not None and not any(job is self.unconfirmed for job in jobs):
            try:
                self.budget.reserve(jobs_credits(jobs))
            except BudgetExceededError as exc:
                self._say(str(exc), "error")
                return None
        sent = tuple(jobs)
        task = loop.create_task(self._post_all(sent), name="qamera-form-submit")
        self.inflight = task
        self._tell(Sending(sent))
        task.add_done_callback(lambda done: self._finished(done, sent))
        return task

    def _plan(self, fields: tuple[str, int], *, confirmed: bool) -> list[Submission] | None:
        """The jobs the fields ask for, or None when they cannot be sent yet (an error, a question)."""
        errors = field_errors(*fields)
        self._tell(FieldsChecked(errors))
        if errors:
            self._say("")
            return None
        unconfirmed = self._same_as_unconfirmed(fields)
        jobs = [unconfirmed] if unconfirmed is not None else plan_jobs(*fields)
        if self.budget is not None and unconfirmed is None:
            try:  # said before any question: a yes the budget would refuse is no choice at all
                self.budget.check(jobs_credits(jobs))
            except BudgetExceededError as exc:
                self._say(str(exc), "error")
                return None
        question = "" if confirmed or unconfirmed is not None else self._question(jobs)
        if question:
            self.awaiting = jobs
            self._tell(Asked(question))
            return None
        return jobs

    def offer(self, prompt: str, count: int) -> None:
        """Ask before running a past prompt again ("Run again" on a run); the fields already show it."""
        errors = field_errors(prompt, count)
        self._tell(FieldsChecked(errors))
        if errors:
            return
        jobs = plan_jobs(prompt, count)
        if self.budget is not None:
            try:
                self.budget.check(jobs_credits(jobs))
            except BudgetExceededError as exc:
                self._say(str(exc), "error")
                return
        self.awaiting = jobs
        what = plan_text(jobs) if len(jobs) > 1 else cost_text(count).split(" reserved")[0]
        self._tell(Asked(f"Run this prompt again: {what}?"))

    def answer(self, yes: bool) -> None:
        """The person answered the question: send what it was about, or nothing."""
        jobs, self.awaiting = self.awaiting, []
        self._tell(Asked(""))
        if yes and jobs:
            self.start(jobs, ("", 0), confirmed=True)
        elif not yes:
            self._say("Nothing was sent.")

    def _question(self, jobs: Sequence[Submission]) -> str:
        """What to ask before spending: a comparison (several jobs at once), or the same job again
        within a second of the last confirmed one (a double click)."""
        if len(jobs) > 1:
            return f"Generate {plan_text(jobs)}? Each prompt is its own job."
        last = self._last_confirmed
        job = jobs[0]
        recent = last is not None and self._clock() - last[2] < REPEAT_WINDOW_SECONDS
        if recent and last is not None and (job.preferences, job.count) == last[:2]:
            return repeat_question(job)
        return ""

    def _same_as_unconfirmed(self, fields: tuple[str, int]) -> Submission | None:
        """The job in doubt when the fields still ask for exactly it: Generate then resends it under its
        key, so pressing Generate again after a lost answer cannot charge for the same job twice."""
        pending = self.unconfirmed
        if pending is None or fields != (pending.preferences, pending.count):
            return None
        return pending

    def _finished(self, task: asyncio.Task[list[Registration]], jobs: tuple[Submission, ...]) -> None:
        if self.inflight is task:
            self.inflight = None
        self._tell(Finished(jobs))  # also once closed: the POST has its answer, whoever still asks
        if not task.cancelled() and task.exception() is not None:
            logger.error("a submission failed unexpectedly", exc_info=task.exception())

    async def _post_all(self, jobs: Sequence[Submission]) -> list[Registration]:
        """Send the jobs one after the other under the client's pacing; stop at the first that was not
        confirmed or was refused, so nothing more is spent while something is in doubt."""
        confirmed: list[Registration] = []
        for index, job in enumerate(jobs):
            registration = await self._post(job)
            if registration is None:
                unsent = jobs[index + 1 :]
                # A lost answer keeps its job's reservation until the job is known ("Retry safely" under
                # the same key does not reserve again); a refused job and the unsent ones come back.
                lost = self.unconfirmed is not None and self._lost_key == job.idempotency_key
                if self.budget is not None:
                    self.budget.release(jobs_credits(unsent if lost else (job, *unsent)))
                if unsent and not self.closed:
                    self._say(
                        f"{self._said} {len(confirmed)} of {len(jobs)} jobs were registered; the "
                        f"other {len(unsent)} were not sent.",
                        "error",
                    )
                break
            confirmed.append(registration)
        self.last_registrations = confirmed
        template = jobs[0].template if jobs[0].comparison else ""
        if confirmed and is_template(template):
            self._remember(template, jobs[0].count)  # the template, as typed: not its expansions
        if len(confirmed) == len(jobs) > 1:
            self._tell(AllConfirmed(tuple(confirmed)))
        return confirmed

    def _remember(self, prompt: str, count: int) -> None:
        """Put a prompt first in the recent prompts (once)."""
        self.history = [(prompt, count)] + [entry for entry in self.history if entry[0] != prompt]
        del self.history[HISTORY_LIMIT:]

    def restore_history(self, jobs: Sequence[JobRecord]) -> None:
        """The recent prompts after a kernel restart, from the store's jobs (when none were sent yet)."""
        if not self.history:
            self.history = history_from_jobs(jobs, HISTORY_LIMIT)

    async def _post(self, submission: Submission) -> Registration | None:
        self._lost_key = ""
        verb = "Retrying with the same idempotency key" if submission is self.unconfirmed else "Submitting"
        self._say(f"{verb}: {cost_text(submission.count)}…")
        slow_note = asyncio.get_running_loop().call_later(SLOW_ANSWER_SECONDS, self._note_slow_answer)
        try:
            registration = await self._client.register_ideas(
                submission.preferences, submission.count, idempotency_key=submission.idempotency_key
            )
        except asyncio.CancelledError:
            logger.warning(
                "a submission was cancelled before the server answered; the job may exist "
                "(idempotency key %s): check the scenery list before submitting it again",
                submission.idempotency_key,
            )
            raise
        except SubmissionUnconfirmedError as exc:
            self.unconfirmed = replace(
                submission, idempotency_key=exc.idempotency_key or submission.idempotency_key
            )
            self._lost_key = submission.idempotency_key
            await self._journal_unconfirmed(self.unconfirmed)
            self._tell(RetryOffered(True))
            self._say(UNCONFIRMED_MESSAGE, "error")
            return None
        except RateLimitError:
            self._say(RATE_LIMITED_MESSAGE, "error")
            return None
        except Exception as exc:
            logger.info("submission refused: %s", type(exc).__name__)
            self._say(describe_error(exc), "error")
            return None
        finally:
            slow_note.cancel()
        journal_error = await self._write_journal(
            "the job",
            self.journal.record_registration,
            registration,
            comparison=submission.comparison,
            template=submission.template,
            parts=submission.parts,
            retry_of=submission.retry_of,
        )
        self._confirmed(registration, journal_error, submission)
        return registration

    async def _journal_unconfirmed(self, submission: Submission) -> None:
        """A job that may have been charged is written down too, so it can be checked after a restart."""
        await self._write_journal(
            f"the unconfirmed submission (idempotency key {submission.idempotency_key})",
            self.journal.record_unconfirmed,
            prompt=submission.preferences,
            count=submission.count,
            idempotency_key=submission.idempotency_key,
        )

    async def _write_journal(
        self, what: str, write: Callable[..., object], *args: object, **fields: object
    ) -> OSError | None:
        """One journal write for this client's server and key, with fsync in a thread so the kernel's loop
        stays free; a disk that refuses is logged and returned, never raised into the click."""
        try:
            await asyncio.to_thread(
                write, *args, base_url=self._client.base_url, key_id=self._client.key_id, **fields
            )
        except OSError as exc:
            logger.warning("could not journal %s in %s: %s", what, self.journal.path, exc)
            return exc
        return None

    def _note_slow_answer(self) -> None:
        if self.sending:
            self._say(
                "Still waiting for the server (it may be busy or rate limiting; a refused attempt is "
                "retried with the same idempotency key)…"
            )

    def _confirmed(
        self, registration: Registration, journal_error: OSError | None, submission: Submission
    ) -> None:
        """Tell the person, after the journal: a job the UI reported must survive a kernel restart."""
        if self.unconfirmed is not None and self.unconfirmed.idempotency_key == registration.idempotency_key:
            self.unconfirmed = None
        if self.budget is not None:
            self.budget.claim(registration.record_ids)  # only these can give credits back
        self.last_registration = registration
        self._last_confirmed = (registration.preferences, registration.count, self._clock())
        if self.closed:
            return
        if not is_template(submission.template):
            self._remember(registration.preferences, registration.count)
        self._tell(RetryOffered(self.unconfirmed is not None))
        self._tell(Confirmed(registration, journal_error))
