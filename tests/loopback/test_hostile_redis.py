"""Class mode against a Redis that lies (issue 23, items 12-14): a fake server on loopback that answers
every script with garbage. Whatever Redis says, a kernel paces itself (never for longer than a window) and
reads only a copy signed for its key, list and tick. With a real redis-server:
tests/system/test_hostile_redis.py."""

from __future__ import annotations

import json
import logging
import socketserver
from collections.abc import Iterator

import pytest

from qamera_widgets.client import AsyncQameraClient, _base
from qamera_widgets.contract import key_id_of
from qamera_widgets.runtime import coordination
from qamera_widgets.runtime.coordination import REDIS_URL_ENV
from qamera_widgets.sandbox import Sandbox
from tests._hostile import served_in_thread
from tests._widget_support import quick_sleep

pytestmark = pytest.mark.timeout(120)

WINDOW = 61.0
OFF_WARNING = "Class mode is off for now"


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
