"""Credits stay exact: under concurrent registrations, across a stop and start in the middle of a batch,
and when a POST is retried with an Idempotency-Key after its response was lost."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from qamera_widgets.sandbox import Sandbox
from qamera_widgets.sandbox.store import Store

LIST = "/api/external/sceneries"
REGISTER = "/api/external/sceneries/register-ideas"

MakeSandbox = Callable[..., Sandbox]
WaitTerminal = Callable[..., dict[str, dict[str, Any]]]
Settled = Callable[..., None]


async def _post_all(
    sandbox: Sandbox, bodies: list[dict[str, Any]], headers: dict[str, str]
) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(bodies))
    async with httpx.AsyncClient(base_url=sandbox.base_url, timeout=30, limits=limits) as client:
        return await asyncio.gather(
            *(
                client.post(REGISTER, json=body, headers={"X-Api-Key": sandbox.api_key, **headers})
                for body in bodies
            )
        )


async def test_fifty_concurrent_registrations_never_overdraw(
    sandbox: Sandbox, wait_until_terminal: WaitTerminal
) -> None:
    responses = await _post_all(sandbox, [{"preferences": f"white {i}", "count": 3} for i in range(50)], {})
    statuses = Counter(response.status_code for response in responses)
    assert statuses == {200: 33, 402: 17}
    refused = {response.json()["error"] for response in responses if response.status_code == 402}
    assert refused == {"Insufficient credits. Required: 30, available: 10."}
    assert sandbox.account()["available"] == 10
    assert sandbox.audit() == []
    ids = [
        i
        for response in responses
        if response.status_code == 200
        for i in response.json()["createdRecordIds"]
    ]
    assert len(set(ids)) == 99
    await asyncio.to_thread(wait_until_terminal, sandbox, ids)
    assert sandbox.account() == {"available": 10, "reserved": 0, "consumed": 990, "refunded": 0}
    assert sandbox.stats()["registered_batches"] == 33


@pytest.mark.parametrize("sandbox", [{"failure_rate": 0.4, "seed": 3, "credits": 700}], indirect=True)
async def test_ledger_stays_exact_with_refunds_racing_registrations(
    sandbox: Sandbox, wait_until_terminal: WaitTerminal, assert_settled: Settled
) -> None:
    responses = await _post_all(sandbox, [{"preferences": "oak", "count": 2} for _ in range(50)], {})
    assert sandbox.audit() == []
    ids = [
        i
        for response in responses
        if response.status_code == 200
        for i in response.json()["createdRecordIds"]
    ]
    records = await asyncio.to_thread(wait_until_terminal, sandbox, ids)
    done = sum(record["status"] == "DONE" for record in records.values())
    failed = len(records) - done
    assert_settled(sandbox, credits=700, done=done, failed=failed)


def _snapshot(data_dir: Path) -> tuple[dict[str, int], Counter[str]]:
    store = Store(data_dir / "sandbox.sqlite3")
    try:
        account = store.accounts_by_origin("start")[0]
        statuses = Counter(row.status for row in store.list_sceneries(account) if row.batch_id is not None)
        assert store.audit(account) == []
        return store.ledger(account).as_dict(), statuses
    finally:
        store.close()


def test_stop_and_start_mid_batch_resumes_and_accounts_for_every_credit(
    make_sandbox: MakeSandbox, wait_until_terminal: WaitTerminal, assert_settled: Settled, tmp_path: Path
) -> None:
    options = {
        "data_dir": tmp_path,
        "seed": 9,
        "failure_rate": 0.3,
        "processing_seconds": (0.2, 0.5),
        "worker_concurrency": 3,
        "library": 3,
    }
    first = make_sandbox(**options)
    headers = {"X-Api-Key": first.api_key}
    ids = httpx.post(
        first.base_url + REGISTER, json={"preferences": "concrete", "count": 20}, headers=headers, timeout=10
    ).json()["createdRecordIds"]
    deadline = time.monotonic() + 10
    while first.account()["consumed"] + first.account()["refunded"] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    old_key = first.api_key
    first.stop()

    ledger, statuses = _snapshot(tmp_path)
    finished = statuses["DONE"] + statuses["FAILED"]
    assert 0 < finished < 20 and statuses["PROCESSING"] + statuses["PENDING"] == 20 - finished
    assert ledger["reserved"] == 10 * (20 - finished)
    assert ledger["consumed"] + ledger["refunded"] == 10 * finished

    second = make_sandbox(**options)
    assert second.account() == ledger
    assert second.audit() == []
    assert httpx.get(second.base_url + LIST, headers={"X-Api-Key": old_key}, timeout=10).status_code == 200
    records = wait_until_terminal(second, ids, timeout=60)
    done = sum(record["status"] == "DONE" for record in records.values())
    assert_settled(second, credits=1000, done=done, failed=20 - done)
    listed = httpx.get(second.base_url + LIST, headers={"X-Api-Key": second.api_key}, timeout=10).json()
    assert listed["count"] == 23


def test_same_idempotency_key_and_body_replays_without_a_new_charge(sandbox: Sandbox) -> None:
    with httpx.Client(
        base_url=sandbox.base_url, headers={"X-Api-Key": sandbox.api_key}, timeout=10
    ) as client:
        body = {"preferences": "white marble", "count": 4}
        first = client.post(REGISTER, json=body, headers={"Idempotency-Key": "order-1"})
        again = client.post(
            REGISTER, json=dict(reversed(body.items())), headers={"Idempotency-Key": "order-1"}
        )
        assert first.status_code == again.status_code == 200
        assert again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
        assert sandbox.account()["available"] == 960

        conflict = client.post(REGISTER, json={**body, "count": 5}, headers={"Idempotency-Key": "order-1"})
        assert conflict.status_code == 409
        assert list(conflict.json()) == ["error"] and "Idempotency-Key" in conflict.json()["error"]

        fresh = client.post(REGISTER, json=body, headers={"Idempotency-Key": "order-2"})
        assert fresh.json()["batchId"] != first.json()["batchId"]
        assert client.post(REGISTER, json=body, headers={"Idempotency-Key": "k" * 256}).status_code == 400
    other = sandbox.issue_key()
    theirs = httpx.post(
        sandbox.base_url + REGISTER, json=body, headers={"X-Api-Key": other, "Idempotency-Key": "order-1"}
    )
    assert theirs.json()["batchId"] != first.json()["batchId"]
    assert sandbox.account()["available"] == 920
    assert sandbox.stats()["registered_batches"] == 3 and sandbox.stats()["idempotent_replays"] == 1


async def test_concurrent_posts_with_one_idempotency_key_make_one_batch(sandbox: Sandbox) -> None:
    body = {"preferences": "pastel pink", "count": 2}
    responses = await _post_all(sandbox, [body] * 10, {"Idempotency-Key": "same"})
    assert {response.status_code for response in responses} == {200}
    assert len({response.json()["batchId"] for response in responses}) == 1
    assert sandbox.account()["available"] == 980


def test_dropped_response_then_retry_with_same_key_replays_without_new_charge(
    sandbox: Sandbox, wait_until_terminal: WaitTerminal
) -> None:
    sandbox.set_faults(drop_after_register=1)
    headers = {"X-Api-Key": sandbox.api_key, "Idempotency-Key": "lost-response"}
    body = {"preferences": "forest moss", "count": 3}
    with httpx.Client(base_url=sandbox.base_url, headers=headers, timeout=10) as client:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            client.post(REGISTER, json=body)
        assert sandbox.account()["available"] == 970
        retried = client.post(REGISTER, json=body)
    assert retried.status_code == 200 and retried.headers["idempotent-replayed"] == "true"
    assert sandbox.account()["available"] == 970
    stats = sandbox.stats()
    assert (stats["dropped_connections"], stats["registered_batches"], stats["idempotent_replays"]) == (
        1,
        1,
        1,
    )
    wait_until_terminal(sandbox, retried.json()["createdRecordIds"])
    assert sandbox.account() == {"available": 970, "reserved": 0, "consumed": 30, "refunded": 0}


def test_dropped_response_without_idempotency_key_charges_the_retry_again(sandbox: Sandbox) -> None:
    sandbox.set_faults(drop_after_register=2)
    with httpx.Client(
        base_url=sandbox.base_url, headers={"X-Api-Key": sandbox.api_key}, timeout=10
    ) as client:
        for _ in range(2):
            with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
                client.post(REGISTER, json={"preferences": "beach", "count": 1})
        assert client.post(REGISTER, json={"preferences": "beach", "count": 1}).status_code == 200
        assert client.get(LIST).status_code == 200
    assert sandbox.account()["available"] == 970
    assert sandbox.stats()["dropped_connections"] == 2
