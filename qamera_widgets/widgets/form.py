"""PromptForm: write a prompt, see what it costs, submit it once, and never lose a confirmed job.

Every submission costs credits, so the form is careful in four places: it refuses what the server
would refuse before sending anything (in sentences, not field names), it sends at most one POST
however often Generate is clicked, when the server's answer is lost it offers a retry (and makes
Generate resend the same job) under the same idempotency key instead of charging twice, and a POST
already sent is never cut off: closing the form lets it finish and journals what the server confirmed.

It is one anywidget model (``static/form.js``): a live character counter and Ctrl/Cmd+Enter need
the browser, and a studio stays a handful of widget models.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anywidget
import traitlets

from .. import contract
from ..budget import Budget, BudgetExceededError
from ..client import (
    InvalidRequestError,
    RateLimitError,
    Registration,
    SubmissionUnconfirmedError,
    rules,
)
from ..engine.journal import Journal
from ..variants import MAX_VARIANTS, TemplateError, Variant, expand, is_template
from ._common import AnyClient, Callbacks, TaskSet, as_async_client, describe_error, excerpt, loop_running
from .canvas import STATIC

__all__ = [
    "UNCONFIRMED_MESSAGE",
    "PromptForm",
    "Submission",
    "compare_jobs",
    "cost_text",
    "field_errors",
    "plan_jobs",
    "plan_text",
]

logger = logging.getLogger("qamera_widgets.widgets")

UNCONFIRMED_MESSAGE = (
    "The server did not confirm this job; it may still have been created. "
    "Check the runs and the library before submitting again, or press Retry safely."
)
RATE_LIMITED_MESSAGE = (
    "The server is rate limiting this key (429) and kept refusing while we retried; the job was not "
    "registered and nothing was charged. Wait a minute and submit again."
)
SLOW_ANSWER_SECONDS = 3.0
REPEAT_WINDOW_SECONDS = 1.0
"""A second Generate of the same prompt and count this soon after a confirmed job asks before paying."""
HISTORY_LIMIT = 30
MAX_CHARS = contract.MAX_PREFERENCES_CHARS
MIN_COUNT, MAX_COUNT = contract.MIN_COUNT, contract.MAX_COUNT

SubmitCallback = Callable[[Registration], Any]
StartCallback = Callable[["Submission"], Any]


def _valid_count(count: object) -> bool:
    return isinstance(count, int) and not isinstance(count, bool) and MIN_COUNT <= count <= MAX_COUNT


def cost_text(count: object) -> str:
    """What a submission reserves, said before it is sent; silent on price when the count is invalid,
    so the cost line never contradicts the count's error."""
    if not _valid_count(count):
        return f"Choose how many pictures to generate ({MIN_COUNT} to {MAX_COUNT})."
    assert isinstance(count, int)
    noun = "picture" if count == 1 else "pictures"
    return (
        f"{count} {noun} · {count * contract.PRICE_PER_ITEM} credits reserved now, refunded for any that fail"
    )


def field_errors(prompt: object, count: object) -> dict[str, str]:
    """Per-field sentences in the user's words; the client's own validation has the last word, so the
    form and the client never disagree about what is sendable."""
    errors: dict[str, str] = {}
    if isinstance(prompt, str) and is_template(prompt):
        try:
            expand(prompt)
        except TemplateError as exc:
            errors["prompt"] = str(exc)
    if "prompt" in errors:
        pass
    elif not isinstance(prompt, str) or not prompt.strip():
        errors["prompt"] = "The prompt is empty: describe the scene you want."
    elif len(prompt) > MAX_CHARS:
        errors["prompt"] = (
            f"The prompt is {len(prompt):,} characters long; shorten it to {MAX_CHARS:,} or fewer."
        )
    else:
        try:
            rules.validate_registration(prompt, contract.DEFAULT_COUNT)
        except InvalidRequestError as exc:
            errors["prompt"] = str(exc)
    if not _valid_count(count):
        errors["count"] = f"Choose a whole number of pictures from {MIN_COUNT} to {MAX_COUNT}."
    return errors


@dataclass(frozen=True)
class Submission:
    """What one POST carries; kept whole so a retry resends exactly the same job under the same key."""

    preferences: str
    count: int
    idempotency_key: str
    comparison: str = ""
    """Shared by the jobs of one comparison (one template or `Studio.compare`); '' for a lone prompt."""
    template: str = ""
    parts: tuple[tuple[str, bool], ...] = ()
    """The prompt as (text, varies) pieces, for highlighting what differs between a comparison's rows."""


def plan_jobs(prompt: str, count: int) -> list[Submission]:
    """The jobs one Generate sends: one per expansion of a template, else one; each with its own key."""
    variants = expand(prompt) if is_template(prompt) else [Variant(prompt, (), ((prompt, False),))]
    group = f"cmp-{uuid.uuid4().hex[:12]}" if len(variants) > 1 else ""
    template = prompt if group else ""
    return [Submission(v.text, count, str(uuid.uuid4()), group, template, v.parts) for v in variants]


def compare_jobs(prompts: Sequence[str], count: int) -> list[Submission]:
    """Jobs for a list of prompts compared side by side; the words not shared by all are highlighted."""
    if not prompts:
        raise ValueError("Give at least one prompt to compare.")
    # Sizes first, before a word of any prompt is read: a list can come from anywhere.
    if len(prompts) > MAX_VARIANTS:
        raise TemplateError(
            f"This comparison has {len(prompts):,} prompts; the limit is {MAX_VARIANTS}. Compare fewer."
        )
    for text in prompts:
        if len(text) > MAX_CHARS:
            raise TemplateError(
                f"A prompt to compare is {len(text):,} characters long; shorten it to {MAX_CHARS:,} or fewer."
            )
    group = f"cmp-{uuid.uuid4().hex[:12]}"
    shared = set.intersection(*(set(p.casefold().split()) for p in prompts))
    jobs = []
    for text in prompts:
        parts = tuple((word + " ", word.casefold() not in shared) for word in text.split())
        jobs.append(Submission(text, count, str(uuid.uuid4()), group, " | ".join(prompts), parts))
    return jobs


def plan_text(jobs: Sequence[Submission]) -> str:
    """'3 prompts x 4 pictures = 12 pictures, 120 credits' for a comparison; '' for one prompt."""
    if len(jobs) < 2:
        return ""
    count = jobs[0].count
    pictures = sum(j.count for j in jobs)
    return (
        f"{len(jobs)} prompts × {count} {'picture' if count == 1 else 'pictures'} = {pictures} pictures, "
        f"{pictures * contract.PRICE_PER_ITEM} credits"
    )


def _text(help: str, *, default: str = "") -> traitlets.Unicode[str, str | bytes]:
    """A synced line of text: Python words it, the browser only draws it (as text, never as HTML)."""
    return traitlets.Unicode(default, help=help).tag(sync=True)


class PromptForm(anywidget.AnyWidget):
    """A prompt box with a live counter, a count, the cost, Generate (or Ctrl/Cmd+Enter) and the outcome.

    `await form.submit()` does what the button does; while a submission is in flight every further
    click or `submit()` joins it instead of sending a second POST. `close()` does not cancel a POST
    in flight: it finishes, its registration is journaled, and only the widget updates are skipped.
    """

    _esm = STATIC / "form.js"
    _css = STATIC / "canvas.css"

    prompt = _text("The description of the scenery to generate.")
    count = traitlets.Int(contract.START_COUNT, help=f"How many pictures ({MIN_COUNT}-{MAX_COUNT}).").tag(
        sync=True
    )
    max_chars = traitlets.Int(MAX_CHARS, read_only=True, help="The prompt's length limit.").tag(sync=True)
    # The limits form.js needs, from contract.py: the browser never types them itself.
    min_count = traitlets.Int(MIN_COUNT, read_only=True, help="The fewest pictures a job may ask for.").tag(
        sync=True
    )
    max_count = traitlets.Int(MAX_COUNT, read_only=True, help="The most pictures a job may ask for.").tag(
        sync=True
    )
    max_prompt_chars = traitlets.Int(MAX_CHARS, read_only=True, help="The prompt's length limit.").tag(
        sync=True
    )
    price_per_picture = traitlets.Int(
        contract.PRICE_PER_ITEM, read_only=True, help="Credits one picture costs."
    ).tag(sync=True)
    submitting = traitlets.Bool(
        False, help="True from the click until the server answered; Generate is disabled meanwhile."
    ).tag(sync=True)
    can_retry = traitlets.Bool(False, help="Whether 'Retry safely' is offered.").tag(sync=True)
    history = traitlets.List(
        traitlets.Dict(), help="Recent prompts, newest first: label, prompt, count."
    ).tag(sync=True)
    variants = traitlets.List(
        traitlets.Dict(), help="What a template expands to before anything is sent: text and parts."
    ).tag(sync=True)

    # What the form says, each a line of plain text that form.js shows as it is ('' hides it).
    cost = _text("What Generate reserves, in one sentence.")
    prompt_error = _text("Why the prompt cannot be sent.")
    count_error = _text("Why the count cannot be sent.")
    plan = _text("How many jobs, pictures and credits a template makes.")
    confirm = _text("A question to answer before anything is sent.")
    budget_text = _text("What is left of the budget, when one is set.")
    status = _text("The outcome of the last submission, in plain words.")
    status_kind = _text("'info', 'ok' or 'error': how the status line is styled.", default="info")
    batch_id = _text("The last confirmed job's batch id, shown copyable.")
    heading = _text("A title line above the prompt (the Studio's).")
    badge = _text("A short mark beside the heading, e.g. that this is the sandbox.")
    notice = _text("One line about where this talks to.")
    account = _text("The account's credits, when known.")

    def __init__(
        self,
        client: AnyClient,
        *,
        journal: Journal | None = None,
        budget: Budget | None = None,
        clock: Callable[[], float] = time.monotonic,
        **kwargs: Any,
    ) -> None:
        """`budget` caps the credits this form may reserve (see `qamera_widgets.budget`)."""
        self._client = as_async_client(client)
        self.budget = budget
        self._clock = clock
        self._awaiting: list[Submission] = []
        self._last_confirmed: tuple[str, int, float] | None = None
        self.last_registrations: list[Registration] = []
        self._journal = journal if journal is not None else Journal()
        self._tasks = TaskSet()
        self._callbacks = Callbacks("on_submit")
        self._start_callbacks = Callbacks("on_start")
        self._inflight: asyncio.Task[list[Registration]] | None = None
        self._unconfirmed: Submission | None = None
        self._closed = False
        self._history: list[tuple[str, int]] = []
        self.last_registration: Registration | None = None
        super().__init__(**kwargs)
        self.cost = cost_text(self.count)
        self._show_budget()
        self.observe(self._on_count_change, names="count")
        self.observe(self._on_prompt_change, names="prompt")
        self.on_msg(self._on_browser_message)

    @traitlets.validate("count")
    def _whole_count(self, proposal: dict[str, Any]) -> int:
        value = proposal["value"]
        if not _valid_count(value):
            raise traitlets.TraitError(
                f"count must be a whole number from {MIN_COUNT} to {MAX_COUNT}, not {value!r}."
            )
        return int(value)

    def on_submit(self, callback: SubmitCallback, remove: bool = False) -> None:
        """Call `callback(registration)` after each confirmed submission (once it is in the journal).

        It runs in the background task that sent the POST, so it should only change traits.
        """
        self._callbacks.register(callback, remove)

    def on_start(self, callback: StartCallback, remove: bool = False) -> None:
        """Call `callback(submission)` when a POST is about to be sent, inside the click handler or the
        `submit()` call (the Studio shows the run's placeholders from here)."""
        self._start_callbacks.register(callback, remove)

    async def submit(self, *, confirmed: bool = False) -> Registration | None:
        """Validate and send the current prompt, as Generate does; None when invalid, refused, unconfirmed
        or waiting for a yes (see `confirm`). A template sends one job per variant and returns the first;
        `last_registrations` holds them all. `confirmed=True` answers the question in advance."""
        registrations = await self._await(self._start(None, confirmed=confirmed))
        return registrations[0] if registrations else None

    async def submit_jobs(self, jobs: Sequence[Submission]) -> list[Registration]:
        """Send prepared jobs (see `plan_jobs`, `compare_jobs`) after the budget check; the confirmed ones."""
        return await self._await(self._start(list(jobs), confirmed=True))

    async def retry_unconfirmed(self) -> Registration | None:
        """Resend the last unconfirmed job with its idempotency key (what "Retry safely" does)."""
        if self._unconfirmed is None:
            return None
        registrations = await self._await(self._start([self._unconfirmed], confirmed=True))
        return registrations[0] if registrations else None

    async def wait_idle(self) -> None:
        """Until the submission in flight, if any, has its answer (journaled when it was confirmed)."""
        task = self._inflight
        if task is not None:
            await asyncio.wait({task})

    @property
    def pending_retry_key(self) -> str | None:
        """The idempotency key a "Retry safely" would reuse, while a job's outcome is unknown."""
        return None if self._unconfirmed is None else self._unconfirmed.idempotency_key

    @property
    def history_prompts(self) -> list[tuple[str, int]]:
        return list(self._history)

    def offer(self, prompt: str, count: int) -> None:
        """Fill the form with a past prompt and ask before running it again ("Run again" on a run)."""
        if self._closed:
            return
        self.use_prompt(prompt, count)
        errors = field_errors(prompt, count)
        self._show_field_errors(errors)
        if errors:
            return
        jobs = plan_jobs(prompt, count)
        credits = sum(job.count for job in jobs) * contract.PRICE_PER_ITEM
        if self.budget is not None:
            try:
                self.budget.check(credits)
            except BudgetExceededError as exc:
                self._set_status(str(exc), kind="error")
                return
        self._awaiting = jobs
        what = plan_text(jobs) if len(jobs) > 1 else cost_text(count).split(" reserved")[0]
        self.confirm = f"Run this prompt again: {what}?"

    def use_prompt(self, prompt: str, count: int | None = None) -> None:
        """Put a prompt (and optionally a count) into the form, as "Use this prompt" does."""
        self.prompt = prompt
        if count is not None:
            self.count = count

    def close(self) -> None:
        """Close the widget; a POST in flight still finishes and is journaled (the job may be charged)."""
        self._closed = True
        self._callbacks.clear()
        self._start_callbacks.clear()
        super().close()
        self.layout.close()  # ipywidgets leaves the layout's model open, and nothing else holds it

    @staticmethod
    async def _await(task: asyncio.Task[list[Registration]] | None) -> list[Registration]:
        if task is None:
            return []
        # Shielded: a cell interrupted while waiting must not cut a POST off halfway.
        return await asyncio.shield(task)

    def _on_browser_message(self, _widget: Any, content: Any, _buffers: Sequence[Any]) -> None:
        if self._closed or not isinstance(content, Mapping):
            return
        kind = content.get("kind")
        if kind == "generate":
            self._take_fields(content)
            self._start(None)
        elif kind == "confirm":
            self._answer(bool(content.get("yes")))
        elif kind == "retry" and self._unconfirmed is not None:
            self._start([self._unconfirmed], confirmed=True)
        elif kind == "history":
            index = content.get("index")
            if isinstance(index, int) and 0 <= index < len(self._history):
                self.use_prompt(*self._history[index])

    def _take_fields(self, content: Mapping[str, Any]) -> None:
        """The fields as the browser showed them when Generate was pressed (see form.js `submit`)."""
        prompt = content.get("prompt")
        if isinstance(prompt, str) and not (self._inflight is not None and not self._inflight.done()):
            self.prompt = prompt
        count = content.get("count")
        if isinstance(count, int) and _valid_count(count):
            self.count = count

    def _start(
        self, jobs: list[Submission] | None, *, confirmed: bool = False
    ) -> asyncio.Task[list[Registration]] | None:
        """Everything before the first await: the guard, validation, the questions, the budget, `on_start`
        and disabling Generate.

        Runs synchronously inside the click handler, so a second click arriving before the POST went
        out already finds `_inflight` set and joins it.
        """
        if self._closed:
            return None
        if self._inflight is not None and not self._inflight.done():
            return self._inflight
        if not loop_running():
            self._set_status("No running event loop: submit from a notebook cell or `await form.submit()`.")
            return None
        if jobs is None:
            errors = field_errors(self.prompt, self.count)
            self._show_field_errors(errors)
            if errors:
                self._set_status("")
                return None
            unconfirmed = self._same_as_unconfirmed()
            jobs = [unconfirmed] if unconfirmed is not None else plan_jobs(self.prompt, self.count)
            if self.budget is not None and unconfirmed is None:
                try:  # said before any question: a yes the budget would refuse is no choice at all
                    self.budget.check(sum(job.count for job in jobs) * contract.PRICE_PER_ITEM)
                except BudgetExceededError as exc:
                    self._set_status(str(exc), kind="error")
                    return None
            question = "" if confirmed or unconfirmed is not None else self._question(jobs)
            if question:
                self._awaiting = jobs
                self.confirm = question
                return None
        self._awaiting = []
        self.confirm = ""
        credits = sum(job.count for job in jobs) * contract.PRICE_PER_ITEM
        if self.budget is not None and not any(job is self._unconfirmed for job in jobs):
            try:
                self.budget.reserve(credits)
            except BudgetExceededError as exc:
                self._set_status(str(exc), kind="error")
                return None
        for job in jobs:
            self._start_callbacks(job)
        task = self._tasks.spawn(self._post_all(jobs), name="qamera-form-submit")
        if task is None:
            return None
        self._inflight = task
        self.submitting = True
        task.add_done_callback(self._finished)
        return task

    def _question(self, jobs: Sequence[Submission]) -> str:
        """What to ask before spending: a comparison (several jobs at once), or the same job again
        within a second of the last confirmed one (a double click)."""
        if len(jobs) > 1:
            return f"Generate {plan_text(jobs)}? Each prompt is its own job."
        last = self._last_confirmed
        job = jobs[0]
        recent = last is not None and self._clock() - last[2] < REPEAT_WINDOW_SECONDS
        if recent and last is not None and (job.preferences, job.count) == last[:2]:
            noun = "picture" if job.count == 1 else "pictures"
            return (
                f"You generated this prompt a moment ago. Generate another batch of {job.count} {noun} "
                f"({job.count * contract.PRICE_PER_ITEM} credits)?"
            )
        return ""

    def _answer(self, yes: bool) -> None:
        """The person answered the question in `confirm`: send what it was about, or nothing."""
        jobs, self._awaiting = self._awaiting, []
        self.confirm = ""
        if yes and jobs:
            self._start(jobs, confirmed=True)
        elif not yes:
            self._set_status("Nothing was sent.")

    def _same_as_unconfirmed(self) -> Submission | None:
        """The job in doubt when the fields still ask for exactly it: Generate then resends it under its
        key, so pressing Generate again after a lost answer cannot charge for the same job twice."""
        pending = self._unconfirmed
        if pending is None or (self.prompt, self.count) != (pending.preferences, pending.count):
            return None
        return pending

    def _finished(self, task: asyncio.Task[list[Registration]]) -> None:
        if self._inflight is task:
            self._inflight = None
        self.submitting = False  # also once closed: the POST has its answer, whoever still asks

    async def _post_all(self, jobs: Sequence[Submission]) -> list[Registration]:
        """Send the jobs one after the other under the client's pacing; stop at the first that was not
        confirmed or was refused, so nothing more is spent while something is in doubt."""
        confirmed: list[Registration] = []
        for index, job in enumerate(jobs):
            registration = await self._post(job)
            if registration is None:
                unsent = jobs[index + 1 :]
                if self.budget is not None:
                    self.budget.release(sum(j.count for j in (job, *unsent)) * contract.PRICE_PER_ITEM)
                if unsent and not self._closed:
                    self._set_status(
                        f"{self.status} {len(confirmed)} of {len(jobs)} jobs were registered; the other "
                        f"{len(unsent)} were not sent.",
                        kind="error",
                    )
                break
            confirmed.append(registration)
        self.last_registrations = confirmed
        return confirmed

    async def _post(self, submission: Submission) -> Registration | None:
        verb = "Retrying with the same idempotency key" if submission is self._unconfirmed else "Submitting"
        self._set_status(f"{verb}: {cost_text(submission.count)}…")
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
            self._unconfirmed = Submission(
                submission.preferences, submission.count, exc.idempotency_key or submission.idempotency_key
            )
            await self._journal_unconfirmed(self._unconfirmed)
            if not self._closed:
                self.can_retry = True
                self._set_status(UNCONFIRMED_MESSAGE, kind="error")
            return None
        except RateLimitError:
            self._set_status(RATE_LIMITED_MESSAGE, kind="error")
            return None
        except Exception as exc:
            logger.info("submission refused: %s", type(exc).__name__)
            self._set_status(describe_error(exc), kind="error")
            return None
        finally:
            slow_note.cancel()
        journal_error = await self._journal_registration(registration, submission)
        self._confirmed(registration, journal_error)
        return registration

    async def _journal_registration(
        self, registration: Registration, submission: Submission
    ) -> OSError | None:
        """On disk before anything reports success."""
        return await self._write_journal(
            "the job",
            self._journal.record_registration,
            registration,
            comparison=submission.comparison,
            template=submission.template,
            parts=submission.parts,
        )

    async def _journal_unconfirmed(self, submission: Submission) -> None:
        """A job that may have been charged is written down too, so it can be checked after a restart."""
        await self._write_journal(
            f"the unconfirmed submission (idempotency key {submission.idempotency_key})",
            self._journal.record_unconfirmed,
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
            logger.warning("could not journal %s in %s: %s", what, self._journal.path, exc)
            return exc
        return None

    def _note_slow_answer(self) -> None:
        if self.submitting and not self._closed:
            self._set_status(
                "Still waiting for the server (it may be busy or rate limiting; a refused attempt is "
                "retried with the same idempotency key)…"
            )

    def _confirmed(self, registration: Registration, journal_error: OSError | None) -> None:
        """Tell the user, after the journal: a job the UI reported must survive a kernel restart."""
        if self.pending_retry_key == registration.idempotency_key:
            self._unconfirmed = None
        self.last_registration = registration
        self._last_confirmed = (registration.preferences, registration.count, self._clock())
        if self._closed:
            return
        noun = "picture" if registration.count == 1 else "pictures"
        text = (
            f"Job registered: {registration.count} {noun}, {registration.credits_reserved} credits reserved "
            "(refunded for any that fail)."
        )
        if journal_error is not None:
            text += (
                " Could not write the job journal "
                f"({journal_error.strerror or type(journal_error).__name__}): keep this batch id to find "
                "the job again."
            )
        self.can_retry = self._unconfirmed is not None
        self._set_status(text, kind="ok" if journal_error is None else "error")
        self.batch_id = registration.batch_id
        self._show_budget()
        self._remember(registration.preferences, registration.count)
        self._callbacks(registration)

    def _remember(self, prompt: str, count: int) -> None:
        self._history = [(prompt, count)] + [entry for entry in self._history if entry[0] != prompt]
        del self._history[HISTORY_LIMIT:]
        self.history = [
            {"label": f"{excerpt(text, 70)} ({n})", "prompt": text, "count": n} for text, n in self._history
        ]

    def _on_count_change(self, _change: dict[str, Any]) -> None:
        self.cost = cost_text(self.count)
        self._show_plan()
        if self.count_error:
            self._show_field_errors(field_errors(self.prompt, self.count))

    def _on_prompt_change(self, _change: dict[str, Any]) -> None:
        if self.prompt_error:
            self._show_field_errors(field_errors(self.prompt, self.count))
        if self.confirm:
            self._answer(False)
        self._show_plan()

    def _show_plan(self) -> None:
        """The expansions of a template, live as it is typed; its errors wait for Generate."""
        if not is_template(self.prompt):
            self.variants, self.plan = [], ""
            return
        try:
            jobs = plan_jobs(self.prompt, self.count if _valid_count(self.count) else 1)
        except TemplateError:
            self.variants, self.plan = [], ""
            return
        self.variants = [{"text": j.preferences, "parts": [list(p) for p in j.parts]} for j in jobs]
        self.plan = plan_text(jobs) if _valid_count(self.count) else ""

    def refresh_budget(self) -> None:
        """Show the budget again after someone else changed it (the Studio, when items failed)."""
        self._show_budget()

    def _show_budget(self) -> None:
        if self.budget is not None:
            self.budget_text = f"Budget: {self.budget.remaining} of {self.budget.limit} credits left"

    def _show_field_errors(self, errors: Mapping[str, str]) -> None:
        self.prompt_error = errors.get("prompt", "")
        self.count_error = errors.get("count", "")

    def _set_status(self, text: str, *, kind: str = "info") -> None:
        if self._closed:
            return
        if kind != "ok":
            self.batch_id = ""
        self.status_kind = kind
        self.status = text
