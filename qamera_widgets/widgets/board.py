"""StatusBoard: one section per submitted batch and one live row per record, fed by the shared tracker.

The board never polls: it subscribes to the client's `JobTracker`, which makes one list request per
tick for every board and gallery of that client. Rows are built when a batch is tracked and each
update touches only the cells of the records that changed, so a board of a hundred records stays
cheap to keep live in the browser.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import ipywidgets as widgets

from ..client import Registration, Scenery
from ..client._base import CREDITS_PER_ITEM, utc_now
from ..client.models import FAILED_STATUSES, TERMINAL_STATUSES
from ..journal import Journal, JournalBatch
from ..thumbnails import ThumbnailLoader
from ..tracking import TIMED_OUT, WAITING, JobTracker, RecordState, TrackerEvent, tracker_for
from ._common import (
    STATUS_COLOURS,
    AnyClient,
    StaticHTMLFallback,
    TaskSet,
    as_async_client,
    badge_html,
    descendants,
    escape,
    excerpt,
    set_visible,
)

__all__ = ["BatchCounts", "StatusBoard", "count_statuses", "format_elapsed"]

logger = logging.getLogger("qamera_widgets.widgets")

THUMB_DISPLAY_PX = 56
ELAPSED_TICK_SECONDS = 1.0
PROMPT_EXCERPT_CHARS = 110
_STATUS_LABELS = {WAITING: "waiting to appear", TIMED_OUT: "timed out"}


@dataclass(frozen=True)
class BatchCounts:
    """How a batch stands, and what that means for credits at the contract's 10 per item."""

    done: int = 0
    failed: int = 0
    running: int = 0
    timed_out: int = 0

    @property
    def total(self) -> int:
        return self.done + self.failed + self.running + self.timed_out

    @property
    def finished(self) -> int:
        return self.done + self.failed

    @property
    def settled(self) -> bool:
        """Nothing is still expected to change (timed-out records count: the board stopped waiting)."""
        return self.running == 0

    def text(self) -> str:
        parts = [f"{self.done} done", f"{self.failed} failed", f"{self.running} running"]
        if self.timed_out:
            parts.append(f"{self.timed_out} timed out")
        return ", ".join(parts)

    def credits_text(self) -> str:
        consumed = self.done * CREDITS_PER_ITEM
        refunded = self.failed * CREDITS_PER_ITEM
        reserved = (self.running + self.timed_out) * CREDITS_PER_ITEM
        return f"{consumed} credits consumed, {refunded} refunded, {reserved} still reserved"


def count_statuses(statuses: Iterable[str]) -> BatchCounts:
    done = failed = running = timed_out = 0
    for status in statuses:
        if status == "DONE":
            done += 1
        elif status in FAILED_STATUSES:
            failed += 1
        elif status == TIMED_OUT:
            timed_out += 1
        else:
            running += 1
    return BatchCounts(done, failed, running, timed_out)


def format_elapsed(seconds: float) -> str:
    """Whole seconds under a minute, minutes and seconds under an hour, then hours and minutes."""
    total = max(0, int(seconds))
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


# Open boards per process, so closing one board stops polling only for records no other board shows.
_open_boards: weakref.WeakSet[StatusBoard] = weakref.WeakSet()


def _is_settled(status: str) -> bool:
    return status in TERMINAL_STATUSES or status == TIMED_OUT


def _status_badge(status: str) -> str:
    return badge_html(_STATUS_LABELS.get(status, status), STATUS_COLOURS.get(status))


@dataclass
class _Row:
    """The widgets of one record and what they currently show, so unchanged cells are left alone."""

    record_id: str
    started: datetime
    box: widgets.HBox
    image: widgets.Image
    status_cell: widgets.HTML
    elapsed: widgets.Label
    status: str = WAITING
    finished_at: datetime | None = None
    thumbnail_for: tuple[str, str | None] | None = None


@dataclass
class _Batch:
    key: str
    prompt: str
    batch_id: str
    submitted_at: datetime
    record_ids: tuple[str, ...]
    box: widgets.VBox
    progress: widgets.IntProgress
    counts: widgets.HTML
    credits: widgets.HTML
    journaled: set[str] = field(default_factory=set)


class StatusBoard(StaticHTMLFallback, widgets.VBox):
    """Live status of submitted batches: progress, counts, credits and a row per record.

    `loader` is the gallery's `ThumbnailLoader` when there is one (one download per image);
    `journal` receives the final statuses and is where `resume()` finds unfinished batches.
    """

    def __init__(
        self,
        client: AnyClient,
        *,
        loader: ThumbnailLoader | None = None,
        journal: Journal | None = None,
        tracker: JobTracker | None = None,
        **kwargs: Any,
    ) -> None:
        self._client = as_async_client(client)
        self._tracker = tracker if tracker is not None else tracker_for(self._client)
        self._owns_loader = loader is None
        self.loader = loader if loader is not None else ThumbnailLoader()
        self._journal = journal if journal is not None else Journal()
        self._tasks = TaskSet()
        self._rows: dict[str, _Row] = {}
        self._batches: dict[str, _Batch] = {}
        self._batch_of: dict[str, str] = {}
        self._adhoc = 0
        self._ticker: asyncio.Task[None] | None = None
        self._closed = False

        self.title = widgets.HTML("<b>Status board</b>")
        self.banner = widgets.HTML()
        self.banner.add_class("qw-board-banner")
        set_visible(self.banner, False)
        self.empty = widgets.HTML(
            "<i>Nothing tracked yet: submit a prompt, or call <code>board.track(...)</code> / "
            "<code>board.resume()</code>.</i>"
        )
        self.sections = widgets.VBox()
        self.sections.add_class("qw-board-batches")
        kwargs.setdefault("layout", widgets.Layout(width="100%"))
        super().__init__(children=[self.title, self.banner, self.empty, self.sections], **kwargs)
        self.add_class("qw-board")
        self._unsubscribe = self._tracker.subscribe(self._on_event)
        _open_boards.add(self)

    @property
    def tracker(self) -> JobTracker:
        return self._tracker

    @property
    def record_ids(self) -> tuple[str, ...]:
        return tuple(self._rows)

    @property
    def statuses(self) -> dict[str, str]:
        """What each record's status cell shows now (WAITING and TIMED_OUT are local states)."""
        return {record_id: row.status for record_id, row in self._rows.items()}

    def status_cell(self, record_id: str) -> widgets.HTML:
        return self._rows[record_id].status_cell

    def track(self, target: Registration | JournalBatch | Iterable[str] | str) -> None:
        """Show a batch (or plain record ids) and follow it live; records already shown are skipped."""
        if self._closed:
            raise RuntimeError("This StatusBoard is closed; create a new one.")
        if isinstance(target, Registration):
            self._add_batch(
                target.batch_id or ",".join(target.record_ids), target.preferences, target.batch_id,
                target.submitted_at, target.record_ids, {},
            )
        elif isinstance(target, JournalBatch):
            self._add_batch(
                target.batch_id or ",".join(target.record_ids), target.prompt, target.batch_id,
                target.submitted_at, target.record_ids, target.final,
            )
        else:
            ids = (target,) if isinstance(target, str) else tuple(str(i) for i in target)
            self._adhoc += 1
            self._add_batch(f"records-{self._adhoc}", "", "", utc_now(), ids, {})

    def resume(self) -> list[JournalBatch]:
        """Re-attach to this server's and key's unfinished batches from the journal (after a restart)."""
        pending = self._journal.pending(base_url=self._client.base_url, key_id=self._client.key_id)
        resumed = []
        for batch in pending:
            key = batch.batch_id or ",".join(batch.record_ids)
            if key in self._batches:
                continue
            self.track(batch)
            resumed.append(batch)
        return resumed

    async def wait(self, timeout: float | None = None) -> dict[str, RecordState]:
        """Until every record on the board is terminal (or timed out here); returns their states."""
        waited = [i for i in self._rows if i in self._tracker.states]
        return await self._tracker.wait(waited, timeout=timeout)

    def close(self) -> None:
        """Stop this board's tasks, stop polling for records no other open board shows, close the tree."""
        if self._closed:
            return
        self._closed = True
        self._unsubscribe()
        self._tasks.cancel_all()
        _open_boards.discard(self)
        shown_elsewhere: set[str] = set()
        for board in list(_open_boards):
            if board._tracker is self._tracker:
                shown_elsewhere.update(board._rows)
        orphans = [i for i in self._rows if i not in shown_elsewhere and i in self._tracker.states]
        if orphans:
            self._tracker.untrack(orphans)
        if self._owns_loader:
            self._tasks.spawn(self.loader.aclose(), name="qamera-board-loader-close")
        for child in descendants(self):
            child.close()
        super().close()

    def static_html(self) -> str:
        if not self._batches:
            return "<div class='qw-board-static'><i>No batches tracked.</i></div>"
        parts = ["<div class='qw-board-static'>"]
        for batch in self._batches.values():
            counts = count_statuses(self._rows[i].status for i in batch.record_ids)
            parts.append(
                f"<h4>{escape(excerpt(batch.prompt, PROMPT_EXCERPT_CHARS) or 'Tracked records')}</h4>"
                f"<p>Batch {escape(batch.batch_id or '-')}, submitted "
                f"{escape(batch.submitted_at.strftime('%Y-%m-%d %H:%M:%S UTC'))}: "
                f"{escape(counts.text())}; {escape(counts.credits_text())}.</p>"
                "<table><thead><tr><th>Record</th><th>Status</th></tr></thead><tbody>"
            )
            for record_id in batch.record_ids:
                status = self._rows[record_id].status
                parts.append(
                    f"<tr><td>{escape(record_id)}</td>"
                    f"<td>{escape(_STATUS_LABELS.get(status, status))}</td></tr>"
                )
            parts.append("</tbody></table>")
        parts.append("</div>")
        return "".join(parts)

    def _add_batch(
        self,
        key: str,
        prompt: str,
        batch_id: str,
        submitted_at: datetime,
        record_ids: tuple[str, ...],
        final: Mapping[str, str],
    ) -> None:
        """Build the section and its rows now, in the caller's cell, then start following it."""
        new_ids = tuple(dict.fromkeys(i for i in record_ids if i not in self._rows))
        if key in self._batches or not new_ids:
            return
        known = self._tracker.states
        rows = []
        for record_id in new_ids:
            row = self._make_row(record_id, submitted_at)
            self._rows[record_id] = row
            self._batch_of[record_id] = key
            rows.append(row)
            state = known.get(record_id)
            if state is not None:
                self._show_state(row, state)
            elif record_id in final:
                self._show_status(row, final[record_id], utc_now())
        batch = self._make_batch(key, prompt, batch_id, submitted_at, new_ids, rows)
        batch.journaled.update(i for i in new_ids if i in final)
        self._batches[key] = batch
        self.sections.children = (batch.box, *self.sections.children)
        set_visible(self.empty, False)
        self._refresh_batch(batch)
        unfinished = [i for i in new_ids if i not in final]
        if unfinished:
            self._tracker.track(unfinished)
        self._ensure_ticker()

    def _make_row(self, record_id: str, started: datetime) -> _Row:
        tile = self.loader.placeholder("rendering")
        image = widgets.Image(
            value=tile.data,
            format=tile.format,
            layout=widgets.Layout(width=f"{THUMB_DISPLAY_PX}px", height=f"{THUMB_DISPLAY_PX}px"),
        )
        image.add_class("qw-record-thumb")
        ident = widgets.HTML(f"<code>{escape(record_id)}</code>", layout=widgets.Layout(width="230px"))
        ident.add_class("qw-record-id")
        status_cell = widgets.HTML(_status_badge(WAITING), layout=widgets.Layout(width="140px"))
        status_cell.add_class("qw-record-status")
        elapsed = widgets.Label("0 s", layout=widgets.Layout(width="110px"))
        elapsed.add_class("qw-record-elapsed")
        box = widgets.HBox([image, ident, status_cell, elapsed], layout=widgets.Layout(align_items="center"))
        box.add_class("qw-record")
        return _Row(record_id, started, box, image, status_cell, elapsed)

    def _make_batch(
        self,
        key: str,
        prompt: str,
        batch_id: str,
        submitted_at: datetime,
        record_ids: tuple[str, ...],
        rows: list[_Row],
    ) -> _Batch:
        title = escape(excerpt(prompt, PROMPT_EXCERPT_CHARS)) if prompt else "Tracked records"
        batch_label = f"batch <code>{escape(batch_id)}</code> · " if batch_id else ""
        header = widgets.HTML(
            f"<div title='{escape(prompt)}'><b>{title}</b><br><small>{batch_label}submitted "
            f"{escape(submitted_at.astimezone().strftime('%Y-%m-%d %H:%M:%S'))} · "
            f"{len(record_ids)} records</small></div>"
        )
        header.add_class("qw-batch-header")
        progress = widgets.IntProgress(value=0, min=0, max=max(len(record_ids), 1), bar_style="info")
        progress.add_class("qw-batch-progress")
        counts = widgets.HTML()
        counts.add_class("qw-batch-counts")
        credits = widgets.HTML()
        credits.add_class("qw-batch-credits")
        records = widgets.VBox([row.box for row in rows])
        box = widgets.VBox(
            [header, widgets.HBox([progress, counts], layout=widgets.Layout(align_items="center")),
             credits, records],
            layout=widgets.Layout(border="1px solid #ddd", padding="6px", margin="0 0 8px 0"),
        )
        box.add_class("qw-batch")
        return _Batch(key, prompt, batch_id, submitted_at, record_ids, box, progress, counts, credits)

    def _on_event(self, event: TrackerEvent) -> None:
        if self._closed:
            return
        if event.kind == "problem":
            self._set_banner(event.message, "#8a6d00", "#fff8e1")
        elif event.kind == "stopped":
            self._set_banner(event.message, "#b3261e", "#fdecea")
        elif event.kind == "recovered":
            self._set_banner("", "", "")
        elif event.kind == "timed_out" and any(i in self._rows for i in event.changes):
            self._set_banner(event.message, "#555", "#f1f1f1")
        touched: set[str] = set()
        for record_id, state in event.changes.items():
            row = self._rows.get(record_id)
            if row is None:
                continue
            self._show_state(row, state)
            touched.add(self._batch_of[record_id])
        if event.sceneries:
            self._fill_missing_thumbnails(event.sceneries)
        for key in touched:
            self._refresh_batch(self._batches[key])
        if touched:
            self._ensure_ticker()

    def _show_state(self, row: _Row, state: RecordState) -> None:
        self._show_status(row, state.status, state.since)
        if state.status == "DONE":
            self._show_thumbnail(row, state.scenery.thumbnail if state.scenery is not None else None)

    def _show_status(self, row: _Row, status: str, since: datetime) -> None:
        if status != row.status:
            row.status = status
            row.status_cell.value = _status_badge(status)
            if status in FAILED_STATUSES:
                self._set_image(row, self.loader.placeholder("failed"))
        settled = _is_settled(status)
        if settled and row.finished_at is None:
            row.finished_at = since
        elif not settled:
            row.finished_at = None
        self._update_elapsed(row)

    def _show_thumbnail(self, row: _Row, url: str | None) -> None:
        wanted = ("DONE", url)
        if row.thumbnail_for == wanted:
            return
        row.thumbnail_for = wanted
        if not url:
            self._set_image(row, self.loader.placeholder("no preview"))
            return
        self._tasks.spawn(self._load_thumbnail(row, url), name="qamera-board-thumbnail")

    async def _load_thumbnail(self, row: _Row, url: str) -> None:
        thumb = await self.loader.load(url)
        if not self._closed and row.thumbnail_for == ("DONE", url):
            self._set_image(row, thumb)

    def _fill_missing_thumbnails(self, sceneries: Iterable[Scenery]) -> None:
        """Records shown as DONE from the journal have no URL yet; a poll's full list supplies it."""
        for scenery in sceneries:
            row = self._rows.get(scenery.id)
            if row is not None and row.status == "DONE" and row.thumbnail_for is None:
                self._show_thumbnail(row, scenery.thumbnail)

    @staticmethod
    def _set_image(row: _Row, thumb: Any) -> None:
        with row.image.hold_sync():
            row.image.format = thumb.format
            row.image.value = thumb.data

    def _refresh_batch(self, batch: _Batch) -> None:
        statuses = {i: self._rows[i].status for i in batch.record_ids}
        counts = count_statuses(statuses.values())
        if batch.progress.value != counts.finished:
            batch.progress.value = counts.finished
        style = "info"
        if counts.settled:
            style = "success" if counts.done == counts.total else ("danger" if not counts.done else "warning")
        if batch.progress.bar_style != style:
            batch.progress.bar_style = style
        counts_html = f"<span>{escape(counts.text())}</span>"
        if batch.counts.value != counts_html:
            batch.counts.value = counts_html
        credits_html = f"<small>{escape(counts.credits_text())}</small>"
        if batch.credits.value != credits_html:
            batch.credits.value = credits_html
        if counts.settled:
            self._journal_finals(batch, statuses)

    def _journal_finals(self, batch: _Batch, statuses: Mapping[str, str]) -> None:
        """Record what the server finished, once per record, so `resume()` stops going back to it."""
        final = {
            i: s for i, s in statuses.items() if s in TERMINAL_STATUSES and i not in batch.journaled
        }
        if not final:
            return
        try:
            self._journal.record_final(self._client.base_url, final)
        except OSError as exc:
            logger.warning("could not record final statuses in %s: %s", self._journal.path, exc)
            return
        batch.journaled.update(final)

    def _update_elapsed(self, row: _Row, now: datetime | None = None) -> None:
        end = row.finished_at or now or utc_now()
        text = format_elapsed((end - row.started).total_seconds())
        if row.elapsed.value != text:
            row.elapsed.value = text

    def _ensure_ticker(self) -> None:
        if self._closed or (self._ticker is not None and not self._ticker.done()):
            return
        if all(row.finished_at is not None for row in self._rows.values()):
            return
        self._ticker = self._tasks.spawn(self._tick_elapsed(), name="qamera-board-elapsed")

    async def _tick_elapsed(self) -> None:
        """Keep running records' elapsed times moving; it only sets Label values, never displays."""
        while not self._closed:
            running = [row for row in self._rows.values() if row.finished_at is None]
            if not running:
                return
            now = utc_now()
            for row in running:
                self._update_elapsed(row, now)
            await asyncio.sleep(ELAPSED_TICK_SECONDS)

    def _set_banner(self, message: str, colour: str, background: str) -> None:
        html = (
            f'<div style="color:{colour};background:{background};padding:4px 8px;border-radius:4px">'
            f"{escape(message)}</div>"
            if message
            else ""
        )
        if self.banner.value != html:
            self.banner.value = html
        set_visible(self.banner, bool(message))
