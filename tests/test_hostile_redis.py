"""Class mode against a Redis that lies (issue 23, items 12-14): a fake server on loopback that answers
every script with garbage, and a real redis-server whose keys someone else wrote. Whatever Redis says,
a kernel paces itself (never for longer than a window), shows only the list its key's holders wrote, and
a fetcher killed while holding the tick's claim stalls the others briefly and cheaply."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socketserver
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import pytest

from qamera_widgets.client import AsyncQameraClient, _base
from qamera_widgets.contract import key_id_of
from qamera_widgets.runtime import coordination
from qamera_widgets.runtime.coordination import REDIS_URL_ENV
from qamera_widgets.sandbox import Sandbox

from ._hostile import served_in_thread
from ._widget_support import quick_sleep
from .helpers.redis_server import RedisServer, redis_server

pytestmark = pytest.mark.timeout(120)

WINDOW = 61.0
OFF_WARNING = "Class mode is off for now"


@pytest.fixture
def redis_srv() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


class _Resp(socketserver.StreamRequestHandler):
    """Just enough of the Redis protocol: reads each command, answers scripts with `server.reply`."""

    server: _FakeRedis

    def handle(self) -> None:
        while True:
            command = self._read_command()
            if command is None:
                return
            name = command[0].upper() if command else b""
            self.server.commands.append(name)
            if name in (b"EVALSHA", b"EVAL"):
                self.wfile.write(self.server.reply)
            elif name == b"HELLO":  # the handshake of the protocol version the client asked for
                self.wfile.write(b"%%1\r\n$5\r\nproto\r\n:%s\r\n" % command[1])
            else:
                self.wfile.write(b"+OK\r\n")
            self.wfile.flush()

    def _read_command(self) -> list[bytes] | None:
        header = self.rfile.readline()
        if not header.startswith(b"*"):
            return None
        parts = []
        for _ in range(int(header[1:])):
            size = int(self.rfile.readline()[1:])
            parts.append(self.rfile.read(size + 2)[:-2])
        return parts


class _FakeRedis(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, reply: bytes) -> None:
        super().__init__(("127.0.0.1", 0), _Resp)
        self.reply = reply
        self.commands: list[bytes] = []

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.server_address[1]}/0"


def bulk(text: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(text), text)


# What a broken or hostile server can answer to a script: each must read as "Redis unavailable".
GARBAGE = {
    "garbage text": bulk(b"garbage"),
    "an integer": b":5\r\n",
    "an empty array": b"*0\r\n",
    "inf": bulk(b"inf"),
    "nan": bulk(b"nan"),
    "1e9": bulk(b"1e9"),
    "a day ahead": bulk(b"86462"),
    "negative": bulk(b"-5"),
    "a status": b"+OK\r\n",
    "nil": b"$-1\r\n",
    "a claim with an integer body": b"*2\r\n:1\r\n:7\r\n",
    "a claim of an unknown state": b"*2\r\n:9\r\n$0\r\n\r\n",
    "a cached claim with no body": b"*2\r\n:1\r\n$0\r\n\r\n",
    "a claim of three": b"*3\r\n:1\r\n:2\r\n:3\r\n",
    "nested arrays": b"*2\r\n*1\r\n:1\r\n*0\r\n",
}


@pytest.fixture(params=list(GARBAGE), ids=list(GARBAGE))
def lying_redis(request: pytest.FixtureRequest) -> Iterator[_FakeRedis]:
    server = _FakeRedis(GARBAGE[request.param])
    with served_in_thread(server):
        yield server


def test_any_unexpected_reply_to_a_booking_is_redis_unavailable(lying_redis: _FakeRedis) -> None:
    found = coordination.ClassCoordinator(lying_redis.url)
    with pytest.raises(coordination.ClassModeOff):
        found.reserve("ns", 60, WINDOW)
    assert b"EVALSHA" in lying_redis.commands  # it was asked, and its answer refused
    with pytest.raises(coordination.ClassModeOff):
        found.claim("list", "lock", "token", 2.0)


async def test_a_client_on_a_lying_redis_lists_and_registers_pacing_itself(
    lying_redis: _FakeRedis,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv(REDIS_URL_ENV, lying_redis.url)
    waits: list[float] = []

    async def recorded(seconds: float) -> None:
        waits.append(seconds)
        await quick_sleep(seconds)

    with caplog.at_level(logging.WARNING, logger="qamera_widgets"):
        async with AsyncQameraClient(sandbox.api_key, sandbox.base_url, sleep=recorded) as client:
            listed = await client.list_sceneries()
            registration = await client.register_ideas("oak shelf on lying redis", count=1)
            assert await client.list_sceneries()
    assert listed  # the sandbox's library, fetched by this kernel itself
    assert registration.record_ids
    assert all(0 <= w <= WINDOW for w in waits), waits
    warnings = [r.getMessage() for r in caplog.records if OFF_WARNING in r.getMessage()]
    assert len(warnings) == 1, warnings


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


def test_only_a_copy_signed_with_this_key_for_this_list_and_tick_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key, other_key = "mk_test_k1.secret-one", "mk_test_k1.secret-two"
    body = json.dumps({"sceneries": []}).encode()
    now = 1_000_000.0
    signed = coordination.sign_list(key, "ns:list:all", body, now)
    assert coordination.verified_list(key, "ns:list:all", signed, now + 0.5, tick=1.0) == body
    assert b"secret" not in signed
    refused = {
        "another key": (other_key, "ns:list:all", signed, now),
        "moved to another list": (key, "ns:list:approved", signed, now),
        "a changed body": (key, "ns:list:all", signed.replace(b"[]", b"[1]"), now),
        "unsigned": (key, "ns:list:all", body, now),
        "replayed later": (key, "ns:list:all", signed, now + 3600),
        "from the future": (key, "ns:list:all", signed, now - 3600),
    }
    for case, (api_key, cache_key, stored, at) in refused.items():
        with pytest.raises(ValueError):
            coordination.verified_list(api_key, cache_key, stored, at, tick=1.0)
            pytest.fail(f"{case}: accepted")
    assert b"secret" not in signed and str(key_id_of(key)).encode() not in signed
    monkeypatch.setattr(coordination, "MAX_SHARED_LIST_BYTES", 1000)
    big = coordination.sign_list(key, "ns:list:all", b" " * 5000, now)
    with pytest.raises(ValueError, match="bytes"):
        coordination.verified_list(key, "ns:list:all", big, now, tick=1.0)


def test_the_shared_copy_is_held_to_the_clients_own_cap_on_a_list_answer() -> None:
    assert coordination.MAX_SHARED_LIST_BYTES == _base.MAX_RESPONSE_BYTES


def _evalsha_calls(server: RedisServer) -> int:
    with server.client() as store:
        stats: dict[str, Any] = store.info("commandstats")
    return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))


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
