"""The tracker against a sandbox: batches, shared requests per tick, failing requests and a revoked key."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from qamera_widgets.client.errors import (
    AuthenticationError,
    SubmissionUnconfirmedError,
)
from qamera_widgets.engine.jobs.tracking import (
    JobTracker,
)
from qamera_widgets.sandbox import Sandbox
from tests._widget_support import fast_client, quick_sleep
from tests.unit.test_tracking import recorder, settle, statuses


async def test_tracks_a_sandbox_batch_until_it_matches_the_sandbox_list(
    make_sandbox: Callable[..., Sandbox],
    wait_until_terminal: Callable[..., dict[str, dict[str, Any]]],
) -> None:
    sandbox = make_sandbox(failure_rate=0.3, seed=5)
    async with fast_client(sandbox) as client:
        registration = await client.register_ideas("a linen backdrop with dried flowers", 8)
        tracker = JobTracker(client, sleep=quick_sleep)
        events = recorder(tracker)
        tracker.track(registration)
        result = await asyncio.wait_for(tracker.wait(), timeout=30)

    server = await asyncio.to_thread(wait_until_terminal, sandbox, registration.record_ids)
    assert statuses(result) == {i: record["status"] for i, record in server.items()}
    assert set(statuses(result).values()) <= {"DONE", "FAILED"}
    assert all(e.kind == "update" for e in events)


async def test_subscribers_of_two_batches_share_one_sandbox_request_per_tick(sandbox: Sandbox) -> None:
    ticks = 1

    async def counting_sleep(seconds: float) -> None:
        nonlocal ticks
        ticks += 1
        await quick_sleep(seconds)

    async with fast_client(sandbox) as client:
        first = await client.register_ideas("a concrete plinth at dusk", 5)
        second = await client.register_ideas("sand dunes under a pale sky", 5)
        sandbox.reset_stats()
        tracker = JobTracker(client, sleep=counting_sleep)
        board_one, board_two = recorder(tracker), recorder(tracker)
        tracker.track(first)
        tracker.track(second)
        await asyncio.wait_for(tracker.wait(), timeout=30)
        await settle()

    assert sandbox.stats()["list_requests"] == ticks
    assert board_one and len(board_one) == len(board_two)


async def test_sandbox_failing_a_third_of_requests_still_finishes_every_record(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    sandbox = make_sandbox(api_error_rate=0.3, seed=11, processing_seconds=(0.3, 0.8))
    async with fast_client(sandbox) as client:
        registration = None
        for _ in range(10):
            try:
                registration = await client.register_ideas(
                    "a terrazzo counter, morning light", 6, idempotency_key="tracking-flaky-api"
                )
                break
            except SubmissionUnconfirmedError:
                continue
        assert registration is not None
        tracker = JobTracker(client, sleep=quick_sleep)
        result = await asyncio.wait_for(tracker.wait(registration), timeout=60)
    assert all(state.status in ("DONE", "FAILED") for state in result.values())
    assert len(result) == 6
    assert sandbox.stats()["injected_errors"] > 0


async def test_revoked_sandbox_key_stops_polling_with_the_401_message(sandbox: Sandbox) -> None:
    key = sandbox.issue_key()
    async with fast_client(sandbox, key) as client:
        registration = await client.register_ideas("a slate tile under a lamp", 2)
        sandbox.revoke_key(key)
        tracker = JobTracker(client, sleep=quick_sleep)
        events = recorder(tracker)
        tracker.track(registration)
        with pytest.raises(AuthenticationError):
            await asyncio.wait_for(tracker.wait(), timeout=30)
    assert events[-1].kind == "stopped"
    assert "rejected (401)" in events[-1].message
    assert key not in events[-1].message and key.split(".", 1)[1] not in events[-1].message
