"""The job tracker: one request per tick for everyone, only changes notified, faults survived.

Pure tests drive the real background task with an in-process fake client and an injected sleep and
clock, so nothing waits for real time.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import random
import weakref
from datetime import datetime, timezone

import pytest

from qamera_widgets.client import QameraClient
from qamera_widgets.client.errors import (
    APIConnectionError,
    AuthenticationError,
    InternalServerError,
    PermissionDeniedError,
    WaitTimeoutError,
)
from qamera_widgets.client.models import Registration, Scenery
from qamera_widgets.engine.jobs.tracking import (
    TIMED_OUT,
    WAITING,
    JobTracker,
    RecordState,
    TrackerEvent,
    tracker_for,
)
from tests.helpers.records import make_registration


def scenery(record_id: str, status: str) -> Scenery:
    return Scenery.from_api(
        {
            "id": record_id,
            "name": f"scenery {record_id}",
            "status": status,
            "thumbnail": f"http://cdn.test/{record_id}.png" if status == "DONE" else None,
            "voting": "PENDING",
            "createdAt": "2026-03-20T13:00:00.000Z",
        }
    )


class FakeClient:
    """Answers the n-th successful list call with `plan[n]` (the last entry repeats); `errors` maps a
    call number to the exception that call raises. Every list also holds an unrelated record."""

    base_url = "http://fake.test"
    key_id = "key42"

    def __init__(
        self, plan: list[dict[str, str]] | None = None, errors: dict[int, Exception] | None = None
    ) -> None:
        self.plan = plan or [{}]
        self.errors = errors or {}
        self.calls = 0
        self.served = 0
        self.filters: list[str] = []

    async def list_sceneries(self, status_filter: str = "all") -> list[Scenery]:
        self.calls += 1
        self.filters.append(status_filter)
        await asyncio.sleep(0)
        if self.calls in self.errors:
            raise self.errors[self.calls]
        statuses = self.plan[min(self.served, len(self.plan) - 1)]
        self.served += 1
        return [scenery("unrelated", "DONE")] + [scenery(i, s) for i, s in statuses.items()]


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


async def sleep_forever(seconds: float) -> None:
    await asyncio.get_running_loop().create_future()


def make_tracker(client: FakeClient, fake_time: FakeTime, **options: object) -> JobTracker:
    return JobTracker(
        client,
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        rng=random.Random(7),
        **options,  # type: ignore[arg-type]
    )


def recorder(tracker: JobTracker) -> list[TrackerEvent]:
    events: list[TrackerEvent] = []
    tracker.subscribe(events.append)
    return events


async def finish(
    tracker: JobTracker, ids: Registration | str | list[str] | None = None
) -> dict[str, RecordState]:
    """`wait` with a bound, so a broken tracker fails the test instead of hanging it."""
    return await asyncio.wait_for(tracker.wait(ids), timeout=5.0)


async def settle(steps: int = 20) -> None:
    for _ in range(steps):
        await asyncio.sleep(0)


def statuses(changes: dict[str, RecordState] | object) -> dict[str, str]:
    assert isinstance(changes, dict) or hasattr(changes, "items")
    return {i: s.status for i, s in changes.items()}


async def test_one_list_call_per_tick_for_the_ids_of_every_subscriber() -> None:
    client = FakeClient(
        [
            {"a1": "PENDING", "a2": "PENDING", "b1": "PENDING"},
            {"a1": "PROCESSING", "a2": "PENDING", "b1": "PROCESSING"},
            {"a1": "DONE", "a2": "FAILED", "b1": "DONE"},
        ]
    )
    fake_time = FakeTime()
    tracker = make_tracker(client, fake_time)
    board_one, board_two = recorder(tracker), recorder(tracker)

    tracker.track(["a1", "a2"])
    tracker.track(["b1"])
    result = await finish(tracker)

    assert statuses(result) == {"a1": "DONE", "a2": "FAILED", "b1": "DONE"}
    assert client.calls == 3 == len(fake_time.sleeps) + 1
    assert client.filters == ["all", "all", "all"]
    assert [e.kind for e in board_one] == [e.kind for e in board_two]
    assert board_one[-1].changes.keys() == {"a1", "a2", "b1"}


async def test_only_records_whose_state_changed_are_notified() -> None:
    client = FakeClient(
        [
            {"a": "PENDING", "b": "PENDING"},
            {"a": "PROCESSING", "b": "PENDING"},
            {"a": "PROCESSING", "b": "PENDING"},
            {"a": "DONE", "b": "DONE"},
        ]
    )
    tracker = make_tracker(client, FakeTime())
    events = recorder(tracker)

    tracker.track(["a", "b"])
    await finish(tracker)

    assert [(e.kind, statuses(e.changes)) for e in events] == [
        ("update", {"a": WAITING, "b": WAITING}),
        ("update", {"a": "PENDING", "b": "PENDING"}),
        ("update", {"a": "PROCESSING"}),
        ("update", {"a": "DONE", "b": "DONE"}),
    ]
    done = events[-1].changes["a"]
    assert done.scenery is not None and done.scenery.thumbnail == "http://cdn.test/a.png"


async def test_event_carries_the_full_list_of_its_tick_for_the_gallery() -> None:
    client = FakeClient([{"a": "DONE"}])
    tracker = make_tracker(client, FakeTime())
    events = recorder(tracker)
    tracker.track("a")
    await finish(tracker)
    assert {s.id for s in events[-1].sceneries} == {"unrelated", "a"}


async def test_interval_is_short_after_a_change_and_grows_to_five_seconds_when_quiet() -> None:
    client = FakeClient([{"a": "PENDING"}] * 7 + [{"a": "DONE"}])
    fake_time = FakeTime()
    tracker = make_tracker(client, fake_time)

    tracker.track("a")
    await finish(tracker)

    assert fake_time.sleeps == [1.0, 1.5, 2.25, 3.375, 5.0, 5.0, 5.0]
    assert client.calls == 8


async def test_fixed_poll_interval_is_used_when_given() -> None:
    client = FakeClient([{"a": "PENDING"}] * 3 + [{"a": "DONE"}])
    fake_time = FakeTime()
    tracker = make_tracker(client, fake_time, poll_interval=2.0)
    tracker.track("a")
    await finish(tracker)
    assert fake_time.sleeps == [2.0, 2.0, 2.0]


async def test_task_ends_when_everything_is_terminal_and_restarts_on_track() -> None:
    client = FakeClient([{"a": "DONE", "b": "PENDING"}, {"a": "DONE", "b": "DONE"}])
    tracker = make_tracker(client, FakeTime())

    tracker.track("a")
    assert tracker.running
    await finish(tracker)
    await settle()
    assert not tracker.running
    calls = client.calls
    await settle()
    assert client.calls == calls == 1

    tracker.track("b")
    assert tracker.running
    await finish(tracker, "b")
    await settle()
    assert not tracker.running
    assert statuses(tracker.states) == {"a": "DONE", "b": "DONE"}


async def test_transient_errors_report_a_problem_back_off_and_recover() -> None:
    client = FakeClient(
        [{"a": "PENDING"}, {"a": "DONE"}],
        errors={2: APIConnectionError("reset"), 3: InternalServerError("boom", status_code=503)},
    )
    fake_time = FakeTime()
    tracker = make_tracker(client, fake_time)
    events = recorder(tracker)

    tracker.track("a")
    await finish(tracker)

    kinds = [e.kind for e in events]
    assert kinds == ["update", "update", "problem", "problem", "recovered", "update"]
    first, second = events[2], events[3]
    assert first.retry_in is not None and 1.0 <= first.retry_in <= 1.5
    assert second.retry_in is not None and 2.0 <= second.retry_in <= 2.5
    assert first.message == f"Checking statuses failed, retrying in {first.retry_in:.0f} s. reset"
    assert second.message.startswith("Checking statuses failed, retrying in")
    assert "The server failed (503): boom." in second.message
    assert fake_time.sleeps == [1.0, first.retry_in, second.retry_in]
    assert events[4].message
    assert statuses(tracker.states) == {"a": "DONE"}


async def test_backoff_stops_growing_after_a_few_failures() -> None:
    errors: dict[int, Exception] = {n: APIConnectionError("down") for n in range(1, 9)}
    client = FakeClient([{"a": "DONE"}], errors=errors)
    fake_time = FakeTime()
    tracker = make_tracker(client, fake_time)
    tracker.track("a")
    await finish(tracker)
    assert client.calls == 9
    assert max(fake_time.sleeps) <= 8.5
    assert all(8.0 <= s <= 8.5 for s in fake_time.sleeps[3:])


async def test_rejected_key_stops_polling_with_a_clear_message_and_keeps_the_ids() -> None:
    client = FakeClient(
        [{"a": "PENDING"}, {"a": "DONE"}],
        errors={2: AuthenticationError("Invalid API key", key_id="key42")},
    )
    tracker = make_tracker(client, FakeTime())
    events = recorder(tracker)

    tracker.track("a")
    with pytest.raises(AuthenticationError):
        await finish(tracker)
    await settle()

    stopped = events[-1]
    assert stopped.kind == "stopped"
    assert "rejected (401)" in stopped.message and "polling stopped" in stopped.message
    assert "key42" in stopped.message
    assert not tracker.running
    assert isinstance(tracker.stopped_by, AuthenticationError)
    assert statuses(tracker.states) == {"a": "PENDING"}
    await settle()
    assert client.calls == 2

    tracker.track("a")
    await finish(tracker)
    assert statuses(tracker.states) == {"a": "DONE"}
    assert tracker.stopped_by is None


async def test_other_client_errors_stop_instead_of_retrying() -> None:
    client = FakeClient(errors={1: PermissionDeniedError("Missing scope", status_code=403)})
    tracker = make_tracker(client, FakeTime())
    events = recorder(tracker)
    tracker.track("a")
    with pytest.raises(PermissionDeniedError):
        await finish(tracker)
    assert events[-1].kind == "stopped"
    assert "Missing scope" in events[-1].message
    assert client.calls == 1


async def test_ids_not_listed_yet_are_waiting_until_they_appear() -> None:
    client = FakeClient([{}, {}, {"a": "PENDING"}, {"a": "DONE"}])
    tracker = make_tracker(client, FakeTime())
    seen: list[str] = []
    tracker.subscribe(lambda e: seen.extend(s.status for s in e.changes.values()))

    tracker.track("a")
    assert tracker.states["a"].status == WAITING
    assert tracker.states["a"].waiting and not tracker.states["a"].terminal
    await finish(tracker)

    assert seen == [WAITING, "PENDING", "DONE"]
    assert client.calls == 4


async def test_deadline_marks_unfinished_records_timed_out_without_forgetting_them() -> None:
    client = FakeClient([{"a": "PROCESSING", "b": "DONE"}])
    fake_time = FakeTime()
    tracker = make_tracker(client, fake_time)
    events = recorder(tracker)

    tracker.track(["a", "b"], deadline=10.0)
    result = await finish(tracker)
    await settle()

    assert statuses(result) == {"a": TIMED_OUT, "b": "DONE"}
    assert result["a"].terminal
    scenery_a = result["a"].scenery
    assert scenery_a is not None and scenery_a.status == "PROCESSING"
    timed_out = [e for e in events if e.kind == "timed_out"]
    assert len(timed_out) == 1 and set(timed_out[0].changes) == {"a"}
    assert "did not finish within 10 s" in timed_out[0].message
    assert fake_time.now >= 10.0
    assert not tracker.running

    client.plan = [{"a": "DONE", "b": "DONE"}]
    client.served = 0
    tracker.track("a")
    assert tracker.states["a"].status == "PROCESSING"
    await finish(tracker)
    assert tracker.states["a"].status == "DONE"


async def test_default_deadline_is_thirty_minutes() -> None:
    client = FakeClient([{"a": "PROCESSING"}])
    fake_time = FakeTime()
    tracker = make_tracker(client, fake_time, poll_interval=60.0)
    tracker.track("a")
    await finish(tracker)
    assert tracker.states["a"].status == TIMED_OUT
    assert 1800.0 <= fake_time.now <= 1860.0


async def test_a_timed_out_record_that_finishes_later_is_updated() -> None:
    client = FakeClient(
        [{"slow": "PROCESSING", "other": "PENDING"}] * 3 + [{"slow": "DONE", "other": "DONE"}]
    )
    fake_time = FakeTime()
    tracker = make_tracker(client, fake_time, poll_interval=1.0)
    events = recorder(tracker)
    tracker.track("slow", deadline=1.5)
    tracker.track("other")
    await finish(tracker)
    slow_history = [e.changes["slow"].status for e in events if "slow" in e.changes]
    assert slow_history == [WAITING, "PROCESSING", TIMED_OUT, "DONE"]
    assert statuses(tracker.states) == {"slow": "DONE", "other": "DONE"}


async def test_close_cancels_the_task_and_pending_waits() -> None:
    before = asyncio.all_tasks()
    client = FakeClient([{"a": "PENDING"}])
    tracker = JobTracker(client, sleep=sleep_forever)
    tracker.track("a")
    await settle()
    assert tracker.running and asyncio.all_tasks() - before, "polling runs in a task of its own"
    waiting = asyncio.ensure_future(tracker.wait())
    await settle()

    await tracker.close()

    assert not tracker.running
    assert asyncio.all_tasks() - before <= {waiting}, "the polling task has ended when close() returns"
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert statuses(tracker.states) == {"a": "PENDING"}


async def test_untracking_everything_unfinished_ends_the_task() -> None:
    before = asyncio.all_tasks()
    tracker = JobTracker(FakeClient([{"a": "PENDING"}]), sleep=sleep_forever)
    tracker.track("a")
    await settle()
    assert tracker.running and asyncio.all_tasks() - before, "polling runs in a task of its own"
    tracker.untrack("a")
    await settle()
    assert not tracker.running
    assert asyncio.all_tasks() - before == set(), "the polling task has ended"
    assert "a" not in tracker.states


async def test_a_failing_callback_does_not_stop_polling_or_other_subscribers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = FakeClient([{"a": "PENDING"}, {"a": "DONE"}])
    tracker = make_tracker(client, FakeTime())

    def broken(event: TrackerEvent) -> None:
        raise RuntimeError("widget bug")

    tracker.subscribe(broken)
    events = recorder(tracker)
    with caplog.at_level(logging.ERROR, logger="qamera_widgets.engine.jobs.tracking"):
        tracker.track("a")
        await finish(tracker)

    assert [statuses(e.changes) for e in events][-1] == {"a": "DONE"}
    assert "subscriber failed" in caplog.text


async def test_unsubscribed_callbacks_hear_nothing_more() -> None:
    tracker = make_tracker(FakeClient([{"a": "PENDING"}, {"a": "DONE"}]), FakeTime())
    heard: list[TrackerEvent] = []
    unsubscribe = tracker.subscribe(heard.append)
    tracker.track("a")
    unsubscribe()
    await finish(tracker)
    assert len(heard) == 1


async def test_newly_tracked_ids_cut_a_quiet_pause_short() -> None:
    client = FakeClient([{"a": "PENDING", "b": "PENDING"}])
    tracker = JobTracker(client, sleep=sleep_forever)
    tracker.track("a")
    await settle()
    assert client.calls == 1
    tracker.track("b")
    await settle()
    assert client.calls == 2
    assert tracker.states["b"].status == "PENDING"
    await tracker.close()


async def test_new_ids_do_not_cut_a_backoff_short() -> None:
    client = FakeClient([{"a": "PENDING"}], errors={1: APIConnectionError("down")})
    tracker = JobTracker(client, sleep=sleep_forever)
    tracker.track("a")
    await settle()
    tracker.track("b")
    await settle()
    assert client.calls == 1
    await tracker.close()


async def test_wait_timeout_raises_with_the_states_so_far() -> None:
    tracker = JobTracker(FakeClient([{"a": "PENDING"}]), sleep=sleep_forever)
    with pytest.raises(WaitTimeoutError) as caught:
        await tracker.wait(["a"], timeout=0.05)
    assert caught.value.snapshot["a"].status == "PENDING"
    assert str(caught.value) == (
        "Waited 0 s: 0 of 1 records finished. The rest keep running on the server; "
        "wait again to keep watching."
    ), "worded as AsyncQameraClient.wait_for words it (tests/unit/test_client_http.py)"
    await tracker.close()


async def test_track_accepts_a_registration() -> None:
    registration = make_registration(("r1", "r2"), "b", prompt="p", submitted_at=datetime.now(timezone.utc))
    tracker = make_tracker(FakeClient([{"r1": "DONE", "r2": "FAILED"}]), FakeTime())
    tracker.track(registration)
    assert statuses(await finish(tracker, registration)) == {"r1": "DONE", "r2": "FAILED"}


def test_a_new_event_loop_gets_a_new_task_instead_of_hanging() -> None:
    client = FakeClient([{"a": "PENDING"}])
    tracker = JobTracker(client, sleep=sleep_forever)

    async def start() -> None:
        tracker.track("a")
        await settle()

    old_loop = asyncio.new_event_loop()
    old_loop.run_until_complete(start())
    old_loop.close()  # like a kernel whose loop went away with the task still pending
    assert client.calls == 1

    client.plan = [{"a": "DONE"}]
    client.served = 0

    async def finish() -> dict[str, RecordState]:
        return await asyncio.wait_for(tracker.wait(), timeout=5)

    assert statuses(asyncio.run(finish())) == {"a": "DONE"}


def test_states_outside_a_loop_start_polling_in_the_next_loop() -> None:
    client = FakeClient([{"a": "DONE"}])
    tracker = make_tracker(client, FakeTime())
    tracker.track("a")
    assert not tracker.running and tracker.states["a"].status == WAITING
    assert statuses(asyncio.run(tracker.wait())) == {"a": "DONE"}


def test_record_state_terminal_covers_server_and_local_endings() -> None:
    now = datetime.now(timezone.utc)
    assert RecordState("x", "DONE", None, now).terminal
    assert RecordState("x", "FAILED", None, now).terminal
    assert RecordState("x", TIMED_OUT, None, now).terminal
    assert not RecordState("x", WAITING, None, now).terminal
    assert not RecordState("x", "PROCESSING", None, now).terminal


def test_one_tracker_per_client_and_sync_clients_share_their_async_one() -> None:
    class SyncWrapper:
        def __init__(self, inner: FakeClient) -> None:
            self.async_client = inner

    client, other = FakeClient(), FakeClient()
    assert tracker_for(client) is tracker_for(client)
    assert tracker_for(SyncWrapper(client)) is tracker_for(client)
    assert tracker_for(other) is not tracker_for(client)


def test_a_real_sync_client_shares_the_tracker_of_its_async_client() -> None:
    sync_client = QameraClient("mk_live_key42.secret", "http://127.0.0.1:9")
    tracker = tracker_for(sync_client)
    assert tracker is tracker_for(sync_client.async_client)
    assert "secret" not in repr(tracker)


def test_the_registry_does_not_keep_a_client_alive() -> None:
    client = FakeClient()
    tracker_for(client)
    alive = weakref.ref(client)
    del client
    gc.collect()
    assert alive() is None
