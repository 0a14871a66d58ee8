"""Studio: the prompt form, the runs and the library wired into one exploratory loop.

Write a prompt and press Generate: its run appears at once with a placeholder per picture, the
placeholders turn into pictures in place, and finished pictures land in the library below. The
library is fed from the tracker's own poll (no extra request), after a short quiet spell, so twenty
pictures finishing together cause one library update rather than twenty.

Four anywidget models: the studio hosts the form, the runs and the library through anywidget's widget
composition (each child is handed to the studio's view as a value, `host.getWidget`), not an ipywidgets
box, so it renders wherever anywidgets do: JupyterLab, Notebook 7, Voilà and marimo (which draws no
ipywidgets containers). The widget count does not grow with the session.

The parts meet through their own public events, connected in one table (`_connect`): the form's submit
events become runs on the board (`StatusBoard.show_submission`, as the retry desk's do), the views'
intents go to the form, the library's lists feed the runs, and the tracker's polls feed the library.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import ipywidgets as widgets
from PIL import Image

from ..client import Registration, Scenery
from ..connect import Connection, connect
from ..contract import FAILED_STATUSES, price_for
from ..engine.account import ACCOUNT_INTERVAL_SECONDS, account_line, watch_account
from ..engine.jobs.budgets import Budget
from ..engine.jobs.history_scope import history_scope
from ..engine.jobs.journal import Journal
from ..engine.jobs.key_budget import budget_for
from ..engine.jobs.plans import compare_jobs, field_errors, plan_jobs
from ..engine.jobs.retry_failed import RetryDesk
from ..engine.jobs.submitting import Confirmed, SubmitEvent
from ..engine.jobs.tracking import TrackerEvent
from ..engine.pictures.product import read_cutout
from ..engine.review import ReviewRow
from .basics import (
    AnyClient,
    TaskSet,
    as_async_client,
    descendants,
    escape,
    logger,
    loop_running,
    with_static_html,
)
from .board import StatusBoard
from .canvas import STATIC
from .form import PromptForm
from .gallery import SceneryGallery
from .studio_review import StudioReview

if TYPE_CHECKING:
    from ..sandbox import SandboxHandle

__all__ = ["SANDBOX_BADGE_TEXT", "Studio"]

SANDBOX_BADGE_TEXT = "Sandbox: no real credits are spent"
REFRESH_DEBOUNCE_SECONDS = 1.5


class Studio(anywidget.AnyWidget):
    """PromptForm + StatusBoard (runs) + SceneryGallery (library) sharing one client, tracker and journal.

    `sandbox` is the handle from `qamera_widgets.sandbox.start()` when the client talks to one: the
    Studio then says that no real credits are spent and shows the sandbox account live. `budget` caps
    the credits this studio may reserve (default: `QAMERA_BUDGET`, with `QAMERA_KEY_BUDGET` for the whole
    key on top, see `engine.jobs.budgets`); the form shows what is left and refuses a job beyond it before
    sending anything. In a class (`engine.jobs.history_scope`) it shows only this kernel's own jobs.
    """

    _esm = STATIC / "studio.js"
    _css = STATIC / "studio.css"
    # Synced as "anywidget:<model id>" references; the annotations keep the children typed for callers.
    form: PromptForm = anywidget.WidgetTrait().tag(sync=True)  # type: ignore[assignment]
    board: StatusBoard = anywidget.WidgetTrait().tag(sync=True)  # type: ignore[assignment]
    gallery: SceneryGallery = anywidget.WidgetTrait().tag(sync=True)  # type: ignore[assignment]

    def __init__(
        self,
        client: AnyClient,
        *,
        sandbox: SandboxHandle | None = None,
        journal: Journal | None = None,
        notice: str = "",
        budget: Budget | None = None,
        refresh_debounce: float = REFRESH_DEBOUNCE_SECONDS,
        account_interval: float = ACCOUNT_INTERVAL_SECONDS,
        page_size: int = 24,
    ) -> None:
        self.client = client
        self.sandbox = sandbox
        self._async_client = as_async_client(client)
        self.budget = (
            budget
            if budget is not None
            else budget_for(self._async_client.base_url, self._async_client.key_id)
        )
        self._journal = journal if journal is not None else Journal()
        self._refresh_debounce = refresh_debounce
        self._account_interval = account_interval
        self._tasks = TaskSet()
        self._connection: Connection | None = None
        self._pending_refresh: asyncio.TimerHandle | None = None
        self._latest: Sequence[Scenery] = ()
        self._closed = False
        self.gallery_updates = 0

        # In a class (Voilà, a shared key) a kernel shows only its own jobs: see engine.jobs.history_scope.
        self.history_scope = history_scope()
        own = self.history_scope == "own"
        self.gallery = SceneryGallery(
            client, journal=None if own else self._journal, page_size=page_size, title="Library"
        )
        if own:
            self.gallery.only_ids = set()
        # Every new picture is already in Runs: the library starts as one line with its count (README).
        self.gallery.collapsed = True
        self.board = StatusBoard(client, loader=self.gallery.loader, journal=self._journal, title="Runs")
        key_id = self._async_client.key_id
        where = self._async_client.base_url + (f" · key id {key_id}" if key_id else "")
        self.form = PromptForm(
            client,
            journal=self._journal,
            budget=self.budget,
            heading="Qamera Studio",
            badge=SANDBOX_BADGE_TEXT if sandbox is not None else "",
            notice=notice or where,
        )
        self.form.runs_elsewhere = True  # each job's registration is said in its run, not the form
        # "Retry N failed" sends through the form's submit machine, its sentences beside the run's button.
        self.retries = RetryDesk(
            self._async_client,
            self._journal,
            self.board,
            budget=lambda: self.budget,
            on_confirmed=self._learn_registration,
            clock=time.monotonic,
        )
        self._review = StudioReview((self.board, self.gallery))

        super().__init__(layout=widgets.Layout(width="100%"))
        self.add_class("qw-studio")

        self._unsubscribe = self._connect()

        self._history = None if own else self._tasks.spawn(self._load_history(), name="qamera-studio-history")
        if sandbox is not None:
            self._tasks.spawn(self._watch_account(), name="qamera-studio-account")

    def _connect(self) -> Callable[[], None]:
        """Who hears whom, in one table: each part's event (a stream to subscribe to, or an `on_*`
        registration) and the part that answers it. Returns what unsubscribes from the streams."""
        form, board, gallery = self.form, self.board, self.gallery
        table: list[tuple[Callable[[Any], object], Callable[..., Any]]] = [
            (form.subscribe, board.show_submission),  # a job's run appears at once, then becomes real
            (form.subscribe, self._on_submit_event),  # the library learns each confirmed prompt
            (board.tracker.subscribe, self._on_tracker_event),  # finished pictures reach the library
            (board.on_use_prompt, form.use_prompt),
            (gallery.on_use_prompt, form.use_prompt),
            (board.on_run_again, form.run_again),
            (board.on_edit, form.edit),
            (board.on_retry_failed, self.retries.retry),
            (gallery.on_list, board.show_sceneries),
        ]
        stops = [stop for register, answer in table if callable(stop := register(answer))]

        def disconnect() -> None:
            for stop in stops:
                stop()

        return disconnect

    @property
    def children(self) -> tuple[PromptForm, StatusBoard, SceneryGallery]:
        """The hosted views, in the order they are drawn (what a box's children were)."""
        return (self.form, self.board, self.gallery)

    def set_product(self, source: str | Path | bytes | bytearray | memoryview | None) -> None:
        """Preview a product cutout (PNG or WebP with transparency) in the large view of the runs and the
        library; None removes it. Checked once (`engine.pictures.product`); a bad file raises
        `ProductError`."""
        cutout = None if source is None else read_cutout(source)
        for view in (self.board, self.gallery):
            view.show_cutout(cutout)

    @property
    def marks(self) -> dict[str, dict[str, str | int]]:
        """Every marked picture the views know: {scenery_id: {'flag': ..., 'stars': ...}}."""
        return self._review.marks

    def mark(self, ids: object, *, flag: object = None, stars: object = None) -> dict[str, dict[str, Any]]:
        """`ResultsCanvas.mark` over the runs and the library: an id either of them knows may be named."""
        return self._review.mark(ids, flag=flag, stars=stars)

    def picks(self) -> list[Scenery]:
        """The picked pictures of the runs and the library, each once."""
        return self._review.picks()

    def rejects(self) -> list[Scenery]:
        """The rejected pictures of the runs and the library, each once."""
        return self._review.rejects()

    def review_rows(self) -> list[ReviewRow]:
        """One row per picture of the runs (with their run and template), then the library's others."""
        return self._review.review_rows()

    def export_review(self, path: str | os.PathLike[str]) -> Path:
        """Write `review_rows()` to `path` (.csv or .json, by its suffix); returns the path."""
        return self._review.export_review(path)

    def picks_contact_sheet(self) -> Image.Image:
        """One image of your picks across the runs and the library, with their prompts underneath."""
        return self._review.picks_contact_sheet()

    async def save_picks_contact_sheet(self, path: str | Path) -> Path:
        """Load the picks' thumbnails, then write their contact sheet (.png, .jpg or .webp)."""
        return await self._review.save_picks_contact_sheet(path)

    async def picks_zip(self) -> bytes:
        """A zip of your picks' originals with `review.csv` beside them (a file name leads to its row)."""
        return await self._review.picks_zip()

    async def save_picks_zip(self, path: str | Path) -> Path:
        """Write `picks_zip()` to `path`; returns it."""
        return await self._review.save_picks_zip(path)

    @classmethod
    def from_env(cls, **sandbox_options: Any) -> Studio:
        """The real service when `QAMERA_API_KEY` is set; otherwise a local sandbox, and it says so.

        A sandbox started here is stopped, and the client closed, when the Studio is closed.
        """
        connection = connect(quiet=True, **sandbox_options)
        studio = cls(
            connection.client, sandbox=connection.sandbox, notice=connection.describe(say_sandbox=False)
        )
        studio._connection = connection
        return studio

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The live widget plus a static HTML copy of the runs and the library, for exported notebooks."""
        return with_static_html(super()._repr_mimebundle_(**kwargs), self.static_html())

    def static_html(self) -> str:
        """The runs and the library as static HTML, for exports and viewers without widgets."""
        mode = f"<p>{escape(SANDBOX_BADGE_TEXT)}</p>" if self.sandbox is not None else ""
        return (
            f"<div class='qw-studio-static'><h3>Qamera Studio</h3>{mode}"
            f"{self.board.static_html()}{self.gallery.static_html()}</div>"
        )

    def close(self) -> None:
        """Stop the refresh timer and account task, close the three widgets, then what from_env started.

        A submission in flight still gets its answer and is journaled (see `PromptForm.close`); what
        from_env started is released after that, without blocking the kernel's loop.
        """
        if self._closed:
            return
        self._closed = True
        self._unsubscribe()
        if self._pending_refresh is not None:
            self._pending_refresh.cancel()
            self._pending_refresh = None
        self._tasks.cancel_all()
        self.retries.close()
        for part in (self.form, self.board, self.gallery):
            part.close()
        for child in descendants(self):
            child.close()
        super().close()
        if self._connection is not None:
            self._release(self._connection)

    def _release(self, connection: Connection) -> None:
        if not loop_running():
            connection.close()
            return
        self._tasks.spawn(self._release_later(connection), name="qamera-studio-release")

    async def _release_later(self, connection: Connection) -> None:
        """Release what from_env started once the form's POST in flight is answered."""
        await self.form.wait_idle()
        await connection.aclose()

    async def _load_history(self) -> None:
        """This server's and key's earlier jobs from the journal, as runs: prompts survive a restart.

        Read in a thread (a long journal takes a while); the runs only change traits. The library's
        first list then gives their pictures.
        """
        try:
            # The same question as the library's: the store answers it once for both.
            batches = await self._journal.history(self._async_client.base_url, self._async_client.key_id)
        except Exception as exc:  # history is a convenience: the studio works without it
            logger.warning("studio: could not read the job history: %s", type(exc).__name__)
            return
        if not self._closed:
            self.board.show_history(batches)
            self.form.restore_history(batches)
            if self.gallery.sceneries:
                self.board.show_sceneries(self.gallery.sceneries)

    async def wait_idle(self, timeout: float | None = None) -> None:
        """Until every tracked record is terminal and its picture shown, and the library shows them,
        skipping the debounce. For cells that must end with the final state on screen."""
        await self.form.wait_idle()
        await self.retries.wait_idle()
        if self._history is not None and not self._history.done():
            await asyncio.wait({self._history})
        if self.board.record_ids:
            await self.board.wait(timeout=timeout)
        if self._pending_refresh is not None:
            self._pending_refresh.cancel()
            self._update_gallery()
        await self.gallery.wait_idle()

    def _on_submit_event(self, event: SubmitEvent) -> None:
        if isinstance(event, Confirmed) and not self._closed:
            self._learn_registration(event.registration)

    def _learn_registration(self, registration: Registration) -> None:
        """A confirmed job (the form's, or a run's retry): the library learns its prompt."""
        if self.gallery.only_ids is not None:
            self.gallery.only_ids.update(registration.record_ids)
        self.gallery.add_prompts(
            {i: registration.preferences for i in registration.record_ids}, order=registration.record_ids
        )
        if self.sandbox is not None:
            self._tasks.spawn(self._show_account(), name="qamera-studio-account-now")

    async def compare(self, prompts: str | Sequence[str], count: int = 2) -> list[Registration]:
        """Generate several prompts side by side, one job each, shown as one comparison.

        `prompts` is a list of prompts, or one template such as "{oak|marble} countertop"; the budget
        applies and nothing is sent for a bad template. Returns the confirmed registrations.
        """
        jobs = plan_jobs(prompts, count) if isinstance(prompts, str) else compare_jobs(list(prompts), count)
        for job in jobs:
            problems = field_errors(job.preferences, job.count)
            if problems:
                raise ValueError(" ".join(problems.values()))
        return await self.form.submit_jobs(jobs)

    def _on_tracker_event(self, event: TrackerEvent) -> None:
        """Keep the poll's list; when something finished, schedule one library update for the burst."""
        if self._closed or event.kind != "update":
            return
        self._give_back_failed(event)
        if not event.sceneries:
            return
        self._latest = event.sceneries
        finished = any(s.scenery is not None and s.scenery.is_terminal for s in event.changes.values())
        if not finished or self._pending_refresh is not None:
            return
        loop = asyncio.get_running_loop()
        self._pending_refresh = loop.call_later(self._refresh_debounce, self._update_gallery)

    def _give_back_failed(self, event: TrackerEvent) -> None:
        """The server refunds a failed item's credits; the budget gets them back too, once per item."""
        if self.budget is None:
            return
        # Only this kernel's own reservations come back (Budget.give_back): another student's failed items
        # in a run loaded from the shared journal never top up this budget.
        failed = [i for i, state in event.changes.items() if state.status in FAILED_STATUSES]
        if failed and self.budget.give_back(failed, price_for):
            self.form.refresh_budget()

    def _update_gallery(self) -> None:
        self._pending_refresh = None
        if self._closed or not self._latest:
            return
        self.gallery_updates += 1
        self.gallery.show_sceneries(list(self._latest))

    async def _watch_account(self) -> None:
        assert self.sandbox is not None
        await watch_account(
            self.sandbox.account, self._show_account_line, lambda: self._closed, self._account_interval
        )

    async def _show_account(self) -> None:
        assert self.sandbox is not None
        self._show_account_line(await account_line(self.sandbox.account))

    def _show_account_line(self, text: str) -> None:
        if not self._closed and self.form.account != text:
            self.form.account = text
