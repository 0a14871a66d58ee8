"""A class at once against one sandbox: 30 students with a key each and 30 sharing one key, all submitting
and polling together, with the sandbox enforcing the real limit of 60 requests a minute per key.

The students are clients in this one process, as the toolkit paces them: every client of a key in a
process shares one 60-a-minute window. Expect about a minute: the 30 students on the shared key need at
least 60 requests between them (a POST and a poll each), and a few more polls wait for the next window.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

from qamera_widgets.client import AsyncQameraClient
from qamera_widgets.client.rules import POLL_MIN_INTERVAL
from qamera_widgets.contract import PRICE_PER_ITEM
from qamera_widgets.engine.jobs.budgets import Budget, BudgetExceededError
from qamera_widgets.engine.jobs.tracking import tracker_for
from qamera_widgets.sandbox import Sandbox

STUDENTS = 30
KEY_CREDITS = 200  # qamera-widgets sandbox --keys 30 --credits 200
STUDENT_BUDGET = 40  # QAMERA_BUDGET for each kernel on the shared key
COUNT = 2
RATE_LIMIT = 60


@dataclass
class Outcome:
    api_key: str
    done: int
    failed: int


class Wire(httpx.AsyncHTTPTransport):
    """The real loopback transport, noting when each request leaves and with which key."""

    def __init__(self, sent: list[tuple[float, str]]) -> None:
        super().__init__()
        self.sent = sent

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((time.monotonic(), request.headers["X-Api-Key"]))
        return await super().handle_async_request(request)


def busiest_minute(times: list[float]) -> int:
    """The most requests in any 60-second window."""
    window: deque[float] = deque()
    most = 0
    for moment in sorted(times):
        window.append(moment)
        while window[0] <= moment - 60.0:
            window.popleft()
        most = max(most, len(window))
    return most


async def student(
    api_key: str, base_url: str, number: int, budget: Budget | None, sent: list[tuple[float, str]]
) -> Outcome:
    """What one student's notebook does: submit a small batch, then watch it to the end."""
    client = AsyncQameraClient(api_key, base_url, transport=Wire(sent))
    try:
        if budget is not None:
            budget.reserve(COUNT * PRICE_PER_ITEM)
        registration = await client.register_ideas(f"Student {number}: white marble, soft light", count=COUNT)
        assert registration.credits_reserved == COUNT * PRICE_PER_ITEM
        if budget is not None:
            with pytest.raises(BudgetExceededError):  # a second, bigger batch stops in the kernel
                budget.reserve(3 * PRICE_PER_ITEM)
        tracker = tracker_for(client)
        states = await tracker.wait(registration, timeout=240)
        statuses = [state.status for state in states.values()]
        if budget is not None:
            budget.release(statuses.count("FAILED") * PRICE_PER_ITEM)
        return Outcome(api_key, statuses.count("DONE"), statuses.count("FAILED"))
    finally:
        await tracker_for(client).close()
        await client.aclose()


@pytest.mark.alone  # 60 students' request times against 60 a minute: a loaded machine bunches them
@pytest.mark.timeout(400)
async def test_a_class_of_sixty_finishes_with_exact_ledgers_and_never_trips_the_rate_limit(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    sandbox = make_sandbox(
        keys=STUDENTS,
        credits=KEY_CREDITS,
        library=0,
        rate_limit=RATE_LIMIT,
        failure_rate=0.25,
        processing_seconds=(0.05, 0.3),
        worker_concurrency=8,
        seed=12,
    )
    shared_key = sandbox.issue_key(credits=5000)
    budgets = [Budget(STUDENT_BUDGET) for _ in range(STUDENTS)]
    sent: list[tuple[float, str]] = []
    started = time.monotonic()
    outcomes = await asyncio.gather(
        *(student(key, sandbox.base_url, n, None, sent) for n, key in enumerate(sandbox.api_keys)),
        *(student(shared_key, sandbox.base_url, n, budgets[n], sent) for n in range(STUDENTS)),
    )
    elapsed = time.monotonic() - started
    stats = sandbox.stats()
    shared_sent = [moment for moment, key in sent if key == shared_key]

    assert all(o.done + o.failed == COUNT for o in outcomes), "every job finishes"
    assert sum(o.failed for o in outcomes) > 0 and sum(o.done for o in outcomes) > 0
    for outcome in outcomes[:STUDENTS]:
        assert sandbox.account(outcome.api_key) == {
            "available": KEY_CREDITS - PRICE_PER_ITEM * outcome.done,
            "reserved": 0,
            "consumed": PRICE_PER_ITEM * outcome.done,
            "refunded": PRICE_PER_ITEM * outcome.failed,
        }
        assert sandbox.audit(outcome.api_key) == []
    shared_done = sum(o.done for o in outcomes[STUDENTS:])
    shared_failed = sum(o.failed for o in outcomes[STUDENTS:])
    assert sandbox.account(shared_key) == {
        "available": 5000 - PRICE_PER_ITEM * shared_done,
        "reserved": 0,
        "consumed": PRICE_PER_ITEM * shared_done,
        "refunded": PRICE_PER_ITEM * shared_failed,
    }
    assert sandbox.audit(shared_key) == []
    assert sum(b.reserved for b in budgets) == PRICE_PER_ITEM * shared_done

    # The shared key stayed within 60 requests in every minute, polls included, though it needed more
    # than a minute's worth; the sandbox, counting on its side, refused nothing.
    assert len(shared_sent) > RATE_LIMIT
    assert busiest_minute(shared_sent) <= RATE_LIMIT
    assert stats["rate_limited"] == 0, stats
    assert stats["api_requests"] == len(sent), "every request the students sent, and nothing else"
    # No storm: one POST per student, never resent, and no tracker polled faster than its floor.
    assert stats["register_requests"] == stats["registered_batches"] == 2 * STUDENTS
    assert stats["idempotent_replays"] == stats["injected_errors"] == 0
    polls_per_tracker = stats["list_requests"] / (2 * STUDENTS)
    assert 1 <= polls_per_tracker <= 1 + elapsed / POLL_MIN_INTERVAL, stats
