"""StatusBoard: each submitted prompt is a run of live cards that turn into pictures in place.

It is the results canvas in "runs" mode, fed by the client's shared `JobTracker` (one list request
per tick for every board and gallery of that client). A run's header says the whole prompt, the
count, the time, the credits (reserved, then consumed or refunded) and its progress; its cards keep
the order of `createdRecordIds`. Only the latest few runs are drawn; older ones fold into one line,
so the board's height and its widget state stay bounded however long the session.
"""

from __future__ import annotations

import asyncio
import itertools
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import traitlets

from ..client import Registration, Scenery
from ..client.rules import utc_now
from ..contract import FAILED_STATUSES, PRICE_PER_ITEM, TERMINAL_STATUSES
from ..engine.journal import Journal, JournalBatch, UnconfirmedAttempt, batch_key
from ..engine.thumbnails import ThumbnailLoader
from ..engine.tracking import TIMED_OUT, WAITING, JobTracker, RecordState, TrackerEvent, tracker_for
from ._common import AnyClient, Callbacks, as_async_client, escape, excerpt, logger, loop_running
from .canvas import ResultsCanvas

__all__ = ["BatchCounts", "BatchSection", "StatusBoard", "count_statuses"]

VISIBLE_RUNS = 4
"""Runs drawn in full; older ones fold into one line. Four runs of up to 20 cards fill a screen or two."""
MORE_RUNS_STEP = 4


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
        parts = [f"{self.done} of {self.total} done"]
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.running:
            parts.append(f"{self.running} in progress")
        if self.timed_out:
            parts.append(f"{self.timed_out} no longer watched")
        return " · ".join(parts)

    def credits_text(self) -> str:
        consumed = self.done * PRICE_PER_ITEM
        refunded = self.failed * PRICE_PER_ITEM
        reserved = (self.running + self.timed_out) * PRICE_PER_ITEM
        parts = []
        if reserved:
            parts.append(f"{reserved} credits reserved")
        if consumed:
            parts.append(f"{consumed} consumed")
        if refunded:
            parts.append(f"{refunded} refunded")
        return " · ".join(parts) or "no credits"


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


# Process-wide because trackers are (one per client, shared by every board of it): closing one board
# stops polling only for records that no other open board shows. Owned by StatusBoard's init and close.
_open_boards: weakref.WeakSet[StatusBoard] = weakref.WeakSet()
_pending_keys = itertools.count(1)


@dataclass(eq=False)
class BatchSection:
    """One run: a submitted prompt and its records.

    `StatusBoard.prepare()` returns one waiting for its server's confirmation (drawn at once with
    placeholder cards); hand it to `track(registration, slot=...)` or `release()`.
    """

    key: str
    prompt: str
    count: int
    batch_id: str = ""
    submitted_at: datetime | None = None
    record_ids: tuple[str, ...] = ()
    journaled: set[str] = field(default_factory=set)
    collapsed: bool = False
    comparison: str = ""
    """Shared by the runs of one comparison, drawn together as rows; '' for a run of its own."""
    template: str = ""
    parts: tuple[tuple[str, bool], ...] = ()

    @property
    def confirmed(self) -> bool:
        return self.submitted_at is not None


def _stub(record_id: str, status: str) -> Scenery:
    """A record the list has not shown yet: enough for a live placeholder card."""
    return Scenery(id=record_id, name="", thumbnail=None, status=status, voting=None, created_at=None)


class StatusBoard(ResultsCanvas):
    """Live runs of submitted prompts: placeholders that turn into pictures, credits and progress.

    `loader` is the gallery's `ThumbnailLoader` when there is one (one download per image);
    `journal` receives the final statuses and is where `resume()` finds unfinished batches.
    """

    visible_runs = traitlets.Int(VISIBLE_RUNS, help="How many of the newest runs are drawn in full.")

    def __init__(
        self,
        client: AnyClient,
        *,
        loader: ThumbnailLoader | None = None,
        journal: Journal | None = None,
        tracker: JobTracker | None = None,
        thumb_px: int = 176,
        title: str = "",
    ) -> None:
        self._client = as_async_client(client)
        self._tracker = tracker if tracker is not None else tracker_for(self._client)
        self._journal = journal if journal is not None else Journal()
        self._runs: dict[str, BatchSection] = {}
        self._run_of: dict[str, str] = {}
        self._status: dict[str, str] = {}
        self._since: dict[str, datetime] = {}
        self._journal_writes: set[asyncio.Future[OSError | None]] = set()
        self._adhoc = 0
        self._banner_kind = ""
        self._run_again_callbacks = Callbacks("run-again")
        super().__init__(loader=loader, thumb_px=thumb_px, mode="runs", title=title)
        self._unsubscribe = self._tracker.subscribe(self._on_event)
        self.observe(lambda _change: self._redraw(), "visible_runs")
        _open_boards.add(self)

    @property
    def tracker(self) -> JobTracker:
        return self._tracker

    @property
    def record_ids(self) -> tuple[str, ...]:
        return tuple(self._run_of)

    @property
    def statuses(self) -> dict[str, str]:
        """What each record's card shows now (WAITING and TIMED_OUT are local states)."""
        return {record_id: self._status[record_id] for record_id in self._run_of}

    @property
    def sections(self) -> list[BatchSection]:
        """Every run, newest first, folded ones included."""
        return list(reversed(self._runs.values()))

    def prepare(
        self,
        prompt: str,
        count: int,
        *,
        comparison: str = "",
        template: str = "",
        parts: Sequence[tuple[str, bool]] = (),
    ) -> BatchSection:
        """Show a run for a submission whose answer is still on its way, with `count` queued cards.

        `track(registration, slot=section)` turns it into the confirmed run in the same place;
        `release(section)` removes it when the submission was not confirmed. Runs prepared with the
        same `comparison` are drawn as the rows of one comparison, `parts` marking the words that vary.
        """
        if self._closed:
            raise RuntimeError("This StatusBoard is closed; create a new one.")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"count must be a whole number of at least 1, not {count!r}.")
        key = f"pending-{next(_pending_keys)}"
        section = BatchSection(
            key=key, prompt=prompt, count=count, comparison=comparison, template=template, parts=tuple(parts)
        )
        self._runs[key] = section
        self._redraw()
        return section

    def release(self, slot: BatchSection) -> None:
        """Remove a prepared run whose submission was not confirmed."""
        if not slot.confirmed and self._runs.get(slot.key) is slot:
            del self._runs[slot.key]
            self._redraw()

    def track(
        self,
        target: Registration | JournalBatch | Iterable[str] | str,
        *,
        slot: BatchSection | None = None,
    ) -> None:
        """Show a batch (or plain record ids) as a run and follow it live; records already shown are
        skipped, except that timed-out ones are watched again.

        With `slot` (from `prepare()`), the confirmed batch takes the prepared run's place.
        """
        if self._closed:
            raise RuntimeError("This StatusBoard is closed; create a new one.")
        if isinstance(target, Registration):
            self._add_batch(
                batch_key(target.batch_id, target.record_ids),
                target.preferences,
                target.batch_id,
                target.submitted_at,
                target.record_ids,
                {},
                slot,
            )
        elif isinstance(target, JournalBatch):
            if slot is None and target.comparison:  # drawn with the other jobs of its comparison again
                slot = BatchSection(
                    key="",
                    prompt=target.prompt,
                    count=target.count,
                    comparison=target.comparison,
                    template=target.template,
                    parts=target.parts,
                )
            self._add_batch(
                target.key,
                target.prompt,
                target.batch_id,
                target.submitted_at,
                target.record_ids,
                target.final,
                slot,
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
            shown = batch.key in self._runs
            self.track(batch)
            if not shown:
                resumed.append(batch)
        doubtful = self._journal.unconfirmed(**where)
        if doubtful:
            # Nothing to track (no ids came back), but the user must not forget they may exist.
            self._set_banner(_doubt_message(doubtful), kind="unconfirmed")
        return resumed

    def show_history(self, batches: Sequence[JournalBatch]) -> None:
        """Show journaled jobs as runs, placed by the time they were submitted: the prompts of earlier
        sessions with their pictures (once a list supplies the URLs, see `show_sceneries`). Unfinished
        ones are followed live again, as `resume()` does."""
        for batch in batches:
            if batch.key not in self._runs:
                self.track(batch)

    def show_sceneries(self, sceneries: Sequence[Scenery]) -> None:
        """Take pictures and review votes from a list someone else fetched (the library's), for records
        the board shows as finished; their live state still comes from the tracker."""
        changed = set()
        for scenery in sceneries:
            if scenery.id not in self._run_of or self._status.get(scenery.id) not in TERMINAL_STATUSES:
                continue
            if self._known.get(scenery.id) != scenery:
                self._known[scenery.id] = scenery
                changed.add(scenery.id)
        if changed:
            self._redraw(changed=changed)

    def on_run_again(self, callback: Callable[[str, int], Any], remove: bool = False) -> None:
        """Call `callback(prompt, count)` when a person presses "Run again" on a run."""
        self._run_again_callbacks.register(callback, remove)

    async def wait(self, timeout: float | None = None) -> dict[str, RecordState]:
        """Until every record on the board is terminal (or timed out here) and its final status is in the
        journal; returns their states."""
        waited = [i for i in self._run_of if i in self._tracker.states]
        states = await self._tracker.wait(waited, timeout=timeout)
        if self._journal_writes:
            await asyncio.wait(set(self._journal_writes))
        await self.wait_pictures()
        return states

    def close(self) -> None:
        """Stop this board's tasks, stop polling for records no other open board shows, close the model.

        Final statuses already handed to a journal thread are still written.
        """
        if not self._ready or self._closed:
            super().close()
            return
        self._unsubscribe()
        _open_boards.discard(self)
        shown_elsewhere: set[str] = set()
        for board in list(_open_boards):
            if board._tracker is self._tracker:
                shown_elsewhere.update(board._run_of)
        orphans = [i for i in self._run_of if i not in shown_elsewhere and i in self._tracker.states]
        if orphans:
            self._tracker.untrack(orphans)
        super().close()

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
        self._track_timed_out_again(record_ids)
        new_ids = tuple(dict.fromkeys(i for i in record_ids if i not in self._run_of))
        if slot is not None and self._runs.get(slot.key) is slot and not slot.confirmed:
            del self._runs[slot.key]
        if key in self._runs or not new_ids:
            self._redraw()
            return
        run = BatchSection(
            comparison=slot.comparison if slot is not None else "",
            template=slot.template if slot is not None else "",
            parts=slot.parts if slot is not None else (),
            key=key,
            prompt=prompt,
            count=len(new_ids),
            batch_id=batch_id,
            submitted_at=submitted_at,
            record_ids=new_ids,
        )
        run.journaled.update(i for i in new_ids if i in final)
        known = self._tracker.states
        for record_id in new_ids:
            self._run_of[record_id] = key
            if prompt:
                self._prompt_of[record_id] = prompt
            state = known.get(record_id)
            if state is not None:
                self._remember(state)
            else:
                status = final.get(record_id, WAITING)
                self._remember(RecordState(record_id, status, None, submitted_at))
        self._runs[key] = run
        self._redraw()
        unfinished = [i for i in new_ids if i not in final]
        if unfinished:
            self._tracker.track(unfinished)

    def _track_timed_out_again(self, record_ids: Iterable[str]) -> None:
        """Tracking records that timed out here watches them again, as the timed-out note promises."""
        again = [i for i in record_ids if self._status.get(i) == TIMED_OUT]
        if not again:
            return
        if self._banner_kind == "timed_out":
            self._set_banner("", kind="")
        self._tracker.track(again)

    def _remember(self, state: RecordState) -> bool:
        """Keep what a card needs to know about one record; whether anything changed."""
        record_id = state.id
        old_status = self._status.get(record_id)
        scenery = state.scenery
        known = self._known.get(record_id)
        if scenery is None:
            scenery = known if known is not None and known.thumbnail else _stub(record_id, state.status)
        changed = old_status != state.status or known != scenery
        if old_status != state.status:
            self._since[record_id] = state.since
        self._status[record_id] = state.status
        self._known[record_id] = scenery
        return changed

    def _on_event(self, event: TrackerEvent) -> None:
        if self._closed:
            return
        if event.kind in ("problem", "stopped"):
            self._set_banner(event.message, kind=event.kind)
        elif event.kind == "recovered":
            self._set_banner("", kind="")
        elif event.kind == "timed_out" and any(i in self._run_of for i in event.changes):
            self._set_banner(event.message, kind=event.kind)
        touched: set[str] = set()
        for record_id, state in event.changes.items():
            if record_id in self._run_of and self._remember(state):
                touched.add(record_id)
        for scenery in event.sceneries:
            # Records shown as final from the journal have no URL yet: the poll's full list supplies it.
            if (
                scenery.id in self._run_of
                and self._known.get(scenery.id) != scenery
                and (self._status.get(scenery.id) in TERMINAL_STATUSES)
            ):
                self._known[scenery.id] = scenery
                touched.add(scenery.id)
        if touched:
            self._redraw(changed=touched)

    def _card_for(self, record_id: str, run: BatchSection) -> dict[str, Any]:
        status = self._status.get(record_id, WAITING)
        scenery = self._known.get(record_id) or _stub(record_id, status)
        return self._card(scenery, status=status, since=self._since.get(record_id), run=run.key)

    def _pending_cards(self, run: BatchSection) -> list[dict[str, Any]]:
        return [
            {
                "id": f"{run.key}-{n}",
                "name": "",
                "prompt": run.prompt,
                "state": "waiting",
                "label": "Sending…",
                "vote": "none",
                "created": "",
                "since": 0,
                "thumb": 0,
                "run": run.key,
            }
            for n in range(run.count)
        ]

    def _redraw(self, changed: set[str] | None = None) -> None:
        """Recompute run headers and the drawn cards; only changed cards go out as a patch."""
        if self._closed:
            return
        entries = _entries(_newest_first(self._runs.values()))
        shown, folded = entries[: self.visible_runs], entries[self.visible_runs :]
        runs: list[dict[str, Any]] = []
        cards: list[dict[str, Any]] = []
        for entry in shown:
            rows = []
            for run in entry:
                if run.confirmed:
                    run_cards = [self._card_for(i, run) for i in run.record_ids]
                    counts = count_statuses(self._status.get(i, WAITING) for i in run.record_ids)
                    self._journal_finals(run, counts)
                else:
                    run_cards = self._pending_cards(run)
                    counts = BatchCounts(running=run.count)
                rows.append(self._run_dict(run, counts, [c["id"] for c in run_cards]))
                if not entry[0].collapsed:
                    cards.extend(run_cards)
            runs.append(rows[0] if len(entry) == 1 and not entry[0].comparison else _comparison(entry, rows))
        for run in (run for entry in folded for run in entry):
            if run.confirmed:
                self._journal_finals(
                    run, count_statuses(self._status.get(i, WAITING) for i in run.record_ids)
                )
        self.runs = runs
        self.folded_runs = _folded([run for entry in folded for run in entry], self._status)
        if [c["id"] for c in cards] == [c["id"] for c in self.cards]:
            self._update_cards(c for c in cards if changed is None or c["id"] in changed)
        else:
            self._show_cards(cards)

    def _run_dict(self, run: BatchSection, counts: BatchCounts, ids: list[str]) -> dict[str, Any]:
        if run.submitted_at is None:
            noun = "picture" if run.count == 1 else "pictures"
            meta = f"{run.count} {noun} · waiting for the server to confirm"
            credits = f"{run.count * PRICE_PER_ITEM} credits to reserve"
        else:
            when = _when(run.submitted_at)
            noun = "picture" if len(run.record_ids) == 1 else "pictures"
            short = run.batch_id if len(run.batch_id) <= 9 else run.batch_id[:8] + "…"
            batch = f" · batch {short}" if short else ""
            meta = f"{len(run.record_ids)} {noun} · {when}{batch}"
            credits = counts.credits_text()
        return {
            "key": run.key,
            "prompt": run.prompt,
            "collapsed": run.collapsed,
            "ids": ids,
            "total": counts.total,
            "done": counts.done,
            "failed": counts.failed,
            "meta": meta,
            "credits": credits,
            "progress": counts.text() if run.confirmed else "sending…",
            "use_prompt": bool(run.prompt),
            "parts": [list(p) for p in run.parts],
            "pending": counts.running,
            "consumed": counts.done,
            "refunded": counts.failed,
        }

    def _static_body(self) -> str:
        """Each drawn run as a heading (prompt, progress, credits) over its pictures."""
        by_run: dict[str, list[dict[str, Any]]] = {}
        for card in self.cards:
            by_run.setdefault(card["run"], []).append(card)
        parts = []
        for run in self.runs:
            parts.append(
                f"<h5>{escape(run['prompt'] or 'Tracked records')}</h5>"
                f"<p><small>{escape(run['meta'])} · {escape(run['progress'])} · {escape(run['credits'])}"
                "</small></p>" + self._static_figures(by_run.get(run["key"], []))
            )
        if self.folded_runs:
            parts.append(f"<p><small>{escape(self.folded_runs['text'])}</small></p>")
        return "".join(parts)

    def _on_intent(self, kind: object, content: Mapping[str, Any]) -> None:
        if kind == "toggle_run":
            key = str(content.get("key", ""))
            group = [r for r in self._runs.values() if key in (r.key, r.comparison)]
            if group:
                collapsed = not group[0].collapsed
                for member in group:
                    member.collapsed = collapsed
                self._redraw()
        elif kind == "more_runs":
            self.visible_runs += MORE_RUNS_STEP
        elif kind == "run_again":
            chosen = self._run_or_comparison(str(content.get("key", "")))
            if chosen is not None and (chosen.template or chosen.prompt):
                self._run_again_callbacks(chosen.template or chosen.prompt, chosen.count)
        elif kind == "use_run_prompt":
            named = self._run_or_comparison(str(content.get("key", "")))
            prompt = (named.template or named.prompt) if named is not None else ""
            if prompt:
                self._use_prompt_callbacks(prompt)

    def _run_or_comparison(self, key: str) -> BatchSection | None:
        """The run a header's key names: a run's own key, or the first run of a comparison."""
        run = self._runs.get(key)
        return run if run is not None else next((r for r in self._runs.values() if r.comparison == key), None)

    def _journal_finals(self, run: BatchSection, counts: BatchCounts) -> None:
        """Record what the server finished, once per record, so `resume()` stops going back to it.

        Tracker events arrive on the kernel's loop, so the write and its fsync go to a worker thread;
        it is handed over at once, so closing the board does not stop it.
        """
        if not counts.settled:
            return
        final = {
            i: self._status[i]
            for i in run.record_ids
            if self._status.get(i) in TERMINAL_STATUSES and i not in run.journaled
        }
        if not final:
            return
        run.journaled.update(final)
        base_url = self._client.base_url
        if not loop_running():
            self._finals_written(run, final, _record_final(self._journal, base_url, final))
            return
        write = asyncio.get_running_loop().run_in_executor(
            None, _record_final, self._journal, base_url, final
        )
        self._journal_writes.add(write)
        write.add_done_callback(self._journal_writes.discard)
        write.add_done_callback(
            lambda done: None if done.cancelled() else self._finals_written(run, final, done.result())
        )

    def _finals_written(self, run: BatchSection, final: Mapping[str, str], error: OSError | None) -> None:
        if error is not None:
            logger.warning("could not record final statuses in %s: %s", self._journal.path, error)
            run.journaled.difference_update(final)

    def _set_banner(self, message: str, *, kind: str) -> None:
        self._banner_kind = kind
        self._say(message, error=kind in ("stopped", "unconfirmed"))


def _newest_first(runs: Iterable[BatchSection]) -> list[BatchSection]:
    """By submission time, newest first; runs still waiting for their server come before all."""
    ordered = list(runs)
    ordered.reverse()  # among equal times, the one added last is the newer
    return sorted(
        ordered,
        key=lambda r: (r.submitted_at is not None, -(r.submitted_at.timestamp() if r.submitted_at else 0)),
    )


def _entries(newest_first: Sequence[BatchSection]) -> list[list[BatchSection]]:
    """Runs as drawn: a comparison's runs together (in the order they were sent), others alone."""
    entries: list[list[BatchSection]] = []
    index: dict[str, list[BatchSection]] = {}
    for run in newest_first:
        if run.comparison and run.comparison in index:
            index[run.comparison].insert(0, run)
            continue
        entry = [run]
        entries.append(entry)
        if run.comparison:
            index[run.comparison] = entry
    return entries


def _comparison(entry: Sequence[BatchSection], rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One header over a comparison's rows: the template, and the sums of its jobs."""
    first = entry[0]
    total = sum(r["total"] for r in rows)
    counts = BatchCounts(
        done=sum(r["done"] for r in rows),
        failed=sum(r["failed"] for r in rows),
        running=sum(r["pending"] for r in rows),
    )
    per = first.count
    when = _when(first.submitted_at) if first.submitted_at else "sending…"
    return {
        "key": first.comparison,
        "kind": "compare",
        "prompt": first.template or " | ".join(r.prompt for r in entry),
        "collapsed": first.collapsed,
        "rows": list(rows),
        "ids": [i for r in rows for i in r["ids"]],
        "total": total,
        "done": counts.done,
        "failed": counts.failed,
        "meta": f"Comparison · {len(rows)} prompts × {per} {'picture' if per == 1 else 'pictures'} · {when}",
        "credits": counts.credits_text(),
        "progress": counts.text(),
        "use_prompt": True,
    }


def _when(moment: datetime) -> str:
    """The time of day for today's runs, the date too for older ones (history from the journal)."""
    local = moment.astimezone()
    if local.date() == datetime.now(local.tzinfo).date():
        return local.strftime("%H:%M:%S")
    return local.strftime("%Y-%m-%d %H:%M")


def _folded(runs: Sequence[BatchSection], status: Mapping[str, str]) -> dict[str, Any]:
    if not runs:
        return {}
    ids = [i for run in runs for i in run.record_ids]
    counts = count_statuses(status.get(i, WAITING) for i in ids)
    noun = "run" if len(runs) == 1 else "runs"
    return {
        "count": len(runs),
        "text": f"{len(runs)} earlier {noun} · {len(ids)} pictures · {counts.credits_text()}",
    }


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
        "Check the library before submitting them again; register_ideas(..., idempotency_key=...) with "
        "that key is the safe way to retry."
    )
