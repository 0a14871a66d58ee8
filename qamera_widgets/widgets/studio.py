"""Studio: the prompt form, the status board and the gallery wired into one exploratory loop.

Write a prompt, submit it, watch the records finish on the board and see them land in the gallery.
The gallery is fed from the tracker's own poll (no extra request), and only after a short quiet
spell, so twenty records finishing together cause one gallery update rather than twenty.

A submission's section on the board is built in the Generate click handler (hidden until the
server confirms the job), so the background task that receives the confirmation only fills it in.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as widgets

from ..client import Registration, Scenery
from ..connect import Connection, connect
from ..journal import Journal
from ..tracking import TrackerEvent
from ._common import (
    AnyClient,
    StaticHTMLFallback,
    TaskSet,
    as_async_client,
    descendants,
    escape,
    loop_running,
    set_visible,
)
from .board import BatchSection, StatusBoard
from .form import PromptForm, Submission
from .gallery import SceneryGallery

__all__ = ["SANDBOX_BADGE_TEXT", "Studio", "account_text"]

logger = logging.getLogger("qamera_widgets.widgets")

SANDBOX_BADGE_TEXT = "Sandbox: no real credits are spent"
REFRESH_DEBOUNCE_SECONDS = 1.5
ACCOUNT_INTERVAL_SECONDS = 2.0
_LEDGER_FIELDS = ("available", "reserved", "consumed", "refunded")


def account_text(ledger: Mapping[str, int]) -> str:
    """The sandbox ledger in one line, in the order a person reads their balance."""
    return " · ".join(f"{ledger.get(name, 0)} {name}" for name in _LEDGER_FIELDS)


class Studio(StaticHTMLFallback, widgets.VBox):
    """PromptForm + StatusBoard + SceneryGallery sharing one client, one tracker and one journal.

    `sandbox` is the handle from `qamera_widgets.sandbox.start()` when the client talks to one: the
    Studio then says that no real credits are spent and shows the sandbox account live.
    """

    def __init__(
        self,
        client: AnyClient,
        *,
        sandbox: Any | None = None,
        journal: Journal | None = None,
        notice: str = "",
        refresh_debounce: float = REFRESH_DEBOUNCE_SECONDS,
        account_interval: float = ACCOUNT_INTERVAL_SECONDS,
        gallery_columns: int = 3,
    ) -> None:
        self.client = client
        self.sandbox = sandbox
        self._async_client = as_async_client(client)
        self._journal = journal if journal is not None else Journal()
        self._refresh_debounce = refresh_debounce
        self._account_interval = account_interval
        self._tasks = TaskSet()
        self._connection: Connection | None = None
        self._pending_refresh: asyncio.TimerHandle | None = None
        self._latest: Sequence[Scenery] = ()
        self._slots: dict[str, BatchSection] = {}
        self._closed = False
        self.gallery_updates = 0

        self.gallery = SceneryGallery(client, columns=gallery_columns)
        self.board = StatusBoard(client, loader=self.gallery.loader, journal=self._journal)
        self.form = PromptForm(client, journal=self._journal)
        self.form.on_start(self._on_start)
        self.form.on_submit(self._on_submit)
        self.form.observe(self._on_submitting, names="submitting")

        key_id = self._async_client.key_id
        where = f"{escape(self._async_client.base_url)}" + (f", key id {escape(key_id)}" if key_id else "")
        self.title = widgets.HTML(f"<b style='font-size:15px'>Qamera Studio</b> <small>{where}</small>")
        self.sandbox_badge = widgets.HTML(
            f"<span style='background:#1a5fb4;color:#fff;border-radius:8px;padding:2px 8px'>"
            f"{escape(SANDBOX_BADGE_TEXT)}</span>"
        )
        self.sandbox_badge.add_class("qw-sandbox-badge")
        self.account = widgets.HTML()
        self.account.add_class("qw-account")
        self.notice = widgets.HTML(f"<small>{escape(notice)}</small>" if notice else "")
        self.notice.add_class("qw-studio-notice")
        set_visible(self.sandbox_badge, sandbox is not None)
        set_visible(self.account, sandbox is not None)
        set_visible(self.notice, bool(notice))

        header = widgets.HBox(
            [self.title, self.sandbox_badge, self.account],
            layout=widgets.Layout(align_items="center", flex_flow="row wrap", grid_gap="10px"),
        )
        work = widgets.VBox(
            [self.form, self.board], layout=widgets.Layout(flex="1 1 420px", min_width="360px")
        )
        shelf = widgets.VBox([self.gallery], layout=widgets.Layout(flex="2 1 560px", overflow="auto"))
        body = widgets.HBox(
            [work, shelf],
            layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start", grid_gap="16px"),
        )
        super().__init__(children=[header, self.notice, body], layout=widgets.Layout(width="100%"))
        self.add_class("qw-studio")

        self._unsubscribe = self.board.tracker.subscribe(self._on_tracker_event)
        if sandbox is not None:
            self._tasks.spawn(self._watch_account(), name="qamera-studio-account")

    @classmethod
    def from_env(cls, **sandbox_options: Any) -> Studio:
        """The real service when `QAMERA_API_KEY` is set; otherwise a local sandbox, and it says so.

        A sandbox started here is stopped, and the client closed, when the Studio is closed.
        """
        connection = connect(quiet=True, **sandbox_options)
        studio = cls(connection.client, sandbox=connection.sandbox, notice=connection.describe())
        studio._connection = connection
        return studio

    def static_html(self) -> str:
        """The board and the gallery as static HTML, for exports and viewers without widgets."""
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
        """Close the client and stop a sandbox we started once the form's POST in flight is answered.

        Stopping the sandbox joins its server thread; a worker thread waits for that instead of the loop.
        """
        await self.form.wait_idle()
        await connection.client.async_client.aclose()
        if connection.started_sandbox and connection.sandbox is not None:
            await asyncio.to_thread(connection.sandbox.stop)

    async def wait_idle(self, timeout: float | None = None) -> None:
        """Until every tracked record is terminal and the gallery shows them, skipping the debounce.

        For cells that must end with the final state on screen (headless runs, exports, lessons).
        """
        if self.board.record_ids:
            await self.board.wait(timeout=timeout)
        if self._pending_refresh is not None:
            self._pending_refresh.cancel()
            self._update_gallery()
        await self.gallery.wait_idle()

    def _on_start(self, submission: Submission) -> None:
        """In the click handler: the board builds this submission's section now, hidden until confirmed."""
        if self._closed:
            return
        previous = self._slots.pop(submission.idempotency_key, None)
        if previous is not None:
            self.board.release(previous)
        self._slots[submission.idempotency_key] = self.board.prepare(submission.preferences, submission.count)

    def _on_submit(self, registration: Registration) -> None:
        """In the submission's task: only fills the prepared section's traits and shows it."""
        self.board.track(registration, slot=self._slots.pop(registration.idempotency_key, None))
        if self.sandbox is not None:
            self._tasks.spawn(self._show_account(), name="qamera-studio-account-now")

    def _on_submitting(self, change: dict[str, Any]) -> None:
        """A submission ended without a confirmation: hide its section and keep it for the next one."""
        if change["new"] or self._closed:
            return
        for slot in self._slots.values():
            self.board.release(slot)
        self._slots.clear()

    def _on_tracker_event(self, event: TrackerEvent) -> None:
        """Keep the poll's list; when something finished, schedule one gallery update for the burst."""
        if self._closed or event.kind != "update" or not event.sceneries:
            return
        self._latest = event.sceneries
        finished = any(s.scenery is not None and s.scenery.is_terminal for s in event.changes.values())
        if not finished or self._pending_refresh is not None:
            return
        loop = asyncio.get_running_loop()
        self._pending_refresh = loop.call_later(self._refresh_debounce, self._update_gallery)

    def _update_gallery(self) -> None:
        self._pending_refresh = None
        if self._closed:
            return
        self.gallery_updates += 1
        self.gallery.show_sceneries(list(self._latest))

    async def _watch_account(self) -> None:
        """Only sets the account label's value: safe in Voila, where nothing may be displayed from a task."""
        while not self._closed:
            await self._show_account()
            await asyncio.sleep(self._account_interval)

    async def _show_account(self) -> None:
        assert self.sandbox is not None
        try:
            # The handle reads the sandbox's database; a thread keeps that off the kernel's loop.
            ledger = await asyncio.to_thread(self.sandbox.account)
        except Exception as exc:
            logger.info("sandbox account unavailable: %s", type(exc).__name__)
            text = "<small>Sandbox account unavailable (is the sandbox stopped?)</small>"
        else:
            text = f"<small>Sandbox account: {escape(account_text(ledger))}</small>"
        if not self._closed and self.account.value != text:
            self.account.value = text

