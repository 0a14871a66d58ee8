"""StatusBoard: each submitted prompt is a run of live cards that turn into pictures in place.

It is the results canvas in "runs" mode, fed by the client's shared `JobTracker` (one list request
per tick for every board and gallery of that client). A run's header says the whole prompt, the
count, the time, the credits (reserved, then consumed or refunded) and its progress; its cards keep
the order of `createdRecordIds`. Only the latest few runs are drawn; older ones fold into one line,
so the board's height and its widget state stay bounded however long the session.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import traitlets

from ..client import Registration, Scenery
from ..client.rules import utc_now
from ..contract import TERMINAL_STATUSES
from ..engine.jobs.final_statuses import FinalsWriter
from ..engine.jobs.journal import Journal
from ..engine.jobs.retry_failed import RetryNote, attach_retries
from ..engine.jobs.runs import (
    Run,
    comparison_header,
    doubt_message,
    folded_line,
    grouped,
    newest_first,
    pending_cards,
    run_for,
)
from ..engine.jobs.submitting import Confirmed, Finished, Sending, SubmitEvent
from ..engine.jobs.tracking import TIMED_OUT, WAITING, JobTracker, RecordState, TrackerEvent, tracker_for
from ..engine.pictures.loader import ThumbnailLoader
from ..engine.store import JobRecord
from . import protocol
from .basics import AnyClient, as_async_client, escape
from .board_actions import RunActions
from .canvas import ResultsCanvas

__all__ = ["StatusBoard"]

VISIBLE_RUNS = 4
"""Runs drawn in full; older ones fold into one line. Four runs of up to 20 cards fill a screen or two."""
MORE_RUNS_STEP = 4


# Process-wide because trackers are (one per client, shared by every board of it): closing one board
# stops polling only for records that no other open board shows. Owned by StatusBoard's init and close.
_open_boards: weakref.WeakSet[StatusBoard] = weakref.WeakSet()
_pending_keys = itertools.count(1)


def _stub(record_id: str, status: str) -> Scenery:
    """A record the list has not shown yet: enough for a live placeholder card."""
    return Scenery(id=record_id, name="", thumbnail=None, status=status, voting=None, created_at=None)


class StatusBoard(ResultsCanvas):
    """Live runs of submitted prompts: placeholders that turn into pictures, credits and progress.

    `loader` is the gallery's `ThumbnailLoader` when there is one (one download per image);
    `journal` receives the final statuses and is where `resume()` finds unfinished batches.
    """

    visible_runs = traitlets.Int(VISIBLE_RUNS, help="How many of the newest runs are drawn in full.")
    _holding_redraws = False  # set while show_history adds many runs: they are drawn once at the end
    _redraw_held = False

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
        self._runs: dict[str, Run] = {}
        self._run_of: dict[str, str] = {}
        self._status: dict[str, str] = {}
        self._since: dict[str, datetime] = {}
        self._finals = FinalsWriter(self._journal)
        self._adhoc = 0
        self._banner_kind = ""
        self._submitted: dict[str, Run] = {}  # prepared runs by their job's idempotency key
        self._run_actions = RunActions(
            runs=self._runs,
            statuses=self._status,
            cards_of=self._cards_of,
            redraw=self._redraw,
            say=self._say,
            use_prompt=lambda prompt: self._use_prompt_callbacks(prompt),
        )
        super().__init__(loader=loader, thumb_px=thumb_px, mode="runs", title=title)
        self._use_account(self._client.base_url, self._client.key_id)
        self._unsubscribe = self._tracker.subscribe(self._on_event)
        self.observe(lambda _change: self._redraw(), "visible_runs")
        _open_boards.add(self)

    def _browser_messages(self) -> dict[str, protocol.Handler]:
        return {
            **super()._browser_messages(),
            protocol.TOGGLE_RUN: self._toggle_run,
            protocol.MORE_RUNS: self._more_runs,
            protocol.RUN_AGAIN: self._run_actions.run_again_from_browser,
            protocol.USE_RUN_PROMPT: self._run_actions.edit_from_browser,
            protocol.RETRY_FAILED: self._run_actions.retry_from_browser,
        }

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
    def sections(self) -> list[Run]:
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
        retry_of: str = "",
    ) -> Run:
        """Show a run for a submission whose answer is still on its way, with `count` queued cards.

        `track(registration, run=prepared)` turns it into the confirmed run in the same place;
        `release(prepared)` removes it when the submission was not confirmed. Runs prepared with the
        same `comparison` are drawn as the rows of one comparison, `parts` marking the words that vary;
        one with `retry_of` (a run's key) inside that run, as its retry.
        """
        if self._closed:
            raise RuntimeError("This StatusBoard is closed; create a new one.")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"count must be a whole number of at least 1, not {count!r}.")
        key = f"pending-{next(_pending_keys)}"
        prepared = Run(key, prompt, count, comparison=comparison, template=template, parts=tuple(parts))
        prepared.retry_of = retry_of
        self._runs[key] = prepared
        self._redraw()
        return prepared

    def release(self, run: Run) -> None:
        """Remove a prepared run whose submission was not confirmed."""
        if not run.confirmed and self._runs.get(run.key) is run:
            del self._runs[run.key]
            self._redraw()

    def show_submission(self, event: SubmitEvent) -> None:
        """Follow a submit machine (a form's, a run's retry): each job's run appears with its placeholders
        as its POST goes out, the confirmed batch takes its place, and a job the server did not confirm
        leaves again. Its other events (sentences, questions) are the form's to show."""
        if isinstance(event, Sending) and not self._closed:
            for job in event.jobs:
                previous = self._submitted.pop(job.idempotency_key, None)
                if previous is not None:
                    self.release(previous)
                self._submitted[job.idempotency_key] = self.prepare(
                    job.preferences,
                    job.count,
                    comparison=job.comparison,
                    template=job.template,
                    parts=job.parts,
                    retry_of=job.retry_of,
                )
        elif isinstance(event, Confirmed):
            registration = event.registration
            self.track(registration, run=self._submitted.pop(registration.idempotency_key, None))
        elif isinstance(event, Finished):
            for job in event.jobs:
                prepared = self._submitted.pop(job.idempotency_key, None)
                if prepared is not None:
                    self.release(prepared)

    def on_run_again(self, callback: Callable[[str, int], Any], remove: bool = False) -> None:
        """Call `callback(prompt, count)` once a person confirms "Run again" (asked in the run's header)."""
        self._run_actions.on_run_again(callback, remove)

    def on_edit(self, callback: Callable[[str, int], Any], remove: bool = False) -> None:
        """Call `callback(prompt, count)` for "Edit" on a run (else the `on_use_prompt` callbacks get it)."""
        self._run_actions.on_edit(callback, remove)

    def on_retry_failed(self, callback: Callable[[str, str, int], Any], remove: bool = False) -> None:
        """Call `callback(run_key, prompt, count)` once a person confirms "Retry N failed" on a run (the
        count is the board's own of the run's failed pictures). Without one, no run offers a retry."""
        self._run_actions.on_retry_failed(callback, remove)

    def note_retry(self, key: str, note: RetryNote | None) -> None:
        """Say something beside a run's retry button (progress, or why nothing was sent); None clears."""
        self._run_actions.note_retry(key, note)

    def retry_offer(self, key: str) -> int:
        """How many failed pictures "Retry N failed" would generate again for the run `key` (0: none)."""
        return self._run_actions.retry_offer(key)

    def track(
        self,
        target: Registration | JobRecord | Iterable[str] | str,
        *,
        run: Run | None = None,
        slot: Run | None = None,
    ) -> None:
        """Show a batch (or plain record ids) as a run and follow it live; records already shown are
        skipped, except that timed-out ones are watched again.

        With `run` (from `prepare()`), the confirmed batch takes the prepared run's place (`slot` is its
        old name, still accepted).
        """
        if self._closed:
            raise RuntimeError("This StatusBoard is closed; create a new one.")
        if not isinstance(target, (Registration, JobRecord)):
            target = (target,) if isinstance(target, str) else tuple(str(i) for i in target)
            self._adhoc += 1
        found, final = run_for(target, f"records-{self._adhoc}")
        self._add_batch(found, final, run if run is not None else slot)

    def resume(self) -> list[JobRecord]:
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
            self._set_banner(doubt_message(doubtful), kind="unconfirmed")
        return resumed

    def show_history(self, batches: Sequence[JobRecord]) -> None:
        """Show journaled jobs as runs, placed by the time they were submitted: the prompts of earlier
        sessions with their pictures (once a list supplies the URLs, see `show_sceneries`). Unfinished
        ones are followed live again, as `resume()` does."""
        # Added first, drawn once: a class's shared journal holds thousands of jobs, and a redraw per
        # batch made opening it quadratic (8,000 jobs held the loop two minutes).
        self._holding_redraws, self._redraw_held = True, False
        try:
            for batch in batches:
                if batch.key not in self._runs:
                    self.track(batch)
        finally:
            self._holding_redraws = False
        if self._redraw_held:
            self._redraw()

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

    async def wait(self, timeout: float | None = None) -> dict[str, RecordState]:
        """Until every record on the board is terminal (or timed out here) and its final status is in the
        journal; returns their states."""
        waited = [i for i in self._run_of if i in self._tracker.states]
        states = await self._tracker.wait(waited, timeout=timeout)
        await self._finals.wait()
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

    def _add_batch(self, found: Run, final: Mapping[str, str], prepared: Run | None) -> None:
        """Show `found` (from `run_for`) in place of its `prepared` run, watching what is unfinished."""
        self._track_timed_out_again(found.record_ids)
        new_ids = tuple(dict.fromkeys(i for i in found.record_ids if i not in self._run_of))
        if prepared is not None and self._runs.get(prepared.key) is prepared and not prepared.confirmed:
            del self._runs[prepared.key]
        if found.key in self._runs or not new_ids:
            self._redraw()
            return
        grouping = prepared if prepared is not None else found
        run = replace(
            found,
            count=len(new_ids),
            record_ids=new_ids,
            comparison=grouping.comparison,
            template=grouping.template,
            parts=grouping.parts,
            retry_of=grouping.retry_of,
        )
        key, prompt, submitted_at = run.key, run.prompt, run.submitted_at
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
                self._remember(RecordState(record_id, status, None, submitted_at or utc_now()))
        self._runs[key] = run
        self._redraw()
        self._journal_settled(new_ids)
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
            self._journal_settled(touched)

    def _card_for(self, record_id: str, run: Run) -> dict[str, Any]:
        status = self._status.get(record_id, WAITING)
        scenery = self._known.get(record_id) or _stub(record_id, status)
        return self._card(scenery, status=status, since=self._since.get(record_id), run=run.key)

    def _cards_of(self, run: Run) -> list[dict[str, Any]]:
        """A run's cards as drawn: its records' in the marks' order once confirmed, placeholders before."""
        if not run.confirmed:
            return pending_cards(run)
        return self.by_marks([self._card_for(i, run) for i in run.record_ids])

    def _redraw(self, changed: set[str] | None = None) -> None:
        """Recompute run headers and the drawn cards; only changed cards go out as a patch."""
        if self._closed:
            return
        if self._holding_redraws:
            self._redraw_held = True
            return
        own, retries = attach_retries(self._runs.values())
        entries = grouped(newest_first(own))
        shown, folded = entries[: self.visible_runs], entries[self.visible_runs :]
        runs: list[dict[str, Any]] = []
        cards: list[dict[str, Any]] = []
        for entry in shown:
            rows = []
            for run in entry:  # a run, or a comparison's rows: each with its retries after its own cards
                run_cards = self._cards_of(run)
                if not entry[0].collapsed:
                    cards.extend(run_cards)
                rows.append(
                    self._run_actions.header(
                        run, retries.get(run.key, []), [c["id"] for c in run_cards], cards
                    )
                )
            drawn = rows[0] if len(entry) == 1 and not entry[0].comparison else comparison_header(entry, rows)
            runs.append({**drawn, "question": self._run_actions.question(drawn["key"])})
        self.runs = runs
        # A run and its retries fold as one run, with all their pictures.
        self.folded_runs = folded_line(
            [[*e, *(r for run in e for r in retries.get(run.key, []))] for e in folded], self._status
        )
        if [c["id"] for c in cards] == [c["id"] for c in self.cards]:
            self._update_cards(c for c in cards if changed is None or c["id"] in changed)
        else:
            self._show_cards(cards)

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
                "</small></p>"
            )
            for part in run.get("rows", [run]):  # a run, or each row of a comparison, with its retries
                parts.append(self._static_figures(by_run.get(part["key"], [])))
                for line in part.get("retries", []):
                    figures = self._static_figures(by_run.get(line["key"], []))
                    parts.append(f"<p><small>{escape(line['text'])}</small></p>{figures}")
        if self.folded_runs:
            parts.append(f"<p><small>{escape(self.folded_runs['text'])}</small></p>")
        return "".join(parts)

    def _toggle_run(self, message: protocol.BrowserMessage) -> None:
        """Fold or unfold a run, or every row of a comparison together."""
        key = message["key"]
        group = [r for r in self._runs.values() if key in (r.key, r.comparison)]
        if group:
            collapsed = not group[0].collapsed
            for member in group:
                member.collapsed = collapsed
            self._redraw()

    def _more_runs(self, _message: protocol.BrowserMessage) -> None:
        self.visible_runs += MORE_RUNS_STEP

    def _review_runs(self) -> list[Run]:
        return self.sections

    def _live_statuses(self) -> dict[str, str]:
        return self.statuses

    def _refilter(self) -> None:
        self._redraw()

    def _journal_settled(self, record_ids: Iterable[str]) -> None:
        """Record what the server finished, once per record, so `resume()` stops going back to it."""
        for key in {self._run_of[i] for i in record_ids if i in self._run_of}:
            run = self._runs.get(key)
            if run is not None:
                self._finals.settle(run, self._status, self._client.base_url)

    def _set_banner(self, message: str, *, kind: str) -> None:
        self._banner_kind = kind
        self._say(message, error=kind in ("stopped", "unconfirmed"))
