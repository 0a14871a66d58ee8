"""StatusBoard: one section per submitted batch and one live row per record, fed by the shared tracker.

The board never polls: it subscribes to the client's `JobTracker`, which makes one list request per
tick for every board and gallery of that client. Widgets are only ever built synchronously, in the
cell or click handler that asks for them (`track`, `resume`, or `prepare` ahead of a submission);
background work (tracker events, a confirmed submission filling a prepared section, thumbnails)
only changes traits, and each update touches only the cells of the records that changed, so a board
of a hundred records stays cheap to keep live in the browser, and works in Voila.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import ipywidgets as widgets

from ..client import Registration, Scenery
from ..client._base import CREDITS_PER_ITEM, utc_now
from ..client.models import FAILED_STATUSES, TERMINAL_STATUSES
from ..journal import Journal, JournalBatch, UnconfirmedAttempt, batch_key
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
    loop_running,
    set_visible,
)

__all__ = ["BatchCounts", "BatchSection", "StatusBoard", "count_statuses", "format_elapsed"]

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


def _status_badge(status: str) -> str:
    return badge_html(_STATUS_LABELS.get(status, status), STATUS_COLOURS.get(status))


@dataclass(eq=False)
class _Row:
    """The widgets of one record and what they currently show, so unchanged cells are left alone."""

    record_id: str
    started: datetime
    box: widgets.HBox
    image: widgets.Image
    ident: widgets.HTML
    status_cell: widgets.HTML
    elapsed: widgets.Label
    status: str = WAITING
    finished_at: datetime | None = None
    thumbnail_for: tuple[str, str | None] | None = None


@dataclass(eq=False)
class BatchSection:
    """The widgets of one batch section and the batch they show.

    Returned by `StatusBoard.prepare()` as a hidden section waiting for its submission; hand it back
    to `track(registration, slot=...)` or `release()`. `key` stays empty until a batch fills it.
    """

    box: widgets.VBox
    header: widgets.HTML
    progress: widgets.IntProgress
    counts: widgets.HTML
    credits: widgets.HTML
    records: widgets.VBox
    rows: list[_Row]
    prompt: str = ""
    key: str = ""
    batch_id: str = ""
    submitted_at: datetime = field(default_factory=utc_now)
    record_ids: tuple[str, ...] = ()
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
        self._batches: dict[str, BatchSection] = {}
        self._batch_of: dict[str, str] = {}
        self._prepared: list[BatchSection] = []
        self._spare: list[BatchSection] = []
        self._journal_writes: set[asyncio.Future[OSError | None]] = set()
        self._adhoc = 0
        self._ticker: asyncio.Task[None] | None = None
        self._banner_kind = ""
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

    def prepare(self, prompt: str, count: int) -> BatchSection:
        """Build a hidden section of `count` rows now, for a submission whose answer is still on its way.

        Call it where widgets may be built (the click handler or cell that starts the submission);
        `track(registration, slot=section)` then only fills in ids and statuses and shows it, so the
        background task that receives the confirmation creates no widget. A `release()`d section is
        reused by the next `prepare()`.
        """
        if self._closed:
            raise RuntimeError("This StatusBoard is closed; create a new one.")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"count must be a whole number of at least 1, not {count!r}.")
        section = self._spare.pop() if self._spare else self._make_section([])
        now = utc_now()
        rows = section.rows[:count] + [self._make_row("", now) for _ in range(count - len(section.rows))]
        surplus = section.rows[count:]
        section.rows = rows
        section.records.children = [row.box for row in rows]
        for row in surplus:
            for child in (row.box, *descendants(row.box)):
                child.close()
        section.prompt = prompt
        section.header.value = _header_html(prompt, "", None, count)
        set_visible(section.box, False)
        others = [box for box in self.sections.children if box is not section.box]
        self.sections.children = (section.box, *others)
        self._prepared.append(section)
        return section

    def release(self, slot: BatchSection) -> None:
        """Give back a prepared section whose submission was not confirmed; it stays hidden for reuse."""
        if slot in self._prepared:
            self._prepared.remove(slot)
            set_visible(slot.box, False)
            self._spare.append(slot)

    def track(
        self,
        target: Registration | JournalBatch | Iterable[str] | str,
        *,
        slot: BatchSection | None = None,
    ) -> None:
        """Show a batch (or plain record ids) and follow it live; records already shown are skipped,
        except that timed-out ones are watched again.

        With `slot` (from `prepare()`), the batch fills that prepared section instead of a new one.
        """
        if self._closed:
            raise RuntimeError("This StatusBoard is closed; create a new one.")
        if isinstance(target, Registration):
            self._add_batch(
                batch_key(target.batch_id, target.record_ids), target.preferences, target.batch_id,
                target.submitted_at, target.record_ids, {}, slot,
            )
        elif isinstance(target, JournalBatch):
            self._add_batch(
                target.key, target.prompt, target.batch_id, target.submitted_at, target.record_ids,
                target.final, slot,
            )
        else:
            ids = (target,) if isinstance(target, str) else tuple(str(i) for i in target)
            self._adhoc += 1
            self._add_batch(f"records-{self._adhoc}", "", "", utc_now(), ids, {}, slot)

    def resume(self) -> list[JournalBatch]:
        """Re-attach to this server's and key's unfinished batches from the journal (after a restart).

        Returns the batches newly shown; those already shown are only watched again if they timed out.
        """
        where = {"base_url": self._client.base_url, "key_id": self._client.key_id}
        resumed = []
        for batch in self._journal.pending(**where):
            shown = batch.key in self._batches
            self.track(batch)
            if not shown:
                resumed.append(batch)
        doubtful = self._journal.unconfirmed(**where)
        if doubtful:
            # Nothing to track (no ids came back), but the user must not forget they may exist.
            self._set_banner(_doubt_message(doubtful), "#8a6d00", "#fff8e1", kind="unconfirmed")
        return resumed

    async def wait(self, timeout: float | None = None) -> dict[str, RecordState]:
        """Until every record on the board is terminal (or timed out here) and its final status is in the
        journal; returns their states."""
        waited = [i for i in self._rows if i in self._tracker.states]
        states = await self._tracker.wait(waited, timeout=timeout)
        if self._journal_writes:
            await asyncio.wait(set(self._journal_writes))
        return states

    def close(self) -> None:
        """Stop this board's tasks, stop polling for records no other open board shows, close the tree.

        Final statuses already handed to a journal thread are still written.
        """
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
        slot: BatchSection | None,
    ) -> None:
        """Fill `slot` or build a section now, in the caller's cell, then start following the batch."""
        self._track_timed_out_again(record_ids)
        new_ids = tuple(dict.fromkeys(i for i in record_ids if i not in self._rows))
        if key in self._batches or not new_ids:
            if slot is not None:
                self.release(slot)
            return
        if slot is not None and slot in self._prepared:
            self._prepared.remove(slot)
            batch = slot
        else:
            batch = self._make_section([])
            self.sections.children = (batch.box, *self.sections.children)
        rows = self._rows_for(batch, new_ids, submitted_at)
        known = self._tracker.states
        for record_id, row in zip(new_ids, rows, strict=True):
            self._rows[record_id] = row
            self._batch_of[record_id] = key
            state = known.get(record_id)
            if state is not None:
                self._show_state(row, state)
            elif record_id in final:
                self._show_status(row, RecordState(record_id, final[record_id], None, utc_now()))
        batch.key, batch.prompt, batch.batch_id = key, prompt, batch_id
        batch.submitted_at, batch.record_ids = submitted_at, new_ids
        batch.journaled.update(i for i in new_ids if i in final)
        batch.header.value = _header_html(prompt, batch_id, submitted_at, len(new_ids))
        batch.progress.max = max(len(new_ids), 1)
        self._batches[key] = batch
        set_visible(batch.box, True)
        set_visible(self.empty, False)
        self._refresh_batch(batch)
        unfinished = [i for i in new_ids if i not in final]
        if unfinished:
            self._tracker.track(unfinished)
        self._ensure_ticker()

    def _rows_for(self, batch: BatchSection, record_ids: tuple[str, ...], started: datetime) -> list[_Row]:
        """The section's rows given these records' ids; a prepared section only needs new trait values."""
        if len(record_ids) > len(batch.rows):
            # Only for a new section, or when the server answers with more ids than were asked for.
            batch.rows.extend(self._make_row(i, started) for i in record_ids[len(batch.rows):])
            batch.records.children = [row.box for row in batch.rows]
        for surplus in batch.rows[len(record_ids):]:
            set_visible(surplus.box, False)
        rows = batch.rows[: len(record_ids)]
        for record_id, row in zip(record_ids, rows, strict=True):
            row.record_id = record_id
            row.started = started
            row.ident.value = _ident_html(record_id)
        batch.rows = rows
        return rows

    def _track_timed_out_again(self, record_ids: Iterable[str]) -> None:
        """Tracking records that timed out here watches them again, as the timed-out banner promises."""
        again = [i for i in record_ids if i in self._rows and self._rows[i].status == TIMED_OUT]
        if not again:
            return
        if self._banner_kind == "timed_out":
            self._set_banner("", "", "", kind="")
        self._tracker.track(again)

    def _make_row(self, record_id: str, started: datetime) -> _Row:
        tile = self.loader.placeholder("rendering")
        image = widgets.Image(
            value=tile.data,
            format=tile.format,
            layout=widgets.Layout(width=f"{THUMB_DISPLAY_PX}px", height=f"{THUMB_DISPLAY_PX}px"),
        )
        image.add_class("qw-record-thumb")
        ident = widgets.HTML(_ident_html(record_id), layout=widgets.Layout(width="230px"))
        ident.add_class("qw-record-id")
        status_cell = widgets.HTML(_status_badge(WAITING), layout=widgets.Layout(width="140px"))
        status_cell.add_class("qw-record-status")
        elapsed = widgets.Label("0 s", layout=widgets.Layout(width="110px"))
        elapsed.add_class("qw-record-elapsed")
        box = widgets.HBox([image, ident, status_cell, elapsed], layout=widgets.Layout(align_items="center"))
        box.add_class("qw-record")
        return _Row(record_id, started, box, image, ident, status_cell, elapsed)

    def _make_section(self, rows: list[_Row]) -> BatchSection:
        header = widgets.HTML()
        header.add_class("qw-batch-header")
        progress = widgets.IntProgress(value=0, min=0, max=max(len(rows), 1), bar_style="info")
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
        return BatchSection(box, header, progress, counts, credits, records, list(rows))

    def _on_event(self, event: TrackerEvent) -> None:
        if self._closed:
            return
        if event.kind == "problem":
            self._set_banner(event.message, "#8a6d00", "#fff8e1", kind=event.kind)
        elif event.kind == "stopped":
            self._set_banner(event.message, "#b3261e", "#fdecea", kind=event.kind)
        elif event.kind == "recovered":
            self._set_banner("", "", "", kind="")
        elif event.kind == "timed_out" and any(i in self._rows for i in event.changes):
            self._set_banner(event.message, "#555", "#f1f1f1", kind=event.kind)
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
        self._show_status(row, state)
        if state.status == "DONE":
            self._show_thumbnail(row, state.scenery.thumbnail if state.scenery is not None else None)

    def _show_status(self, row: _Row, state: RecordState) -> None:
        if state.status != row.status:
            row.status = state.status
            row.status_cell.value = _status_badge(state.status)
            if state.status in FAILED_STATUSES:
                self._set_image(row, self.loader.placeholder("failed"))
        if state.terminal and row.finished_at is None:
            row.finished_at = state.since
        elif not state.terminal:
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

    def _refresh_batch(self, batch: BatchSection) -> None:
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

    def _journal_finals(self, batch: BatchSection, statuses: Mapping[str, str]) -> None:
        """Record what the server finished, once per record, so `resume()` stops going back to it.

        Tracker events arrive on the kernel's loop, so the write and its fsync go to a worker thread;
        it is handed over at once, so closing the board does not stop it.
        """
        final = {
            i: s for i, s in statuses.items() if s in TERMINAL_STATUSES and i not in batch.journaled
        }
        if not final:
            return
        batch.journaled.update(final)
        base_url = self._client.base_url
        if not loop_running():
            self._finals_written(batch, final, _record_final(self._journal, base_url, final))
            return
        write = asyncio.get_running_loop().run_in_executor(
            None, _record_final, self._journal, base_url, final
        )
        self._journal_writes.add(write)
        write.add_done_callback(self._journal_writes.discard)
        write.add_done_callback(
            lambda done: None if done.cancelled() else self._finals_written(batch, final, done.result())
        )

    def _finals_written(self, batch: BatchSection, final: Mapping[str, str], error: OSError | None) -> None:
        if error is not None:
            logger.warning("could not record final statuses in %s: %s", self._journal.path, error)
            batch.journaled.difference_update(final)

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

    def _set_banner(self, message: str, colour: str, background: str, *, kind: str) -> None:
        self._banner_kind = kind
        html = (
            f'<div style="color:{colour};background:{background};padding:4px 8px;border-radius:4px">'
            f"{escape(message)}</div>"
            if message
            else ""
        )
        if self.banner.value != html:
            self.banner.value = html
        set_visible(self.banner, bool(message))


def _record_final(journal: Journal, base_url: str, final: Mapping[str, str]) -> OSError | None:
    """The journal write, for a worker thread: a failure comes back as a value for the loop to report."""
    try:
        journal.record_final(base_url, final)
    except OSError as exc:
        return exc
    return None


def _doubt_message(attempts: Sequence[UnconfirmedAttempt]) -> str:
    listed = "; ".join(
        f"\u201c{excerpt(a.prompt, 40)}\u201d ({a.count}, idempotency key {a.idempotency_key})"
        for a in attempts
    )
    return (
        f"{len(attempts)} earlier submission(s) were never confirmed by the server and may exist: {listed}. "
        "Check the gallery before submitting them again; register_ideas(..., idempotency_key=...) with "
        "that key is the safe way to retry."
    )


def _ident_html(record_id: str) -> str:
    return f"<code>{escape(record_id)}</code>" if record_id else "<code>…</code>"


def _header_html(prompt: str, batch_id: str, submitted_at: datetime | None, count: int) -> str:
    """A section's title line; without `submitted_at` it is a submission the server has not confirmed."""
    title = escape(excerpt(prompt, PROMPT_EXCERPT_CHARS)) if prompt else "Tracked records"
    if submitted_at is None:
        when = "waiting for the server to confirm"
    else:
        batch_label = f"batch <code>{escape(batch_id)}</code> · " if batch_id else ""
        when = f"{batch_label}submitted {escape(submitted_at.astimezone().strftime('%Y-%m-%d %H:%M:%S'))}"
    return f"<div title='{escape(prompt)}'><b>{title}</b><br><small>{when} · {count} records</small></div>"
