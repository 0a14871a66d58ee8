"""The sandbox under hostile conditions: a database locked by another program, a second sandbox on the same
folder, damaged database files, forged log lines, odd headers and bodies. Real files, real sockets."""

from __future__ import annotations

import asyncio
import logging
import socket
import sqlite3
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from qamera_widgets.sandbox import Sandbox
from qamera_widgets.sandbox.store import Store
from qamera_widgets.sandbox.worker import Worker

REGISTER = "/api/external/sceneries/register-ideas"
LIST = "/api/external/sceneries"


def _statuses(store: Store, account: int) -> dict[str, str]:
    return {row.id: row.status for row in store.list_sceneries(account)}


async def _until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.02)


async def test_worker_outlives_a_locked_database_and_settles_every_item(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.sqlite3"
    store = Store(path, busy_timeout=0.05)
    account = store.create_account(100, origin="start")
    store.register(account, "first batch", 2)
    work = asyncio.Event()
    worker = Worker(
        store, seed=1, failure_rate=0.0, processing_seconds=(0.3, 0.3), concurrency=1, work_available=work
    )
    running = asyncio.create_task(worker.run())
    other = sqlite3.connect(path, isolation_level=None)
    try:
        await _until(lambda: "PROCESSING" in _statuses(store, account).values(), "an item in hand")
        # Another program holds the write lock while an item is finishing and while items wait in the queue.
        other.execute("BEGIN IMMEDIATE")
        await asyncio.sleep(0.8)
        assert not running.done(), "the worker died on the locked database"
        other.execute("COMMIT")
        store.register(account, "second batch", 1)
        work.set()
        await _until(
            lambda: set(_statuses(store, account).values()) == {"DONE"}, "every item DONE after the lock"
        )
        assert not running.done()
        assert store.ledger(account).as_dict() == {
            "available": 70,
            "reserved": 0,
            "consumed": 30,
            "refunded": 0,
        }
        assert store.audit(account) == []
    finally:
        other.close()
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        store.close()


@pytest.mark.shared_sandbox
def test_a_path_with_an_encoded_newline_cannot_forge_a_log_line(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="qamera_widgets.sandbox")
    forged = "/x%0Aapi GET /api/external/sceneries 200 0.1ms correlation_id=forged%0D%1B[31m"
    httpx.get(sandbox.base_url + forged, timeout=10)
    httpx.get(sandbox.base_url + LIST, timeout=10)  # a later line: the first one is surely written by now
    lines = [r.getMessage() for r in caplog.records if r.name == "qamera_widgets.sandbox"]
    assert any("correlation_id=forged" in line for line in lines)
    assert all("\n" not in line and "\r" not in line and "\x1b" not in line for line in lines)


@pytest.mark.shared_sandbox
def test_credits_beyond_what_the_ledger_can_hold_are_a_400(sandbox: Sandbox) -> None:
    admin = {"Authorization": f"Bearer {sandbox.admin_token}"}
    for credits in (2**63, 10**30):
        answer = httpx.post(sandbox.base_url + "/sandbox/keys", json={"credits": credits}, headers=admin)
        assert answer.status_code == 400 and "credits" in answer.json()["error"]
    largest = httpx.post(sandbox.base_url + "/sandbox/keys", json={"credits": 2**63 - 1}, headers=admin)
    assert largest.status_code == 200


@pytest.mark.shared_sandbox
def test_an_idempotent_resend_spelling_count_as_a_float_is_a_replay(sandbox: Sandbox) -> None:
    headers = {"X-Api-Key": sandbox.api_key, "Idempotency-Key": "resend-1"}
    url = sandbox.base_url + REGISTER
    first = httpx.post(url, json={"preferences": "oak", "count": 2}, headers=headers)
    again = httpx.post(url, json={"preferences": "oak", "count": 2.0}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    other = httpx.post(sandbox.base_url + REGISTER, json={"preferences": "oak", "count": 3}, headers=headers)
    assert other.status_code == 409


@pytest.mark.shared_sandbox
@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer\t{key}"},
        {"Authorization": "bearer \t  {key}"},
        {"X-Api-Key": "", "Authorization": "Bearer {key}"},
    ],
)
def test_a_valid_bearer_is_accepted_however_it_is_spaced(sandbox: Sandbox, headers: dict[str, str]) -> None:
    sent = {name: value.format(key=sandbox.api_key) for name, value in headers.items()}
    answer = httpx.get(sandbox.base_url + LIST, headers=sent, timeout=10)
    assert answer.status_code == 200, answer.text


def test_a_client_that_hangs_up_mid_body_logs_no_traceback(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    host, port = sandbox.base_url.removeprefix("http://").rsplit(":", 1)
    head = (
        f"POST {REGISTER} HTTP/1.1\r\nHost: {host}\r\nX-Api-Key: {sandbox.api_key}\r\n"
        "Content-Type: application/json\r\nContent-Length: 500\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head.encode() + b'{"preferences": "half a bo')
    httpx.get(sandbox.base_url + LIST, headers={"X-Api-Key": sandbox.api_key}, timeout=10)
    for _ in range(100):  # the server notices the hang-up on its own loop; wait for its log line
        if any("register-ideas 400" in r.getMessage() for r in caplog.records):
            break
        asyncio.run(asyncio.sleep(0.05))
    assert any("register-ideas 400" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert sandbox.stats()["registered_batches"] == 0
