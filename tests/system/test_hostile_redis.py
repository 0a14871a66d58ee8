"""Class mode against a real redis-server (issue 23, items 12-14): keys someone else wrote are never shown,
and a fetcher killed while holding the tick's claim stalls the others briefly and cheaply."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import pytest

from qamera_widgets.client import AsyncQameraClient
from qamera_widgets.runtime import coordination
from qamera_widgets.runtime.coordination import REDIS_URL_ENV
from qamera_widgets.sandbox import Sandbox
from tests._widget_support import quick_sleep
from tests.helpers.redis_server import RedisServer, redis_server
from tests.loopback.test_hostile_redis import OFF_WARNING, WINDOW

pytestmark = pytest.mark.timeout(120)

FORGED = {
    "sceneries": [
        {
            "id": "forged1",
            "status": "done",
            "preferences": "student B: marble bath",
            "images": [
                {"url": "http://127.0.0.1:9/admin/delete?all=1", "thumbnailUrl": "http://127.0.0.1:9/x"}
            ],
        }
    ]
}
KILLED_FETCHER = textwrap.dedent(
    """
    import asyncio, sys
    from qamera_widgets.runtime import coordination

    async def fetch():
        print("fetching", flush=True)
        await asyncio.sleep(3600)  # killed here, holding the tick
        return b""

    asyncio.run(coordination.shared_list("http://o:1", "k1", sys.argv[1], "all", fetch, tick=1.0))
    """
)


@pytest.fixture
def redis_srv() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


def _real_coordinator(server: RedisServer) -> coordination.ClassCoordinator:
    """A coordinator of its own, so a refusal in one test does not switch class mode off in the next."""
    return coordination.ClassCoordinator(server.url)


def test_bookings_a_day_ahead_never_make_a_kernel_wait_past_the_window(redis_srv: RedisServer) -> None:
    found = _real_coordinator(redis_srv)
    namespace = "qamera-widgets:http://127.0.0.1:1:class1"
    with redis_srv.client() as store:
        now = float(store.time()[0])
        # Another process (or a clock step) left a full window of bookings a day ahead.
        store.zadd(f"{namespace}:slots", {f"ahead{n}": now + 86_400 + n for n in range(60)})
    delays = [found.reserve(namespace, 60, WINDOW) for _ in range(70)]
    assert max(delays) <= WINDOW
    assert delays[:60] == [0.0] * 60  # the bogus bookings are gone: the window was empty
    with redis_srv.client() as store:
        assert max(score for _, score in store.zrange(f"{namespace}:slots", 0, -1, withscores=True)) <= (
            now + WINDOW + 5
        )


async def test_a_list_copy_written_into_redis_by_someone_else_is_never_shown(
    redis_srv: RedisServer,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv(REDIS_URL_ENV, redis_srv.url)
    async with AsyncQameraClient(sandbox.api_key, sandbox.base_url, sleep=quick_sleep) as client:
        real = {s.id for s in await client.list_sceneries()}
    with redis_srv.client() as store:
        names = [n for n in store.scan_iter(match="*:list:all", count=100)]
        assert names, "the first list was shared in Redis"
        for name in names:  # one SET, as the review did, valid for a minute
            store.set(name, json.dumps(FORGED).encode(), px=60_000)
    with caplog.at_level(logging.WARNING, logger="qamera_widgets"):
        async with AsyncQameraClient(sandbox.api_key, sandbox.base_url, sleep=quick_sleep) as other:
            shown = await other.list_sceneries()
    assert {s.id for s in shown} == real
    assert "forged1" not in {s.id for s in shown}
    assert any("not signed" in r.getMessage() for r in caplog.records if OFF_WARNING in r.getMessage())


def _evalsha_calls(server: RedisServer) -> int:
    with server.client() as store:
        stats: dict[str, Any] = store.info("commandstats")
    return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))


def _kill_a_fetcher_holding_the_tick(redis_url: str, key: str) -> None:
    """A kernel that claimed the tick and died (SIGKILL) before sharing or releasing it."""
    fetcher = subprocess.Popen(
        [sys.executable, "-c", KILLED_FETCHER, key],
        stdout=subprocess.PIPE,
        env={**os.environ, REDIS_URL_ENV: redis_url},
    )
    try:
        assert fetcher.stdout is not None
        assert fetcher.stdout.readline().strip() == b"fetching"
    finally:
        fetcher.send_signal(signal.SIGKILL)
        fetcher.wait(10)


async def test_a_fetcher_killed_holding_the_tick_stalls_the_others_briefly_and_cheaply(
    redis_srv: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(REDIS_URL_ENV, redis_srv.url)
    key = "mk_test_k1.secret"
    await asyncio.to_thread(_kill_a_fetcher_holding_the_tick, redis_srv.url, key)
    with redis_srv.client() as store:
        [lock] = list(store.scan_iter(match="*:lock"))
        left = store.pttl(lock)
    assert 0 < left <= coordination.LIST_LOCK_SECONDS * 1000
    calls_before = _evalsha_calls(redis_srv)
    fetched: list[float] = []

    async def fetch() -> bytes:
        fetched.append(time.monotonic())
        return b'{"sceneries": []}'

    body = await coordination.shared_list("http://o:1", "k1", key, "all", fetch, tick=1.0)
    assert body == b'{"sceneries": []}' and len(fetched) == 1
    # Waiting out the dead claim: a back-off of a few calls, not one every 50 ms (603 in 10 s before).
    assert _evalsha_calls(redis_srv) - calls_before <= 15


async def test_a_live_fetcher_keeps_its_claim_so_the_others_read_its_copy(
    redis_srv: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(REDIS_URL_ENV, redis_srv.url)
    monkeypatch.setattr(coordination, "LIST_LOCK_SECONDS", 0.3)
    monkeypatch.setattr(coordination, "LIST_LOCK_RENEW", 0.1)
    key = "mk_test_k2.secret"
    fetches: list[str] = []
    fetching = asyncio.Event()

    async def slow_fetch() -> bytes:
        fetches.append("slow")
        fetching.set()
        await asyncio.sleep(1.5)  # five times the claim's life: only renewals keep it
        return b'{"sceneries": [], "from": "slow"}'

    async def fetch() -> bytes:
        fetches.append("waiter")
        return b'{"sceneries": []}'

    first = asyncio.create_task(
        coordination.shared_list("http://o:1", "k2", key, "all", slow_fetch, tick=5.0)
    )
    await fetching.wait()
    second = await coordination.shared_list("http://o:1", "k2", key, "all", fetch, tick=5.0)
    assert await first == second == b'{"sceneries": [], "from": "slow"}'
    assert fetches == ["slow"]
