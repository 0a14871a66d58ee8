"""The project's async client against the sandbox over loopback: list, register, wait until every record
has ended, and the account settles to exactly 10 credits per DONE consumed and per FAILED refunded."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from qamera_widgets.client import AsyncQameraClient, SubmissionUnconfirmedError
from qamera_widgets.engine.pictures.loader import ThumbnailLoader
from qamera_widgets.sandbox import Sandbox

MakeSandbox = Callable[..., Sandbox]


async def test_client_registers_waits_and_the_account_settles_exactly(
    make_sandbox: MakeSandbox, assert_settled: Callable[..., None]
) -> None:
    sandbox = make_sandbox(failure_rate=0.3, seed=21, rate_limit=60, credits=1000)
    async with AsyncQameraClient(sandbox.api_key, sandbox.base_url) as client:
        library = await client.list_sceneries()
        assert len(library) == 12 and all(s.is_terminal for s in library)
        assert {s.voting for s in library} == {"APPROVED", "PENDING", "REJECTED"}

        registration = await client.register_ideas("white marble studio, soft light", count=10)
        assert registration.credits_reserved == 100 and len(registration.record_ids) == 10
        assert registration.correlation_id
        assert sandbox.account()["available"] == 900

        records = await client.wait_for(registration, timeout=60)

    assert [record.id for record in records] == list(registration.record_ids)
    done = sum(record.status == "DONE" for record in records)
    failed = sum(record.status == "FAILED" for record in records)
    assert done + failed == 10 and done > 0 and failed > 0
    assert_settled(sandbox, credits=1000, done=done, failed=failed)
    # Through the project's own thumbnail loader, so the credential counter checks project code.
    async with ThumbnailLoader() as loader:
        for record in records:
            if record.status == "DONE":
                assert record.thumbnail is not None and record.thumbnail.startswith(sandbox.cdn_url)
                assert (await loader.load(record.thumbnail)).placeholder is None
            else:
                assert record.thumbnail is None
    assert sandbox.stats()["cdn_requests"] >= done
    assert sandbox.stats()["cdn_requests_with_credentials"] == 0


async def test_client_retry_after_a_dropped_response_is_not_charged_twice(sandbox: Sandbox) -> None:
    sandbox.set_faults(drop_after_register=1)
    async with AsyncQameraClient(sandbox.api_key, sandbox.base_url, rate_limit_per_minute=None) as client:
        with pytest.raises(SubmissionUnconfirmedError) as caught:
            await client.register_ideas("oak wood", count=3)
        assert sandbox.account()["available"] == 970
        again = await client.register_ideas("oak wood", count=3, idempotency_key=caught.value.idempotency_key)
        records = await client.wait_for(again, timeout=60)
    assert {record.status for record in records} == {"DONE"}
    assert sandbox.account() == {"available": 970, "reserved": 0, "consumed": 30, "refunded": 0}
    assert sandbox.stats()["registered_batches"] == 1 and sandbox.stats()["idempotent_replays"] == 1
