"""The run book: what a run is, how it stands, and the words its header says; no traitlets, no I/O.

A run is one submitted prompt and its records (`Run`). `StatusBoard` keeps the runs and their record
statuses and draws what `run_header`, `comparison_header` and `folded_line` compute here, so the
counting, the credit wording and the folding are tested without a widget.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ...client import Registration
from ...client.rules import utc_now
from ...contract import price_for
from ..store import JobRecord, UnconfirmedAttempt, batch_key
from ..wording import TIMED_OUT_WORDS, excerpt, pictures, plural
from .journal import Journal
from .status import state_of
from .tracking import WAITING

__all__ = [
    "Run",
    "RunCounts",
    "comparison_axes",
    "comparison_header",
    "count_statuses",
    "doubt_message",
    "folded_line",
    "grouped",
    "newest_first",
    "pending_cards",
    "record_final",
    "run_for",
    "run_header",
    "run_time",
    "settled_finals",
]


@dataclass(frozen=True)
class RunCounts:
    """How a run stands, and what that means for credits at the contract's price."""

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
            parts.append(f"{self.timed_out} {TIMED_OUT_WORDS}")
        return " · ".join(parts)

    def credits_text(self) -> str:
        reserved = price_for(self.running + self.timed_out)
        parts = []
        if reserved:
            parts.append(f"{reserved} credits reserved")
        if self.done:
            parts.append(f"{price_for(self.done)} consumed")
        if self.failed:
            parts.append(f"{price_for(self.failed)} refunded")
        return " · ".join(parts) or "no credits"


def count_statuses(statuses: Iterable[str]) -> RunCounts:
    done = failed = running = timed_out = 0
    for status in statuses:
        state = state_of(status)
        if state == "done":
            done += 1
        elif state == "failed":
            failed += 1
        elif state == "timed_out":
            timed_out += 1
        else:
            running += 1
    return RunCounts(done, failed, running, timed_out)


@dataclass(eq=False)
class Run:
    """One run: a submitted prompt and its records.

    `StatusBoard.prepare()` returns one waiting for its server's confirmation (drawn at once with
    placeholder cards); hand it to `track(registration, run=...)` or `release()`.
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
    retry_of: str = ""
    """The key of the run whose failed pictures this one generates again: drawn inside that run."""

    @property
    def confirmed(self) -> bool:
        return self.submitted_at is not None

    def counts(self, status: Mapping[str, str]) -> RunCounts:
        """How the run stands, given each record's status (a record not seen yet is waiting)."""
        if not self.confirmed:
            return RunCounts(running=self.count)
        return count_statuses(status.get(i, WAITING) for i in self.record_ids)


def run_for(target: Registration | JobRecord | tuple[str, ...], key: str) -> tuple[Run, Mapping[str, str]]:
    """The run a tracked target makes, and the final statuses already known (a journal's). Plain record
    ids make a run without a prompt under `key`; a journaled job of a comparison is drawn with the others."""
    if isinstance(target, Registration):
        ids = target.record_ids
        made = Run(
            batch_key(target.batch_id, ids),
            target.preferences,
            len(ids),
            target.batch_id,
            target.submitted_at,
            ids,
        )
        return made, {}
    if isinstance(target, JobRecord):
        grouping = (target.comparison, target.template, target.parts) if target.comparison else ("", "", ())
        comparison, template, parts = grouping
        made = Run(
            target.key,
            target.prompt,
            target.count,
            target.batch_id,
            target.submitted_at,
            target.record_ids,
            comparison=comparison,
            template=template,
            parts=parts,
            retry_of=target.retry_of,
        )
        return made, target.final
    return Run(key, "", len(target), "", utc_now(), target), {}


def newest_first(runs: Iterable[Run]) -> list[Run]:
    """By submission time, newest first; runs still waiting for their server come before all."""
    ordered = list(runs)
    ordered.reverse()  # among equal times, the one added last is the newer
    return sorted(
        ordered,
        key=lambda r: (r.submitted_at is not None, -(r.submitted_at.timestamp() if r.submitted_at else 0)),
    )


def grouped(newest: Sequence[Run]) -> list[list[Run]]:
    """Runs as drawn: a comparison's runs together (in the order they were sent), others alone."""
    entries: list[list[Run]] = []
    index: dict[str, list[Run]] = {}
    for run in newest:
        if run.comparison and run.comparison in index:
            index[run.comparison].insert(0, run)
            continue
        entry = [run]
        entries.append(entry)
        if run.comparison:
            index[run.comparison] = entry
    return entries


def run_header(run: Run, counts: RunCounts, ids: list[str]) -> dict[str, Any]:
    """The header the browser draws over a run's cards (see canvas.js)."""
    if run.submitted_at is None:
        meta = f"{pictures(run.count)} · waiting for the server to confirm"
        credits = f"{price_for(run.count)} credits to reserve"
    else:
        short = run.batch_id if len(run.batch_id) <= 9 else run.batch_id[:8] + "…"
        batch = f" · batch {short}" if short else ""
        # What the form used to say after Generate ("Job registered: ..."): it belongs to its run.
        n = len(run.record_ids)
        meta = f"Registered {pictures(n)}, {price_for(n)} credits · {run_time(run.submitted_at)}{batch}"
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


def comparison_axes(entry: Sequence[Run]) -> tuple[list[dict[str, Any]], list[list[int]]]:
    """The slots of a comparison's template that vary (its axes, each with its words in the order they
    were sent) and, per run, the index of its word on each axis: what the browser places as a matrix.

    A slot whose word is the same in every run is no axis (`{oak}` or a group left with one choice).
    """
    choices = [[text for text, varies in run.parts if varies] for run in entry]
    width = min((len(c) for c in choices), default=0)
    if any(len(c) != width for c in choices):
        width = 0  # runs of different templates: no common slots, drawn as a plain list
    words: list[list[str]] = []
    slots: list[int] = []
    for slot in range(width):
        seen = list(dict.fromkeys(c[slot] for c in choices))
        if len(seen) > 1:
            slots.append(slot)
            words.append(seen)
    axes = [
        {"label": "{" + "|".join(seen) + "}", "values": seen, "slot": slot}
        for slot, seen in zip(slots, words, strict=True)
    ]
    cells = [[axis.index(c[slot]) for slot, axis in zip(slots, words, strict=True)] for c in choices]
    return axes, cells


def comparison_header(entry: Sequence[Run], rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One header over a comparison's rows: the template, the sums of its jobs (a row's retries, drawn in
    its cell, are among them), and its axes (each row's `cell` is its word's index on each axis)."""
    first = entry[0]
    axes, cells = comparison_axes(entry)
    rows = [{**row, "cell": cell} for row, cell in zip(rows, cells, strict=True)] if axes else list(rows)
    counts = RunCounts(
        done=sum(r["done"] for r in rows),
        failed=sum(r["failed"] for r in rows),
        running=sum(r["pending"] for r in rows),
    )
    total = sum(r["total"] for r in rows)
    jobs = len(entry) + sum(len(r.get("retries", ())) for r in rows)
    if all(run.confirmed for run in entry):
        # What the comparison registered, all its jobs together (the form used to say it).
        registered = f"{plural(jobs, 'job')}, {pictures(total)}, {price_for(total)} credits"
        meta = f"Comparison registered: {registered} · {run_time(first.submitted_at or utc_now())}"
    else:
        meta = f"Comparison · {plural(len(rows), 'prompt')} × {pictures(first.count)} · sending…"
    return {
        "key": first.comparison,
        "kind": "compare",
        "prompt": first.template or " | ".join(r.prompt for r in entry),
        "collapsed": first.collapsed,
        "rows": rows,
        "axes": axes,
        "ids": [i for row in rows for i in _drawn_ids(row)],
        "total": total,
        "done": counts.done,
        "failed": counts.failed,
        "meta": meta,
        "credits": counts.credits_text(),
        "progress": counts.text(),
        "use_prompt": True,
    }


def _drawn_ids(row: Mapping[str, Any]) -> list[str]:
    """A comparison row's card ids in the order its cell draws them: its own, then its retries'."""
    return [*row["ids"], *(i for line in row.get("retries", ()) for i in line["ids"])]


def pending_cards(run: Run) -> list[dict[str, Any]]:
    """Placeholder cards for a run whose server has not confirmed it yet."""
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


def run_time(moment: datetime) -> str:
    """The time of day for today's runs, the date too for older ones (history from the journal)."""
    local = moment.astimezone()
    if local.date() == datetime.now(local.tzinfo).date():
        return local.strftime("%H:%M:%S")
    return local.strftime("%Y-%m-%d %H:%M")


def folded_line(entries: Sequence[Run | Sequence[Run]], status: Mapping[str, str]) -> dict[str, Any]:
    """The one line older runs fold into: how many, their pictures and their credits. Each entry is a
    run or a comparison's runs (as `grouped` returns them): a comparison counts as one run, as drawn."""
    if not entries:
        return {}
    groups = [[entry] if isinstance(entry, Run) else list(entry) for entry in entries]
    ids = [i for group in groups for run in group for i in run.record_ids]
    counts = count_statuses(status.get(i, WAITING) for i in ids)
    return {
        "count": len(groups),
        "text": f"{plural(len(groups), 'earlier run')} · {pictures(len(ids))} · {counts.credits_text()}",
    }


def settled_finals(run: Run, status: Mapping[str, str]) -> dict[str, str]:
    """The final statuses of a settled run not yet journaled (empty while anything may still change)."""
    if not run.confirmed or not run.counts(status).settled:
        return {}
    finished = ("done", "failed")
    return {
        i: status[i]
        for i in run.record_ids
        if state_of(status.get(i, "")) in finished and i not in run.journaled
    }


def record_final(journal: Journal, base_url: str, final: Mapping[str, str]) -> OSError | None:
    """The journal write, for a worker thread: a failure comes back as a value for the loop to report."""
    try:
        journal.record_final(base_url, final)
    except OSError as exc:
        return exc
    return None


def doubt_message(attempts: Sequence[UnconfirmedAttempt]) -> str:
    """What a person must know about submissions the server never confirmed: they may exist."""
    listed = "; ".join(
        f"\u201c{excerpt(a.prompt, 40)}\u201d ({a.count}, idempotency key {a.idempotency_key})"
        for a in attempts
    )
    return (
        f"{len(attempts)} earlier submission(s) were never confirmed by the server and may exist: {listed}. "
        "Check the library before submitting them again; register_ideas(..., idempotency_key=...) with "
        "that key is the safe way to retry."
    )
