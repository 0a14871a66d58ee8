"""PromptForm: write a prompt, see what it costs, submit it once, and never lose a confirmed job.

Every submission costs credits, so the form is careful in four places: it refuses what the server
would refuse before sending anything (in sentences, not field names), it sends at most one POST
however often Generate is clicked, when the server's answer is lost it offers a retry (and makes
Generate resend the same job) under the same idempotency key instead of charging twice, and a POST
already sent is never cut off: closing the form lets it finish and journals what the server confirmed.

The widget holds the traits and routes the browser's messages; the planning and its sentences live in
`engine.jobs.plans`, the submit state machine (one POST at a time, questions, budget, retry, journal) in
`engine.jobs.submitting`, which tells the form what happens as events (`_show` draws each one). It is
one anywidget model (``static/form.js``): a live character counter and Ctrl/Cmd+Enter need the browser,
and a studio stays a handful of widget models.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anywidget
import traitlets

from .. import contract
from ..client import Registration
from ..engine.jobs.budgets import Budget
from ..engine.jobs.journal import Journal
from ..engine.jobs.plans import (
    MAX_CHARS,
    MAX_COUNT,
    MIN_COUNT,
    Submission,
    confirmed_text,
    cost_text,
    field_errors,
    history_entries,
    jobs_cost_text,
    plan_jobs,
    plan_text,
    registered_text,
    valid_count,
)
from ..engine.jobs.submitting import (
    AllConfirmed,
    Asked,
    Confirmed,
    FieldsChecked,
    Finished,
    RetryOffered,
    Said,
    Sending,
    SubmitEvent,
    Submitter,
)
from ..engine.jobs.templates import TemplateError, is_template
from ..engine.store import JobRecord
from . import protocol
from .basics import AnyClient, Callbacks, as_async_client
from .canvas import STATIC

__all__ = [
    "PromptForm",
]

KEPT_PROMPT_CHARS = 4 * MAX_CHARS
"""What the form keeps of a pasted prompt: enough to say it is too long, never a megabyte on the loop."""

SubmitCallback = Callable[[Registration], Any]
StartCallback = Callable[[Submission], Any]


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
    # The contract's limits, for the browser: form.js never types a number the API owns.
    min_count = traitlets.Int(MIN_COUNT, read_only=True, help="The fewest pictures one job asks for.").tag(
        sync=True
    )
    max_count = traitlets.Int(MAX_COUNT, read_only=True, help="The most pictures one job asks for.").tag(
        sync=True
    )
    max_prompt_chars = traitlets.Int(
        MAX_CHARS, read_only=True, help="The prompt's length limit (the same as max_chars)."
    ).tag(sync=True)
    price_per_picture = traitlets.Int(
        contract.PRICE_PER_ITEM, read_only=True, help="Credits one picture reserves."
    ).tag(sync=True)
    submitting = traitlets.Bool(
        False, help="True from the click until the server answered; Generate is disabled meanwhile."
    ).tag(sync=True)
    can_retry = traitlets.Bool(False, help="Whether 'Retry safely' is offered.").tag(sync=True)
    focus_prompt = traitlets.Int(0, help="Raised to put the keyboard focus in the prompt box (Edit).").tag(
        sync=True
    )
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

    browser_writable = frozenset({"prompt", "count"})
    """What the view may change; the rest it only draws (see `protocol.BrowserWrites`)."""
    runs_elsewhere = False
    """True when a runs board draws every confirmed job (the Studio's): what a job registered is then said
    in its run's header, and the form's status line is left for what is about its own submit (errors,
    doubts); on its own the form says it, with the batch id."""

    def __init__(
        self,
        client: AnyClient,
        *,
        journal: Journal | None = None,
        budget: Budget | None = None,
        clock: Callable[[], float] = time.monotonic,
        **kwargs: Any,
    ) -> None:
        """`budget` caps the credits this form may reserve (see `qamera_widgets.engine.jobs.budgets`)."""
        self._closed = False
        self._callbacks = Callbacks("on_submit")
        self._start_callbacks = Callbacks("on_start")
        self._listeners = Callbacks("submit-event")
        self._submitter = Submitter(
            as_async_client(client),
            journal if journal is not None else Journal(),
            budget,
            self._show,
            clock=clock,
        )
        self._browser_writes = protocol.BrowserWrites(
            self.browser_writable, apply=super().set_state, send_back=self.send_state
        )
        super().__init__(**kwargs)
        self.cost = cost_text(self.count)
        self._show_budget()
        self.observe(self._on_count_change, names="count")
        self.observe(self._on_prompt_change, names="prompt")
        self._on_browser_message = protocol.MessageRouter(
            type(self).__name__,
            {
                protocol.GENERATE: self._generate,
                protocol.CONFIRM: lambda message: self._submitter.answer(bool(message.get("yes"))),
                protocol.RETRY: self._retry,
                protocol.HISTORY: self._reuse_history,
            },
        )
        self.on_msg(self._on_browser_message)

    def set_state(self, sync_data: dict[str, Any]) -> None:
        """Take from the browser only the traits in `browser_writable`, each through its validators."""
        self._browser_writes.take(sync_data)

    @property
    def closed(self) -> bool:
        """Whether `close()` was called (a POST in flight still finishes and is journaled)."""
        return self._closed

    @property
    def budget(self) -> Budget | None:
        return self._submitter.budget

    @budget.setter
    def budget(self, value: Budget | None) -> None:
        self._submitter.budget = value

    @property
    def last_registration(self) -> Registration | None:
        return self._submitter.last_registration

    @property
    def last_registrations(self) -> list[Registration]:
        return self._submitter.last_registrations

    @traitlets.validate("prompt")
    def _bounded_prompt(self, proposal: dict[str, Any]) -> str:
        """Kept past the limit (so the form can say it is too long) but never without bound."""
        value = proposal["value"]
        if not isinstance(value, str):
            raise traitlets.TraitError(f"The prompt is text, not {type(value).__name__}.")
        return value[:KEPT_PROMPT_CHARS]

    @traitlets.validate("count")
    def _whole_count(self, proposal: dict[str, Any]) -> int:
        value = proposal["value"]
        if not valid_count(value):
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
        `submit()` call."""
        self._start_callbacks.register(callback, remove)

    def subscribe(self, listener: Callable[[SubmitEvent], object]) -> Callable[[], None]:
        """Call `listener(event)` with everything the form's submit machine tells (`engine.jobs.submitting`:
        the jobs going out, each confirmation, the end of a submission...), after the form has shown it;
        returns the function that unsubscribes. A closed form still tells `Finished`. The Studio's runs
        follow the form this way (`StatusBoard.show_submission`)."""
        self._listeners.register(listener)
        return lambda: self._listeners.register(listener, remove=True)

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
        unconfirmed = self._submitter.unconfirmed
        if unconfirmed is None:
            return None
        registrations = await self._await(self._start([unconfirmed], confirmed=True))
        return registrations[0] if registrations else None

    async def wait_idle(self) -> None:
        """Until the submission in flight, if any, has its answer (journaled when it was confirmed)."""
        task = self._submitter.inflight
        if task is not None:
            await asyncio.wait({task})

    @property
    def pending_retry_key(self) -> str | None:
        """The idempotency key a "Retry safely" would reuse, while a job's outcome is unknown."""
        unconfirmed = self._submitter.unconfirmed
        return None if unconfirmed is None else unconfirmed.idempotency_key

    @property
    def history_prompts(self) -> list[tuple[str, int]]:
        return list(self._submitter.history)

    def offer(self, prompt: str, count: int) -> None:
        """Fill the form with a past prompt and ask before running it again ("Run again" on a run)."""
        if self.closed:
            return
        self.use_prompt(prompt, count)
        self._submitter.offer(prompt, count)

    def run_again(self, prompt: str, count: int) -> None:
        """Send a past prompt again, already confirmed beside its run ("Run again"): the fields stay as
        they are, since the person may be writing the next prompt."""
        if self.closed:
            return
        errors = field_errors(prompt, count)
        if errors:
            self._say(" ".join(errors.values()), "error")
            return
        self._submitter.start(plan_jobs(prompt, count), (prompt, count), confirmed=True)

    def edit(self, prompt: str, count: int) -> None:
        """ "Edit" on a run: its prompt (or template) and its count in the form, the focus in the box."""
        self.use_prompt(prompt, count if valid_count(count) else None)
        self.focus_prompt += 1

    def use_prompt(self, prompt: str, count: int | None = None) -> None:
        """Put a prompt (and optionally a count) into the form, as "Use this prompt" does."""
        self.prompt = prompt
        if count is not None:
            self.count = count

    def restore_history(self, jobs: Sequence[JobRecord]) -> None:
        """After a kernel restart: the recent prompts and the last count from the store's jobs (oldest
        first), unless this form has sent something already."""
        if self._submitter.history or not jobs:
            return
        untouched = not self.prompt and self.count == contract.START_COUNT
        self._submitter.restore_history(jobs)
        self.history = history_entries(self._submitter.history)
        if untouched and valid_count(jobs[-1].count):  # never over a count the person already chose
            self.count = jobs[-1].count

    def refresh_budget(self) -> None:
        """Show the budget again after someone else changed it (the Studio, when items failed)."""
        self._show_budget()

    def close(self) -> None:
        """Close the widget; a POST in flight still finishes and is journaled (the job may be charged)."""
        self._closed = True
        self._submitter.close()
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

    def _start(
        self, jobs: list[Submission] | None, *, confirmed: bool = False
    ) -> asyncio.Task[list[Registration]] | None:
        return self._submitter.start(jobs, (self.prompt, self.count), confirmed=confirmed)

    def _generate(self, message: protocol.BrowserMessage) -> None:
        if self._take_fields(message):
            self._start(None)

    def _retry(self, _message: protocol.BrowserMessage) -> None:
        unconfirmed = self._submitter.unconfirmed
        if unconfirmed is not None:
            self._start([unconfirmed], confirmed=True)

    def _reuse_history(self, message: protocol.BrowserMessage) -> None:
        index, history = message["index"], self._submitter.history
        if 0 <= index < len(history):
            self.use_prompt(*history[index])

    def _take_fields(self, content: Mapping[str, Any]) -> bool:
        """The fields as the browser showed them when Generate was pressed (see form.js `submit`); False,
        with a sentence and nothing sent, when the count is not one the form offers (never the last one)."""
        count = content.get("count", self.count)
        if isinstance(count, bool) or not isinstance(count, int) or not valid_count(count):
            self._say(
                f"Choose a whole number of pictures from {MIN_COUNT} to {MAX_COUNT}; nothing was sent.",
                "error",
            )
            return False
        prompt = content.get("prompt")
        if isinstance(prompt, str) and not self._submitter.sending:
            self.prompt = prompt
        self.count = count
        return True

    def _on_count_change(self, _change: dict[str, Any]) -> None:
        self._show_plan()
        if self.count_error:
            self._show_errors(field_errors(self.prompt, self.count))

    def _on_prompt_change(self, _change: dict[str, Any]) -> None:
        if self.status_kind == "ok" and not self._submitter.sending:
            # The last job's line belongs to its run (which shows it), not to the next prompt.
            self.status, self.batch_id = "", ""
        if self.prompt_error:
            self._show_errors(field_errors(self.prompt, self.count))
        if self.confirm:
            self._submitter.answer(False)
        self._show_plan()

    def _show_plan(self) -> None:
        """The expansions of a template, live as it is typed; its errors wait for Generate. The line
        beside Generate says the plan's figure when there is one, so the form states one price."""
        self.cost = cost_text(self.count)
        if not is_template(self.prompt):
            self.variants, self.plan = [], ""
            return
        try:
            jobs = plan_jobs(self.prompt, self.count if valid_count(self.count) else 1)
        except TemplateError:
            self.variants, self.plan = [], ""
            return
        self.variants = [{"text": j.preferences, "parts": [list(p) for p in j.parts]} for j in jobs]
        self.plan = plan_text(jobs) if valid_count(self.count) else ""
        if self.plan:
            self.cost = jobs_cost_text(jobs)

    def _show(self, event: SubmitEvent) -> None:
        """What the submit machine tells, drawn on the form's traits; then told to the form's listeners."""
        match event:
            case Said(text, kind):
                self._say(text, kind)
            case Asked(question):
                self.confirm = question
            case FieldsChecked(errors):
                self._show_errors(errors)
            case Sending(jobs):
                for job in jobs:
                    self._start_callbacks(job)
                self.submitting = True
            case Finished():
                self.submitting = False  # also once closed: the POST has its answer, whoever still asks
            case RetryOffered(offered):
                self.can_retry = offered
            case Confirmed(registration, journal_error):
                self._confirmed(registration, journal_error)
            case AllConfirmed(registrations):
                # A comparison's jobs all confirmed: one line for all of them (each batch is in its run).
                self._say("" if self.runs_elsewhere else registered_text(registrations), "ok")
                self.batch_id = ""
                self.history = history_entries(self.history_prompts)
        self._listeners(event)

    def _confirmed(self, registration: Registration, journal_error: OSError | None) -> None:
        if self.runs_elsewhere and journal_error is None:
            self._say("")  # its run shows what was registered
        else:
            self._say(confirmed_text(registration, journal_error), "ok" if journal_error is None else "error")
            self.batch_id = registration.batch_id
        self.refresh_budget()
        self.history = history_entries(self.history_prompts)
        self._callbacks(registration)

    def _say(self, text: str, kind: str = "info") -> None:
        if self._closed:
            return
        if kind != "ok":
            self.batch_id = ""
        self.status_kind = kind
        self.status = text

    def _show_errors(self, errors: Mapping[str, str]) -> None:
        self.prompt_error = errors.get("prompt", "")
        self.count_error = errors.get("count", "")

    def _show_budget(self) -> None:
        if self.budget is not None:
            self.budget_text = f"Budget: {self.budget.remaining} of {self.budget.limit} credits left"
