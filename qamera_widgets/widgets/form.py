"""PromptForm: write a prompt, see what it costs, submit it once, and never lose a confirmed job.

Every submission costs credits, so the form is careful in four places: it refuses what the server
would refuse before sending anything, it sends at most one POST however often the button is
clicked, when the server's answer is lost it offers a retry (and makes Generate resend the same
job) under the same idempotency key instead of charging twice, and a POST already sent is never
cut off: closing the form lets it finish and journals what the server confirmed.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import traitlets

from ..client import (
    InvalidRequestError,
    RateLimitError,
    Registration,
    SubmissionUnconfirmedError,
    _base,
)
from ..journal import Journal
from ._common import (
    AnyClient,
    TaskSet,
    as_async_client,
    descendants,
    describe_error,
    escape,
    excerpt,
    loop_running,
    set_visible,
)

__all__ = ["UNCONFIRMED_MESSAGE", "PromptForm", "Submission", "cost_text", "field_errors"]

logger = logging.getLogger("qamera_widgets.widgets")

UNCONFIRMED_MESSAGE = (
    "The server did not confirm this job; it may still have been created. "
    "Check the status board / gallery before submitting again."
)
RATE_LIMITED_MESSAGE = (
    "The server is rate limiting this key (429) and kept refusing while we retried; the job was not "
    "registered and nothing was charged. Wait a minute and submit again."
)
SLOW_ANSWER_SECONDS = 3.0
HISTORY_LIMIT = 30

SubmitCallback = Callable[[Registration], Any]
StartCallback = Callable[["Submission"], Any]


def cost_text(count: object) -> str:
    """What a submission reserves, said before it is sent; the price is the contract's 10 per item."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        return "Choose how many sceneries to generate (1 to 20)."
    noun = "scenery" if count == 1 else "sceneries"
    return (
        f"{count} {noun}, {count * _base.CREDITS_PER_ITEM} credits reserved now, "
        "refunded for any that fail"
    )


def field_errors(prompt: object, count: object) -> dict[str, str]:
    """Per-field messages from the client's own validation, so the form and the client never disagree."""
    errors: dict[str, str] = {}
    try:
        _base.validate_registration(prompt, _base.DEFAULT_COUNT)
    except InvalidRequestError as exc:
        errors["prompt"] = str(exc)
    try:
        _base.validate_registration("a valid prompt", count)
    except InvalidRequestError as exc:
        errors["count"] = str(exc)
    return errors


@dataclass(frozen=True)
class Submission:
    """What one POST carries; kept whole so a retry resends exactly the same job under the same key."""

    preferences: str
    count: int
    idempotency_key: str


class PromptForm(widgets.VBox):
    """A prompt textarea, a count, the cost, a Generate button and the outcome in plain words.

    `await form.submit()` does what the button does; while a submission is in flight every further
    click or `submit()` joins it instead of sending a second POST. `close()` does not cancel a POST
    in flight: it finishes, its registration is journaled, and only the widget updates are skipped.
    """

    submitting = traitlets.Bool(
        False, help="True from the click until the server answered; the buttons are disabled meanwhile."
    )

    def __init__(self, client: AnyClient, *, journal: Journal | None = None, **kwargs: Any) -> None:
        self._client = as_async_client(client)
        self._journal = journal if journal is not None else Journal()
        self._tasks = TaskSet()
        self._callbacks: list[SubmitCallback] = []
        self._start_callbacks: list[StartCallback] = []
        self._inflight: asyncio.Task[Registration | None] | None = None
        self._unconfirmed: Submission | None = None
        self._closed = False
        self._history: list[tuple[str, int]] = []
        self.last_registration: Registration | None = None

        self.prompt = widgets.Textarea(
            placeholder="Describe the scenery, e.g. 'sunlit marble countertop with soft shadows'",
            rows=4,
            continuous_update=True,
            layout=widgets.Layout(width="100%"),
        )
        self.prompt.add_class("qw-prompt")
        self.prompt_error = widgets.HTML()
        self.prompt_error.add_class("qw-form-error")
        self.prompt_error.add_class("qw-prompt-error")
        self.count = widgets.IntText(
            value=_base.DEFAULT_COUNT,
            description="Sceneries",
            layout=widgets.Layout(width="170px"),
        )
        self.count.add_class("qw-count")
        self.count_error = widgets.HTML()
        self.count_error.add_class("qw-form-error")
        self.count_error.add_class("qw-count-error")
        self.cost = widgets.HTML()
        self.cost.add_class("qw-cost")
        self.generate = widgets.Button(description="Generate", button_style="primary", icon="magic")
        self.generate.add_class("qw-generate")
        self.retry = widgets.Button(
            description="Retry safely",
            button_style="warning",
            tooltip="Resend the same job with the same idempotency key: a server that honours it does not "
            "create or charge a second job.",
        )
        self.retry.add_class("qw-retry")
        self.status = widgets.HTML()
        self.status.add_class("qw-form-status")
        self.history = widgets.Dropdown(
            options=[], value=None, description="History", layout=widgets.Layout(width="100%")
        )
        self.history.add_class("qw-history")

        for field in (self.prompt_error, self.count_error, self.status, self.retry, self.history):
            set_visible(field, False)
        self.generate.on_click(self._on_generate_click)
        self.retry.on_click(self._on_retry_click)
        self.count.observe(self._on_count_change, names="value")
        self.prompt.observe(self._on_prompt_change, names="value")
        self.history.observe(self._on_history_pick, names="value")
        self._show_cost()

        kwargs.setdefault("layout", widgets.Layout(width="100%"))
        super().__init__(
            children=[
                self.prompt,
                self.prompt_error,
                widgets.HBox([self.count, self.cost], layout=widgets.Layout(align_items="center")),
                self.count_error,
                widgets.HBox([self.generate, self.retry]),
                self.status,
                self.history,
            ],
            **kwargs,
        )
        self.add_class("qw-form")

    def on_submit(self, callback: SubmitCallback, remove: bool = False) -> None:
        """Call `callback(registration)` after each confirmed submission (once it is in the journal).

        It runs in the background task that sent the POST, so it should only change traits; build
        widgets in an `on_start` callback instead.
        """
        _register(self._callbacks, callback, remove)

    def on_start(self, callback: StartCallback, remove: bool = False) -> None:
        """Call `callback(submission)` when a POST is about to be sent, inside the click handler or the
        `submit()` call, so it may build widgets that the `on_submit` callback later fills in."""
        _register(self._start_callbacks, callback, remove)

    async def submit(self) -> Registration | None:
        """Validate and send the current prompt; None when invalid, refused or unconfirmed."""
        return await self._await(self._start(None))

    async def retry_unconfirmed(self) -> Registration | None:
        """Resend the last unconfirmed job with its idempotency key (what "Retry safely" does)."""
        if self._unconfirmed is None:
            return None
        return await self._await(self._start(self._unconfirmed))

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

    def close(self) -> None:
        """Close the widgets; a POST in flight still finishes and is journaled (the job may be charged)."""
        self._closed = True
        self._callbacks.clear()
        self._start_callbacks.clear()
        for child in descendants(self):
            child.close()
        super().close()

    @staticmethod
    async def _await(task: asyncio.Task[Registration | None] | None) -> Registration | None:
        if task is None:
            return None
        # Shielded: a cell interrupted while waiting must not cut a POST off halfway.
        return await asyncio.shield(task)

    def _on_generate_click(self, _button: widgets.Button) -> None:
        self._start(None)

    def _on_retry_click(self, _button: widgets.Button) -> None:
        if self._unconfirmed is not None:
            self._start(self._unconfirmed)

    def _start(self, resend: Submission | None) -> asyncio.Task[Registration | None] | None:
        """Everything before the first await: the guard, validation, `on_start` and disabling the buttons.

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
        if resend is None:
            errors = field_errors(self.prompt.value, self.count.value)
            self._show_field_errors(errors)
            if errors:
                self._set_status("")
                return None
            submission = self._same_as_unconfirmed() or Submission(
                self.prompt.value, self.count.value, str(uuid.uuid4())
            )
        else:
            submission = resend
        for callback in list(self._start_callbacks):
            try:
                callback(submission)
            except Exception:
                logger.exception("an on_start callback failed")
        task = self._tasks.spawn(self._post(submission), name="qamera-form-submit")
        if task is None:
            return None
        self._inflight = task
        self.submitting = True
        self.generate.disabled = True
        self.retry.disabled = True
        task.add_done_callback(self._finished)
        return task

    def _same_as_unconfirmed(self) -> Submission | None:
        """The job in doubt when the fields still ask for exactly it: Generate then resends it under its
        key, so pressing Generate again after a lost answer cannot charge for the same job twice."""
        pending = self._unconfirmed
        if pending is None or (self.prompt.value, self.count.value) != (pending.preferences, pending.count):
            return None
        return pending

    def _finished(self, task: asyncio.Task[Registration | None]) -> None:
        if self._inflight is task:
            self._inflight = None
        self.submitting = False
        if not self._closed:
            self.generate.disabled = False
            self.retry.disabled = False

    async def _post(self, submission: Submission) -> Registration | None:
        verb = "Retrying with the same idempotency key" if submission is self._unconfirmed else "Submitting"
        self._set_status(f"{verb}: {escape(cost_text(submission.count))}…")
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
                set_visible(self.retry, True)
                self._set_status(escape(UNCONFIRMED_MESSAGE), error=True)
            return None
        except RateLimitError:
            self._set_status(escape(RATE_LIMITED_MESSAGE), error=True)
            return None
        except Exception as exc:
            logger.info("submission refused: %s", type(exc).__name__)
            self._set_status(escape(describe_error(exc)), error=True)
            return None
        finally:
            slow_note.cancel()
        journal_error = await self._journal_registration(registration)
        self._confirmed(registration, journal_error)
        return registration

    async def _journal_registration(self, registration: Registration) -> OSError | None:
        """On disk before anything reports success; fsync runs in a thread so the kernel's loop stays free."""
        try:
            await asyncio.to_thread(
                self._journal.record_registration,
                registration,
                base_url=self._client.base_url,
                key_id=self._client.key_id,
            )
        except OSError as exc:
            logger.warning("could not write the journal %s: %s", self._journal.path, exc)
            return exc
        return None

    async def _journal_unconfirmed(self, submission: Submission) -> None:
        """A job that may have been charged is written down too, so it can be checked after a restart."""
        try:
            await asyncio.to_thread(
                self._journal.record_unconfirmed,
                base_url=self._client.base_url,
                key_id=self._client.key_id,
                prompt=submission.preferences,
                count=submission.count,
                idempotency_key=submission.idempotency_key,
            )
        except OSError as exc:
            logger.warning(
                "could not journal the unconfirmed submission (idempotency key %s) in %s: %s",
                submission.idempotency_key, self._journal.path, exc,
            )

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
        if self._closed:
            return
        journal_note = ""
        if journal_error is not None:
            journal_note = (
                "<br>Could not write the job journal "
                f"({escape(journal_error.strerror or type(journal_error).__name__)}); "
                "keep this batch id to find the job again."
            )
        set_visible(self.retry, self._unconfirmed is not None)
        self._set_status(_summary_html(registration) + journal_note)
        self._remember(registration.preferences, registration.count)
        for callback in list(self._callbacks):
            try:
                callback(registration)
            except Exception:
                logger.exception("an on_submit callback failed")

    def _remember(self, prompt: str, count: int) -> None:
        self._history = [(prompt, count)] + [entry for entry in self._history if entry[0] != prompt]
        del self._history[HISTORY_LIMIT:]
        with self.history.hold_trait_notifications():
            self.history.options = [
                (f"{excerpt(text, 70)} ({n})", index) for index, (text, n) in enumerate(self._history)
            ]
            self.history.value = None
        set_visible(self.history, True)

    def _on_history_pick(self, change: dict[str, Any]) -> None:
        index = change["new"]
        if index is None or not 0 <= index < len(self._history):
            return
        prompt, count = self._history[index]
        self.prompt.value = prompt
        self.count.value = count

    def _on_count_change(self, _change: dict[str, Any]) -> None:
        self._show_cost()
        if self.count_error.value:
            self._show_field_errors(field_errors(self.prompt.value, self.count.value))

    def _on_prompt_change(self, _change: dict[str, Any]) -> None:
        if self.prompt_error.value:
            self._show_field_errors(field_errors(self.prompt.value, self.count.value))

    def _show_cost(self) -> None:
        self.cost.value = f"<span>{escape(cost_text(self.count.value))}</span>"

    def _show_field_errors(self, errors: dict[str, str]) -> None:
        for name, label in (("prompt", self.prompt_error), ("count", self.count_error)):
            message = errors.get(name, "")
            label.value = f'<span style="color:#b3261e">{escape(message)}</span>' if message else ""
            set_visible(label, bool(message))

    def _set_status(self, html_text: str, *, error: bool = False) -> None:
        if self._closed:
            return
        colour = "#b3261e" if error else "inherit"
        self.status.value = f'<div style="color:{colour}">{html_text}</div>' if html_text else ""
        set_visible(self.status, bool(html_text))


def _register(callbacks: list[Any], callback: Any, remove: bool) -> None:
    if remove:
        if callback in callbacks:
            callbacks.remove(callback)
    elif callback not in callbacks:
        callbacks.append(callback)


def _summary_html(registration: Registration) -> str:
    noun = "scenery" if registration.count == 1 else "sceneries"
    rows = (
        ("Batch", registration.batch_id),
        ("Order", registration.order_id),
        ("Reservation", registration.reservation_id),
        ("Credits reserved", str(registration.credits_reserved)),
    )
    cells = "".join(
        f"<tr><td style='padding-right:8px'>{escape(name)}</td><td><code>{escape(value)}</code></td></tr>"
        for name, value in rows
    )
    return (
        f"<b>Job registered: {registration.count} {noun}.</b> "
        f"Credits for any that fail are refunded.<table class='qw-registration'>{cells}</table>"
    )
