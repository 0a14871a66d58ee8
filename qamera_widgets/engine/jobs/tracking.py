"""Live status of submitted records: one poller per client, shared by every board and gallery.

The API only offers the whole scenery list, is rate limited to 60 requests a minute per key, and
a notebook may show several boards at once. So a `JobTracker` makes ONE list call per tick for
every id anyone tracks, diffs it against what it knew and tells subscribers only what changed.
Its background task lives only while something unfinished is tracked, on whatever loop is running
now, so a re-run notebook never waits on a task that belonged to a closed loop.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any, Protocol

from ...client.errors import QameraError
from ...client.models import Registration, Scenery
from ...client.polling import Poller, changes, duration, is_permanent, wait_timeout_error
from ...client.rules import ids_of, utc_now
from ...contract import TERMINAL_STATUSES
from ...runtime import loops
from ..wording import TIMED_OUT_WORDS, plural

__all__ = [
    "DEFAULT_DEADLINE",
    "TIMED_OUT",
    "WAITING",
    "JobTracker",
    "RecordState",
    "TrackerEvent",
    "tracker_for",
]

logger = logging.getLogger(__name__)

WAITING = "WAITING"
TIMED_OUT = "TIMED_OUT"
DEFAULT_DEADLINE = 30 * 60.0


class SceneryLister(Protocol):
    """What the tracker needs from a client: `AsyncQameraClient` or anything shaped like it."""

    async def list_sceneries(self, status_filter: str = "all") -> list[Scenery]: ...


Sleep = Callable[[float], Awaitable[Any]]
Ids = Registration | Iterable[str] | str


@dataclass(frozen=True)
class RecordState:
    """What is known about one tracked record right now."""

    id: str
    status: str
    scenery: Scenery | None
    since: datetime

    @property
    def terminal(self) -> bool:
        """Nothing more will happen to it here: finished on the server, or given up on locally."""
        return self.status in TERMINAL_STATUSES or self.status == TIMED_OUT

    @property
    def waiting(self) -> bool:
        return self.status == WAITING


@dataclass(frozen=True)
class TrackerEvent:
    """One notification. `changes` holds only the records whose state changed.

    kinds: "update" (statuses changed), "problem" (a transient error; polling retries in `retry_in`
    seconds), "recovered" (the first success after problems), "stopped" (polling ended on an error
    that retrying cannot fix, such as 401), "timed_out" (records passed their local deadline).
    `sceneries` is the full list from this tick's one request, so a gallery can refresh without
    sending its own.
    """

    kind: str
    changes: Mapping[str, RecordState]
    message: str = ""
    sceneries: tuple[Scenery, ...] = ()
    retry_in: float | None = None


Listener = Callable[[TrackerEvent], None]


def _ids(ids: Ids) -> list[str]:
    if not isinstance(ids, (Registration, str)):
        ids = list(ids)
        if not ids:
            return []
    return ids_of(ids)


def _problem_message(exc: BaseException, retry_in: float) -> str:
    what = str(exc) if isinstance(exc, QameraError) else f"{type(exc).__name__}: {exc}"
    return f"Checking statuses failed, retrying in {retry_in:.0f} s. {what}"


class JobTracker:
    """Polls the scenery list for every tracked id and notifies subscribers of changes.

    `sleep` and `clock` (monotonic seconds, used for deadlines) are injectable so tests run
    without waiting. `poll_interval` fixes the interval; by default it adapts from about 1 s after
    a change to 5 s while nothing changes. `deadline` is how long a batch may stay unfinished
    before it is marked TIMED_OUT here (the server may still finish it).
    """

    def __init__(
        self,
        client: SceneryLister,
        *,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        deadline: float = DEFAULT_DEADLINE,
        poll_interval: float | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._client = client
        self._sleep = sleep
        self._clock = clock
        self.deadline = deadline
        self._poller = Poller(self._list, poll_interval=poll_interval, rng=rng)
        self._states: dict[str, RecordState] = {}
        self._deadlines: dict[str, tuple[float, float]] = {}  # id -> (monotonic due time, span)
        self._listeners: dict[int, Listener] = {}
        self._listener_ids = itertools.count()
        self._waiters: dict[asyncio.Future[None], tuple[str, ...]] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Future[None] | None = None
        self._next_delay = 0.0
        self._stopped_by: BaseException | None = None

    def __repr__(self) -> str:
        active = len(self._active_ids())
        return f"JobTracker(tracked={len(self._states)}, unfinished={active}, running={self.running})"

    @property
    def poll_interval(self) -> float | None:
        """The fixed quiet interval, or None for the adaptive one."""
        return self._poller.poll_interval

    @poll_interval.setter
    def poll_interval(self, seconds: float | None) -> None:
        self._poller.poll_interval = seconds

    @property
    def states(self) -> Mapping[str, RecordState]:
        """A read-only snapshot of every tracked record, finished or not."""
        return MappingProxyType(dict(self._states))

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def stopped_by(self) -> BaseException | None:
        """The error that stopped polling (e.g. a 401), until the next `track` or `wait` restarts it."""
        return self._stopped_by

    def subscribe(self, callback: Listener) -> Callable[[], None]:
        """Call `callback(event)` on every event; returns the function that unsubscribes it.

        Callbacks run on the loop and must be quick and synchronous; one that raises is logged and
        the others (and polling) carry on.
        """
        token = next(self._listener_ids)
        self._listeners[token] = callback

        def unsubscribe() -> None:
            self._listeners.pop(token, None)

        return unsubscribe

    def track(self, ids: Ids, *, deadline: float | None = None) -> None:
        """Start watching these records (a Registration, one id or many) and make sure polling runs.

        New ids are WAITING until the list shows them; subscribers get that as an "update" at once.
        A TIMED_OUT id is watched again with a fresh deadline. Called outside a running loop, the
        states are set up and polling starts with the next `track` or `wait` made inside one.
        """
        wanted = _ids(ids)
        if not wanted:
            return
        span = self.deadline if deadline is None else deadline
        due = self._clock() + span
        now = utc_now()
        changes: dict[str, RecordState] = {}
        for record_id in wanted:
            if record_id not in self._deadlines or self._deadlines[record_id][0] < due:
                self._deadlines[record_id] = (due, span)
            state = self._states.get(record_id)
            if state is None:
                changes[record_id] = RecordState(record_id, WAITING, None, now)
            elif state.status == TIMED_OUT:
                status = state.scenery.status if state.scenery is not None else WAITING
                changes[record_id] = RecordState(record_id, status, state.scenery, now)
        self._states.update(changes)
        self._stopped_by = None
        if changes:
            self._poller.restart()
            self._emit(TrackerEvent("update", MappingProxyType(changes)))
            if self._wake is not None and not self._wake.done():
                self._wake.set_result(None)
        self._ensure_task()

    def untrack(self, ids: Ids) -> None:
        """Forget these records; polling ends by itself once nothing unfinished is left."""
        for record_id in _ids(ids):
            self._states.pop(record_id, None)
            self._deadlines.pop(record_id, None)
        self._settle_waiters()
        if not self._active_ids():
            self._cancel_task()

    async def wait(self, ids: Ids | None = None, timeout: float | None = None) -> dict[str, RecordState]:
        """Until every given record (default: every tracked one) is terminal; returns their states.

        Ids not tracked yet are tracked. Raises the error that stopped polling (e.g.
        `AuthenticationError`), or `WaitTimeoutError` (with the states so far) after `timeout` s.
        """
        loop = asyncio.get_running_loop()
        if ids is None:
            wanted = tuple(self._states)
        else:
            wanted = tuple(_ids(ids))
            missing = [i for i in wanted if i not in self._states]
            if missing:
                self.track(missing)
        self._stopped_by = None
        self._ensure_task()
        done: asyncio.Future[None] = loop.create_future()
        self._waiters[done] = wanted
        self._settle_waiters()
        try:
            await asyncio.wait_for(done, timeout)
        except asyncio.TimeoutError:
            snapshot = self._snapshot(wanted)
            finished = sum(1 for s in snapshot.values() if s.terminal)
            raise wait_timeout_error(timeout or 0.0, finished, len(wanted), snapshot) from None
        finally:
            self._waiters.pop(done, None)
        return self._snapshot(wanted)

    async def poll_once(self) -> TrackerEvent | None:
        """One tick: one list request, then notify. Returns the main event, or None if nothing changed."""
        if not self._active_ids():
            return None
        event: TrackerEvent | None
        try:
            listed, recovered = await self._poller.tick()
        except Exception as exc:
            event = self._stop(exc) if is_permanent(exc) else self._problem(exc)
        else:
            event = self._apply(listed, recovered)
        expired = self._expire()
        return event or expired

    async def close(self) -> None:
        """Stop polling and wait for the task to end; pending `wait` calls are cancelled.

        Tracked states are kept and a later `track` starts polling again.
        """
        task = self._cancel_task()
        self._cancel_waiters()
        if task is not None and task is not asyncio.current_task():
            await asyncio.wait({task})

    async def _list(self) -> list[Scenery]:
        return await self._client.list_sceneries(status_filter="all")

    def _active_ids(self) -> list[str]:
        return [i for i, state in self._states.items() if not state.terminal]

    def _snapshot(self, ids: Iterable[str]) -> dict[str, RecordState]:
        return {i: self._states[i] for i in ids if i in self._states}

    def _ensure_task(self) -> None:
        loop = loops.running_loop()
        if not self._active_ids() or self._stopped_by is not None or loop is None:
            return
        task = self._task
        if task is not None and not task.done():
            if task.get_loop() is loop:
                return
            loops.cancel_on_its_loop(task)
        self._task = loop.create_task(self._run(), name="qamera-widgets job tracker")
        self._task.add_done_callback(self._forget_task)

    def _forget_task(self, task: asyncio.Task[None]) -> None:
        if self._task is task:
            self._task = None
        if not task.cancelled() and task.exception() is not None:
            logger.error("The job tracker stopped on an unexpected error", exc_info=task.exception())

    def _cancel_task(self) -> asyncio.Task[None] | None:
        task, self._task = self._task, None
        return task if task is not None and loops.cancel_on_its_loop(task) else None

    async def _run(self) -> None:
        while self._active_ids() and self._stopped_by is None:
            await self.poll_once()
            if not self._active_ids() or self._stopped_by is not None:
                return
            await self._pause(self._next_delay, wakeable=self._poller.failures == 0)

    async def _pause(self, delay: float, *, wakeable: bool) -> None:
        """Sleep until the next tick; newly tracked ids cut a quiet pause short (never a backoff)."""
        if not wakeable:
            await self._sleep(delay)
            return
        loop = asyncio.get_running_loop()
        wake: asyncio.Future[None] = loop.create_future()
        self._wake = wake
        sleeper = asyncio.ensure_future(self._sleep(delay))
        try:
            await asyncio.wait({sleeper, wake}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._wake = None
            if not loop.is_closed():  # a loop closed under a pending task finalises it with no loop left
                sleeper.cancel()
                wake.cancel()

    def _apply(self, listed: list[Scenery], recovered: bool) -> TrackerEvent | None:
        previous = {i: s.scenery for i, s in self._states.items() if s.scenery is not None}
        _, changed = changes(previous, listed, self._states)
        now = utc_now()
        updated: dict[str, RecordState] = {}
        for record_id in [i for i in self._states if i in changed]:
            scenery, old = changed[record_id], self._states[record_id]
            if old.status == TIMED_OUT and not scenery.is_terminal:
                # Keep the freshest data quietly; the record only comes back if it actually finishes.
                self._states[record_id] = replace(old, scenery=scenery)
                continue
            since = old.since if old.status == scenery.status else now
            updated[record_id] = RecordState(record_id, scenery.status, scenery, since)
        self._states.update(updated)
        self._next_delay = self._poller.quiet_delay(bool(updated))
        event: TrackerEvent | None = None
        if recovered:
            event = TrackerEvent(
                "recovered", MappingProxyType({}), "Connection restored; statuses are live again."
            )
            self._emit(event)
        if updated:
            event = TrackerEvent("update", MappingProxyType(updated), sceneries=tuple(listed))
            self._emit(event)
        return event

    def _problem(self, exc: BaseException) -> TrackerEvent:
        if not isinstance(exc, QameraError):
            logger.warning("Checking statuses failed unexpectedly", exc_info=exc)
        retry_in = self._poller.failure_delay()
        self._next_delay = retry_in
        event = TrackerEvent(
            "problem", MappingProxyType({}), _problem_message(exc, retry_in), retry_in=retry_in
        )
        self._emit(event)
        return event

    def _stop(self, exc: BaseException) -> TrackerEvent:
        self._stopped_by = exc
        if isinstance(exc, ReferenceError):
            message = "The client behind this tracker no longer exists: polling stopped."
        else:
            message = f"{exc} Status polling stopped (retrying will not help); track again once it is fixed."
        event = TrackerEvent("stopped", MappingProxyType({}), message)
        self._emit(event)
        return event

    def _expire(self) -> TrackerEvent | None:
        now = self._clock()
        expired = [i for i in self._active_ids() if i in self._deadlines and self._deadlines[i][0] <= now]
        if not expired:
            return None
        stamp = utc_now()
        changes = {i: RecordState(i, TIMED_OUT, self._states[i].scenery, stamp) for i in expired}
        self._states.update(changes)
        span = max(self._deadlines[i][1] for i in expired)
        verb = "is" if len(expired) == 1 else "are"
        event = TrackerEvent(
            "timed_out",
            MappingProxyType(changes),
            f"{plural(len(expired), 'record')} did not finish within {duration(span)} and {verb} "
            f"{TIMED_OUT_WORDS} here. They may still finish on the server; track them again to keep "
            "watching.",
        )
        self._emit(event)
        return event

    def _emit(self, event: TrackerEvent) -> None:
        for callback in list(self._listeners.values()):
            try:
                callback(event)
            except Exception:
                logger.exception("A tracker subscriber failed on a %r event; the others carry on", event.kind)
        self._settle_waiters()

    def _settle_waiters(self) -> None:
        for waiter, ids in list(self._waiters.items()):
            if waiter.done():
                continue
            if all(i not in self._states or self._states[i].terminal for i in ids):
                waiter.set_result(None)
            elif self._stopped_by is not None:
                waiter.set_exception(self._stopped_by)

    def _cancel_waiters(self) -> None:
        for waiter in list(self._waiters):
            if not waiter.done() and not waiter.get_loop().is_closed():
                waiter.cancel()


_trackers: weakref.WeakKeyDictionary[Any, JobTracker] = weakref.WeakKeyDictionary()
"""The one tracker of each client. Process-wide because every board and gallery of a client must share one
list request per tick (the key's rate limit is the server's, not a widget's); weak, so a client that
is gone takes its tracker with it."""


def tracker_for(client: Any) -> JobTracker:
    """The one tracker of this client, so every board and gallery shares one request per tick.

    A sync `QameraClient` shares the tracker of its `.async_client`. The tracker holds the client
    weakly, so a registry entry never keeps a client alive.
    """
    target = getattr(client, "async_client", None) or client
    tracker = _trackers.get(target)
    if tracker is None:
        tracker = JobTracker(weakref.proxy(target))
        _trackers[target] = tracker
    return tracker
