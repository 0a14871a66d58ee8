"""Class mode: kernels on one key share one rate limit and one list call per tick through a real
redis-server on loopback, fall back to per-process pacing when it goes away, and never store the key."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from qamera_widgets.client import AsyncQameraClient, AuthenticationError
from qamera_widgets.client.rules import API_KEY_ENV, POLL_MIN_INTERVAL
from qamera_widgets.contract import key_id_of
from qamera_widgets.engine.jobs.tracking import tracker_for
from qamera_widgets.runtime import coordination
from qamera_widgets.runtime.coordination import REDIS_URL_ENV, SOCKET_TIMEOUT
from qamera_widgets.sandbox import Sandbox
from qamera_widgets.serving import free_port
from tests._widget_support import quick_sleep
from tests.helpers.class_student import ClassRun, run_class
from tests.helpers.redis_server import RedisServer, redis_server

pytestmark = pytest.mark.timeout(180)

OFF_WARNING = "Class mode is off for now"


@pytest.fixture
def redis_srv() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


def _class_waits(
    sandbox: Sandbox, students: int, sync_dir: Path, redis_url: str | None, **options: Any
) -> ClassRun:
    """`students` processes each register a job on the sandbox's key and wait until it has ended; every
    one of them must finish without an error."""
    run = run_class(
        students,
        ["wait", "--base-url", sandbox.base_url],
        sync_dir,
        env={API_KEY_ENV: sandbox.api_key, REDIS_URL_ENV: redis_url},
        **options,
    )
    assert [r["error"] for r in run.results] == [""] * students
    return run


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if OFF_WARNING in r.getMessage()]


def test_processes_on_one_key_book_slots_in_one_shared_window(redis_srv: RedisServer, tmp_path: Path) -> None:
    limit, students, slots, window = 5, 4, 6, 61.0
    run = run_class(
        students,
        [
            "book",
            "--origin",
            "http://127.0.0.1:1",
            "--key-id",
            "class1",
            "--limit",
            str(limit),
            "--slots",
            str(slots),
            "--window",
            str(window),
        ],
        tmp_path,
        env={REDIS_URL_ENV: redis_srv.url},
    )
    assert [r["error"] for r in run.results] == [""] * students
    times = sorted(t for r in run.results for t in r["times"])
    assert len(times) == students * slots
    # Every slot is exactly one window after the slot `limit` places before it: no window ever holds
    # more than `limit` bookings, and none is left unused while others queue.
    gaps = [times[i] - times[i - limit] for i in range(limit, len(times))]
    assert gaps == pytest.approx([window] * len(gaps), abs=0.1)
    assert times[limit - 1] - times[0] < window / 2


def test_another_key_id_has_its_own_shared_window(
    redis_srv: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(REDIS_URL_ENV, redis_srv.url)
    origin = "http://127.0.0.1:2"
    assert [coordination.reserve_slot(origin, "teacher", 2, 60.0) for _ in range(2)] == [0.0, 0.0]
    assert (coordination.reserve_slot(origin, "teacher", 2, 60.0) or 0.0) > 50
    assert coordination.reserve_slot(origin, "other", 2, 60.0) == 0.0


def test_five_processes_waiting_on_one_key_make_one_list_call_per_tick(
    redis_srv: RedisServer, make_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sandbox = make_sandbox(rate_limit=60, processing_seconds=(1.0, 2.0))
    run = _class_waits(sandbox, 5, tmp_path, redis_srv.url)
    stats = sandbox.stats()
    polls = sum(r["polls"] for r in run.results)
    assert stats["list_requests"] <= run.seconds / POLL_MIN_INTERVAL + 1
    assert polls >= 2 * stats["list_requests"]
    assert stats["rate_limited"] == 0
    assert not any(OFF_WARNING in text for text in run.stderr)


async def test_trackers_of_separate_clients_on_one_key_share_the_list_of_each_tick(
    redis_srv: RedisServer,
    make_sandbox: Callable[..., Sandbox],
    monkeypatch: pytest.MonkeyPatch,
    closing: list[Any],
) -> None:
    monkeypatch.setenv(REDIS_URL_ENV, redis_srv.url)
    sandbox = make_sandbox(rate_limit=60, processing_seconds=(1.0, 2.0))
    polls = 0

    def counting(client: AsyncQameraClient) -> AsyncQameraClient:
        list_sceneries = client.list_sceneries

        async def counted(status_filter: str = "all") -> Any:
            nonlocal polls
            polls += 1
            return await list_sceneries(status_filter)

        client.list_sceneries = counted  # type: ignore[method-assign]
        return client

    clients = [counting(AsyncQameraClient(sandbox.api_key, sandbox.base_url)) for _ in range(3)]
    closing.extend(clients)
    registrations = [await client.register_ideas("sage green tropical plants", count=2) for client in clients]
    loop = asyncio.get_running_loop()
    started = loop.time()
    waits = [tracker_for(c).wait(r, timeout=60) for c, r in zip(clients, registrations, strict=True)]
    states = await asyncio.gather(*waits)
    elapsed = loop.time() - started
    assert all(state.terminal for batch in states for state in batch.values())
    lists = sandbox.stats()["list_requests"]
    assert lists <= elapsed / POLL_MIN_INTERVAL + 1
    assert polls >= 2 * lists


def test_without_redis_each_process_lists_for_itself(
    make_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sandbox = make_sandbox(processing_seconds=(1.0, 2.0))
    run = _class_waits(sandbox, 3, tmp_path, None)
    assert sandbox.stats()["list_requests"] == sum(r["polls"] for r in run.results)


def test_students_finish_when_redis_stops_in_the_middle(
    redis_srv: RedisServer, make_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sandbox = make_sandbox(rate_limit=60, processing_seconds=(2.0, 3.0))
    run = _class_waits(sandbox, 3, tmp_path, redis_srv.url, once_registered=redis_srv.stop)
    for text in run.stderr:
        assert text.count(OFF_WARNING) == 1, text
        assert "paces its own requests" in text


async def test_unreachable_redis_is_reported_once_and_the_client_paces_itself(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    monkeypatch.setenv(REDIS_URL_ENV, f"redis://:hunter2@127.0.0.1:{port}/0")
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    client = AsyncQameraClient(sandbox.api_key, sandbox.base_url, rate_limit_per_minute=2, sleep=record)
    async with client:
        with caplog.at_level(logging.WARNING, logger="qamera_widgets"):
            for _ in range(3):
                assert await client.list_sceneries()
    [warning] = _warnings(caplog)
    assert f"redis://127.0.0.1:{port}/0" in warning
    assert "hunter2" not in warning
    assert any(wait > 50 for wait in waits)  # the third request waited for this process's own window


@pytest.mark.timeout(30)
async def test_a_redis_that_never_answers_does_not_hang_the_client(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel accepts connections; nobody ever reads or answers
        monkeypatch.setenv(REDIS_URL_ENV, f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
        async with AsyncQameraClient(sandbox.api_key, sandbox.base_url, sleep=quick_sleep) as client:
            with caplog.at_level(logging.WARNING, logger="qamera_widgets"):
                assert await client.list_sceneries()
                assert await client.list_sceneries()
    [warning] = _warnings(caplog)
    assert "Timeout" in warning


async def test_a_silent_redis_never_freezes_the_notebooks_loop(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Widgets draw from the kernel's loop: Redis calls wait in a thread, so a ticker on the loop keeps
    running through the 0.5 s socket timeouts (it used to stop for each of them)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        monkeypatch.setenv(REDIS_URL_ENV, f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
        gaps: list[float] = []
        loop = asyncio.get_running_loop()

        async def ticker() -> None:
            last = loop.time()
            while True:
                await asyncio.sleep(0.01)
                gaps.append(loop.time() - last)
                last = loop.time()

        ticking = asyncio.create_task(ticker())
        await asyncio.sleep(0.02)  # ticking before the list starts
        try:
            async with AsyncQameraClient(sandbox.api_key, sandbox.base_url, sleep=quick_sleep) as client:
                assert await client.list_sceneries()
        finally:
            ticking.cancel()
    assert gaps, "the ticker never ran"
    assert max(gaps) < SOCKET_TIMEOUT, f"the loop stood still for {max(gaps):.2f} s"


async def test_no_part_of_the_key_secret_reaches_redis(
    redis_srv: RedisServer, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(REDIS_URL_ENV, redis_srv.url)
    async with AsyncQameraClient(sandbox.api_key, sandbox.base_url, sleep=quick_sleep) as client:
        registration = await client.register_ideas("blue tiles bathroom shelf", count=2)
        await client.wait_for(registration, timeout=30)
        await client.list_sceneries("all")
        await client.list_sceneries("approved")
    blob = b""
    names = []
    with redis_srv.client() as store:
        for name in store.scan_iter(count=100):
            names.append(name.decode())
            kind = cast(bytes, store.type(name)).decode()
            if kind == "string":
                value = store.get(name) or b""
            elif kind == "zset":
                value = repr(store.zrange(name, 0, -1, withscores=True)).encode()
            else:
                raise AssertionError(f"unexpected {kind} at {name!r}")
            blob += name + b"\n" + value + b"\n"
    assert any(n.endswith(":slots") for n in names)
    assert any(n.endswith(":list:all") for n in names)
    assert any(n.endswith(":list:approved") for n in names)
    secret = sandbox.api_key.split(".", 1)[1]
    assert str(key_id_of(sandbox.api_key)).encode() in blob
    assert secret.encode() not in blob
    assert secret[:12].encode() not in blob


async def test_a_mistyped_secret_never_reads_the_class_list(
    redis_srv: RedisServer, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(REDIS_URL_ENV, redis_srv.url)
    prefix, secret = sandbox.api_key.split(".", 1)
    async with (
        AsyncQameraClient(sandbox.api_key, sandbox.base_url, sleep=quick_sleep) as good,
        AsyncQameraClient(f"{prefix}.{'x' * len(secret)}", sandbox.base_url, sleep=quick_sleep) as bad,
    ):
        assert await good.list_sceneries()
        with pytest.raises(AuthenticationError):
            await bad.list_sceneries()


def test_warnings_show_the_redis_url_without_its_password() -> None:
    assert coordination.display_url("redis://teacher:s3cret@10.1.2.3:6380/2") == "redis://10.1.2.3:6380/2"
    assert coordination.display_url("rediss://:s3cret@cache.example/0") == "rediss://cache.example/0"
