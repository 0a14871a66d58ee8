"""The generation worker: takes queued sceneries from the store, holds each for a while, ends it as DONE or
FAILED and settles its credits, never more than `concurrency` at a time.

Each item's duration and outcome come from its own RNG seeded with (seed, queue position), so a seeded run
gives the same outcomes however the items interleave, and an item resumed after a restart ends as it
would have.

The database may stay locked for a while (another program holding it): the worker then logs, backs off and
tries again, both to take new items and to settle the one in hand, so nothing stays PENDING or PROCESSING
with its credits reserved for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from ..contract import DONE, FAILED
from .store import SceneryRow, Store

log = logging.getLogger("qamera_widgets.sandbox")

IDLE_POLL_SECONDS = 0.5
RETRY_FIRST_SECONDS, RETRY_MAX_SECONDS = 0.1, 5.0

T = TypeVar("T")


@dataclass(frozen=True)
class ItemPlan:
    """How one scenery will go: how long it takes and whether it ends DONE or FAILED."""

    seconds: float
    succeeded: bool


def plan_item(
    seed: int, seq: int, *, failure_rate: float, processing_seconds: tuple[float, float]
) -> ItemPlan:
    rng = random.Random(f"{seed}:{seq}")
    low, high = processing_seconds
    seconds = rng.uniform(low, high)
    return ItemPlan(seconds=seconds, succeeded=rng.random() >= failure_rate)


class Worker:
    def __init__(
        self,
        store: Store,
        *,
        seed: int,
        failure_rate: float,
        processing_seconds: tuple[float, float],
        concurrency: int,
        work_available: asyncio.Event,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._store = store
        self._seed = seed
        self._failure_rate = failure_rate
        self._processing_seconds = processing_seconds
        self._slots = asyncio.Semaphore(concurrency)
        self._work_available = work_available
        self._sleep = sleep

    async def run(self) -> None:
        """Loop until cancelled; items still in hand stay PROCESSING for the next start to requeue."""
        running: set[asyncio.Task[None]] = set()
        try:
            while True:
                await self._slots.acquire()
                # Cleared before looking, so a registration landing after the look still wakes us.
                self._work_available.clear()
                try:
                    item = await self._persist("take the next queued item", self._store.claim_next)
                except BaseException:
                    self._slots.release()
                    raise
                if item is None:
                    self._slots.release()
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._work_available.wait(), IDLE_POLL_SECONDS)
                    continue
                task = asyncio.create_task(self._process(item))
                running.add(task)
                task.add_done_callback(running.discard)
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    async def _process(self, item: SceneryRow) -> None:
        try:
            plan = plan_item(
                self._seed,
                item.seq,
                failure_rate=self._failure_rate,
                processing_seconds=self._processing_seconds,
            )
            await self._sleep(plan.seconds)
            await self._persist(
                f"settle scenery {item.id}",
                lambda: self._store.finish(item.id, succeeded=plan.succeeded),
            )
            log.debug("scenery %s %s", item.id, DONE if plan.succeeded else FAILED)
        finally:
            self._slots.release()

    async def _persist(self, what: str, operation: Callable[[], T]) -> T:
        """Run a store operation until the database lets it through: a lock held elsewhere is waited out
        with a growing pause, logged once when it starts and once when it clears."""
        delay = RETRY_FIRST_SECONDS
        failures = 0
        while True:
            try:
                result = operation()
            except sqlite3.OperationalError as exc:
                failures += 1
                if failures == 1:
                    log.warning(
                        "the worker could not %s (%s); retrying with backoff until the database is free",
                        what,
                        exc,
                    )
                await self._sleep(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)
                continue
            if failures:
                log.warning("the worker could %s again after %d failed attempts", what, failures)
            return result
