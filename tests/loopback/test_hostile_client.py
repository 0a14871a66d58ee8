"""The client against servers that misbehave on purpose (over real loopback sockets) and against being
shared by threads: nothing charged is lost, the key never shows, calls end within their timeout and
memory stays bounded."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import socket
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from qamera_widgets import (
    APITimeoutError,
    AsyncQameraClient,
    AuthenticationError,
    ConfigurationError,
    QameraClient,
    ResponseFormatError,
    SubmissionUnconfirmedError,
    WaitTimeoutError,
)
from qamera_widgets.engine.jobs.journal import Journal
from qamera_widgets.engine.jobs.tracking import JobTracker
from qamera_widgets.sandbox import Sandbox
from tests._hostile import Request, hostile_server, replying, response
from tests._widget_support import quick_sleep

KEY = "mk_live_key42.topsecretvalue"
SECRET = "topsecretvalue"
REGISTERED = {
    "createdRecordIds": ["r1"],
    "batchId": "b1",
    "orderId": "o1",
    "reservationId": "v1",
    "creditsReserved": 10,
}


def client_for(base_url: str, **options: Any) -> AsyncQameraClient:
    options.setdefault("rate_limit_per_minute", None)
    options.setdefault("sleep", quick_sleep)
    return AsyncQameraClient(options.pop("api_key", KEY), base_url, **options)


def test_a_list_in_one_thread_does_not_wait_behind_a_wait_for_in_another(make_sandbox: Any) -> None:
    sandbox = make_sandbox(processing_seconds=(60.0, 60.0))
    client = QameraClient(sandbox.api_key, sandbox.base_url, rate_limit_per_minute=None)
    registration = client.register_ideas("slow oak", count=1)
    polling = threading.Event()
    seen: dict[str, Any] = {}

    def waiter() -> None:
        with pytest.raises(WaitTimeoutError):
            client.wait_for(registration, timeout=3, poll_interval=0.2, on_update=lambda _: polling.set())

    waiting = threading.Thread(target=waiter)
    waiting.start()
    assert polling.wait(30)
    seen["listed"] = len(client.list_sceneries())
    seen["waiter_still_waiting"] = waiting.is_alive()
    waiting.join(30)
    client.close()
    assert seen["listed"] > 0
    assert seen["waiter_still_waiting"], "list_sceneries queued behind the other thread's wait_for"


async def test_a_confirmed_job_with_a_lone_surrogate_id_is_journaled(tmp_path: Path) -> None:
    body = (
        b'{"createdRecordIds": ["ok-1", "bad-\\ud800"], "batchId": "b\\udfff", "orderId": "o",'
        b' "reservationId": "v", "creditsReserved": 20}'
    )
    with hostile_server(replying(response(200, body, {"Content-Type": "application/json"}))) as server:
        client = client_for(server.base_url)
        registration = await client.register_ideas("surrogates", count=2)
        await client.aclose()
    journal = Journal(tmp_path / "journal.jsonl")
    journal.record_registration(registration, base_url=server.base_url, key_id=client.key_id)
    [batch] = journal.pending()
    assert batch.record_ids == ("ok-1", "bad-\ud800")
    assert batch.batch_id == "b\udfff"


async def test_a_key_with_a_control_character_is_refused_before_any_request() -> None:
    with hostile_server(replying(response(200, {"sceneries": []}))) as server:
        client = client_for(server.base_url, api_key="mk_live_key42.topsecret\x01value")
        with pytest.raises(ConfigurationError) as refused:
            await client.list_sceneries()
        assert server.requests == []
    text = str(refused.value) + repr(refused.value)
    assert "topsecret" not in text and "position 24" in text


async def test_a_server_echoing_the_key_never_puts_it_into_the_error() -> None:
    def echo(request: Request, sock: socket.socket) -> None:
        sent = request.headers["x-api-key"]
        body = {"error": f"Key {sent} is unknown (secret {sent.split('.')[1]})", "key": sent, sent: [sent]}
        sock.sendall(response(401, body))

    with hostile_server(echo) as server:
        client = client_for(server.base_url)
        with pytest.raises(AuthenticationError) as refused:
            await client.list_sceneries()
        await client.aclose()
    error = refused.value
    for text in (str(error), repr(error), error.message, json.dumps(error.body)):
        assert SECRET not in text and KEY not in text
    assert "is unknown" in error.message


def _trickle(body: bytes, every: float) -> Callable[[Request, socket.socket], None]:
    """Headers at once, then the body one byte at a time: each read is quick, the whole never is."""

    def answer(request: Request, sock: socket.socket) -> None:
        head = response(200, b"", {"Content-Type": "application/json"}).replace(
            b"Content-Length: 0", f"Content-Length: {len(body)}".encode()
        )
        sock.sendall(head)
        for byte in body:
            sock.sendall(bytes([byte]))
            time.sleep(every)

    return answer


async def test_a_trickling_server_cannot_stretch_the_timeout_of_a_list() -> None:
    body = json.dumps({"sceneries": [], "count": 0}).encode()
    with hostile_server(_trickle(body, 0.3)) as server:  # about 9 s in all, 0.3 s per read
        client = client_for(server.base_url, timeout=1.0, max_retries=0)
        with pytest.raises(APITimeoutError):
            await client.list_sceneries()
        await client.aclose()


async def test_a_trickling_server_cannot_stretch_the_timeout_of_wait_for() -> None:
    done = {"id": "r1", "name": "n", "status": "DONE", "thumbnail": None, "voting": "PENDING"}
    body = json.dumps({"sceneries": [done], "count": 1}).encode()
    with hostile_server(_trickle(body, 0.1)) as server:  # about 9 s for an answer that would end the wait
        client = client_for(server.base_url, timeout=60.0)
        with pytest.raises(WaitTimeoutError):
            await client.wait_for(["r1"], timeout=1.5)
        await client.aclose()


def _gzip_bomb(size: int) -> bytes:
    """Valid gzip of a valid JSON list padded with `size` spaces, compressed to a few hundred KB."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [packer.compress(b'{"sceneries": [], "count": 0, "pad": "')]
    block = b" " * 2**20
    parts += [packer.compress(block) for _ in range(size // len(block))]
    parts += [packer.compress(b'"}'), packer.flush()]
    return b"".join(parts)


async def test_a_gzip_bomb_list_is_refused_at_the_size_cap() -> None:
    bomb = _gzip_bomb(200 * 2**20)
    assert len(bomb) < 2**20
    answer = response(200, bomb, {"Content-Type": "application/json", "Content-Encoding": "gzip"})
    with hostile_server(replying(answer)) as server:
        client = client_for(server.base_url)
        with pytest.raises(ResponseFormatError, match="larger than 64 MiB"):
            await client.list_sceneries()
        await client.aclose()


async def test_a_small_gzip_list_is_read() -> None:
    items = [{"id": f"s{i}", "name": "n", "status": "DONE"} for i in range(3)]
    packed = gzip.compress(json.dumps({"sceneries": items}).encode())
    answer = response(200, packed, {"Content-Type": "application/json", "Content-Encoding": "gzip"})
    with hostile_server(replying(answer)) as server:
        client = client_for(server.base_url)
        assert [s.id for s in await client.list_sceneries()] == ["s0", "s1", "s2"]
        await client.aclose()


async def test_malformed_list_items_are_skipped_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="qamera_widgets")
    items = [
        {"id": "good-1", "name": "fine", "status": "DONE"},
        {"name": "no id at all", "status": "DONE"},
        {"id": "bad-name", "name": {"en": "a dict"}, "status": "DONE"},
        {"id": "bad-thumb", "name": "n", "thumbnail": ["a", "list"], "status": "DONE"},
        {"id": "good-2", "name": "also fine", "status": "PENDING"},
    ]
    with hostile_server(replying(response(200, {"sceneries": items, "count": 5}))) as server:
        client = client_for(server.base_url)
        first = await client.list_sceneries()
        second = await client.list_sceneries()
        await client.aclose()
    assert [s.id for s in first] == [s.id for s in second] == ["good-1", "good-2"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "Skipped 3 scenery entries" in warnings[0].getMessage()


async def test_a_bare_json_array_is_read_as_the_list() -> None:
    items = [{"id": "s1", "name": "n", "status": "DONE"}]
    with hostile_server(replying(response(200, items))) as server:
        client = client_for(server.base_url)
        assert [s.id for s in await client.list_sceneries()] == ["s1"]
        await client.aclose()


async def test_an_empty_created_record_ids_is_not_a_confirmed_job() -> None:
    with hostile_server(replying(response(200, {**REGISTERED, "createdRecordIds": []}))) as server:
        client = client_for(server.base_url)
        with pytest.raises(SubmissionUnconfirmedError) as unconfirmed:
            await client.register_ideas("nothing created", count=1)
        await client.aclose()
    assert "no created record ids" in str(unconfirmed.value)


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_redirecting_base_url_is_named_with_where_it_points(method: str) -> None:
    target = "https://api.example.invalid/v2"

    def redirect(request: Request, sock: socket.socket) -> None:
        sock.sendall(response(301, b"", {"Location": target + request.path + "?token=abc"}))

    with hostile_server(redirect) as server:
        client = client_for(server.base_url)
        with pytest.raises(ConfigurationError) as refused:
            if method == "GET":
                await client.list_sceneries()
            else:
                await client.register_ideas("oak", count=1)
        await client.aclose()
        assert len(server.requests) == 1
    message = str(refused.value)
    assert f"{server.base_url} redirects (HTTP 301) to {target}/api/external/sceneries" in message
    assert "token" not in message


async def test_the_tracker_stops_on_a_redirecting_base_url_instead_of_retrying() -> None:
    answer = response(302, b"", {"Location": "https://elsewhere.invalid/"})
    with hostile_server(replying(answer)) as server:
        client = client_for(server.base_url)
        tracker = JobTracker(client, sleep=quick_sleep)
        tracker.track(["r1"])
        with pytest.raises(ConfigurationError):
            await asyncio.wait_for(tracker.wait(["r1"]), 30)
        await tracker.close()
        await client.aclose()


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"timeout": -1}, "timeout must be a number of seconds above 0"),
        ({"timeout": 0}, "timeout must be a number of seconds above 0"),
        ({"timeout": "3"}, "timeout must be a number of seconds above 0, like 30, not '3'"),
        ({"max_retries": -1}, "max_retries must be a whole number"),
        ({"max_retries": 1.5}, "max_retries must be a whole number"),
        ({"rate_limit_per_minute": -5}, "rate_limit_per_minute must be a whole number"),
        ({"rate_limit_per_minute": True}, "rate_limit_per_minute must be a whole number"),
    ],
)
def test_an_unusable_client_option_is_named_when_the_client_is_made_and_nothing_is_sent(
    make_sandbox: Callable[..., Sandbox], options: dict[str, Any], named: str
) -> None:
    """These used to surface later as 'did not answer within -1 s', an IndexError or a TypeError."""
    sandbox = make_sandbox()
    before = sandbox.stats()["api_requests"]
    with pytest.raises(ValueError, match=named):
        QameraClient(sandbox.api_key, sandbox.base_url, **options)
    with pytest.raises(ValueError, match=named):
        AsyncQameraClient(sandbox.api_key, sandbox.base_url, **options)
    assert sandbox.stats()["api_requests"] == before


def test_zero_or_none_rate_limit_paces_nothing_and_lists(make_sandbox: Callable[..., Sandbox]) -> None:
    sandbox = make_sandbox()
    for limit in (0, None):
        with QameraClient(sandbox.api_key, sandbox.base_url, rate_limit_per_minute=limit) as client:
            assert isinstance(client.list_sceneries(), list)
