"""HTTP behaviour of the async client against in-process transports (no real waiting)."""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import Callable
from typing import Any

import certifi
import httpx
import pytest
import respx

from qamera_widgets import (
    APIConnectionError,
    AsyncQameraClient,
    AuthenticationError,
    ConfigurationError,
    InsufficientCreditsError,
    InternalServerError,
    InvalidRequestError,
    RateLimitError,
    SubmissionUnconfirmedError,
    WaitTimeoutError,
)
from qamera_widgets.client import _base
from qamera_widgets.client.transport import tls_context
from qamera_widgets.contract import RATE_WINDOW_SECONDS

BASE = "http://api.test"
KEY = "mk_live_key42.topsecretvalue"
SECRET = "topsecretvalue"
REGISTERED = {
    "createdRecordIds": ["r1", "r2"],
    "batchId": "b1",
    "orderId": "o1",
    "reservationId": "v1",
    "creditsReserved": 20,
}


class Recorder:
    """A transport that answers from a script and remembers every request it saw."""

    def __init__(self, *answers: Callable[[httpx.Request], httpx.Response] | httpx.Response | Exception):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def fresh_rate_windows() -> None:
    """The pacing windows are process-wide by design; each test starts with none booked."""
    _base.windows.clear()


def make_client(recorder: Recorder, fake: FakeTime | None = None, **kw: object) -> AsyncQameraClient:
    fake = fake or FakeTime()
    options: dict[str, Any] = {"rate_limit_per_minute": None, "sleep": fake.sleep, "clock": fake.clock}
    options.update(kw)
    return AsyncQameraClient(KEY, BASE, transport=httpx.MockTransport(recorder), **options)


def json_response(status: int, body: object, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


async def test_post_is_not_retried_after_read_timeout() -> None:
    rec = Recorder(httpx.ReadTimeout("slow"))
    client = make_client(rec)
    with pytest.raises(SubmissionUnconfirmedError) as info:
        await client.register_ideas("Marble studio", count=2)
    assert len(rec.requests) == 1
    key = info.value.idempotency_key
    assert key and rec.requests[0].headers["Idempotency-Key"] == key
    assert "may still have been created" in str(info.value) and key in str(info.value)


@pytest.mark.parametrize(
    "failure",
    [httpx.RemoteProtocolError("peer closed"), httpx.ReadError("reset"), httpx.WriteTimeout("w")],
)
async def test_post_is_not_retried_after_the_connection_broke(failure: Exception) -> None:
    rec = Recorder(failure)
    with pytest.raises(SubmissionUnconfirmedError):
        await make_client(rec).register_ideas("Marble studio", count=2)
    assert len(rec.requests) == 1


async def test_post_answered_with_500_is_unconfirmed_and_sent_once() -> None:
    rec = Recorder(json_response(500, {"error": "boom"}))
    with pytest.raises(SubmissionUnconfirmedError):
        await make_client(rec).register_ideas("Marble studio")
    assert len(rec.requests) == 1


async def test_rate_limited_post_is_retried_with_the_same_idempotency_key() -> None:
    fake = FakeTime()
    rec = Recorder(
        json_response(429, {"error": "Too many requests. Please retry after a short delay."}),
        json_response(429, {"error": "Too many requests. Please retry after a short delay."}),
        json_response(200, REGISTERED, **{"X-Correlation-Id": "c-9"}),
    )
    registration = await make_client(rec, fake).register_ideas("Forest", count=2, idempotency_key="my-key")
    assert [r.headers["Idempotency-Key"] for r in rec.requests] == ["my-key"] * 3
    assert registration.record_ids == ("r1", "r2") and registration.idempotency_key == "my-key"
    assert registration.correlation_id == "c-9" and registration.credits_reserved == 20
    assert 1.0 <= fake.sleeps[0] <= 1.5 and 2.0 <= fake.sleeps[1] <= 2.5
    assert json.loads(rec.requests[0].content) == {"preferences": "Forest", "count": 2}


async def test_post_that_never_connected_is_retried_then_reported_as_connection_error() -> None:
    rec = Recorder(httpx.ConnectError("refused"))
    with pytest.raises(APIConnectionError) as info:
        await make_client(rec, max_retries=2).register_ideas("Forest")
    assert not isinstance(info.value, SubmissionUnconfirmedError)
    assert len(rec.requests) == 3
    assert len({r.headers["Idempotency-Key"] for r in rec.requests}) == 1


async def test_get_retries_server_errors_with_backoff_then_succeeds() -> None:
    fake = FakeTime()
    rec = Recorder(
        json_response(503, {"error": "busy"}),
        httpx.ReadTimeout("slow"),
        json_response(200, {"sceneries": [{"id": "a", "status": "DONE"}], "count": 1}),
    )
    listed = await make_client(rec, fake).list_sceneries()
    assert [s.id for s in listed] == ["a"]
    assert len(rec.requests) == 3 and len(fake.sleeps) == 2
    assert rec.requests[0].url.params["statusFilter"] == "all"


async def test_get_gives_up_after_max_retries() -> None:
    rec = Recorder(json_response(500, {"error": "down"}, **{"X-Correlation-Id": "abc"}))
    with pytest.raises(InternalServerError) as info:
        await make_client(rec, max_retries=3).list_sceneries()
    assert len(rec.requests) == 4 and info.value.correlation_id == "abc"


async def test_retry_after_longer_than_a_minute_raises_instead_of_waiting() -> None:
    fake = FakeTime()
    rec = Recorder(json_response(429, {"error": "slow down"}, **{"Retry-After": "300"}))
    with pytest.raises(RateLimitError):
        await make_client(rec, fake).list_sceneries()
    assert fake.sleeps == [] and len(rec.requests) == 1


async def test_retry_after_within_a_minute_is_honoured() -> None:
    fake = FakeTime()
    rec = Recorder(
        json_response(429, {"error": "slow down"}, **{"Retry-After": "12"}),
        json_response(200, {"sceneries": [], "count": 0}),
    )
    await make_client(rec, fake).list_sceneries()
    assert fake.sleeps[0] >= 12.0


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (401, {"error": "Invalid API key"}, AuthenticationError),
        (402, {"error": "Insufficient credits. Required: 100, available: 40."}, InsufficientCreditsError),
    ],
)
async def test_final_errors_are_raised_at_once(status: int, body: dict[str, Any], cls: type) -> None:
    rec = Recorder(json_response(status, body))
    with pytest.raises(cls):
        await make_client(rec).register_ideas("Beach")
    assert len(rec.requests) == 1


async def test_bad_key_and_bad_arguments_fail_before_any_request(monkeypatch: pytest.MonkeyPatch) -> None:
    rec = Recorder(json_response(200, {"sceneries": [], "count": 0}))
    monkeypatch.delenv("QAMERA_API_KEY", raising=False)
    keyless = AsyncQameraClient(None, BASE, transport=httpx.MockTransport(rec))
    with pytest.raises(ConfigurationError, match="QAMERA_API_KEY"):
        await keyless.list_sceneries()
    client = make_client(rec)
    with pytest.raises(InvalidRequestError):
        await client.register_ideas("  ")
    with pytest.raises(InvalidRequestError):
        await client.register_ideas("ok", count=21)
    with pytest.raises(InvalidRequestError):
        await client.list_sceneries("mine")
    assert rec.requests == []


async def test_key_set_in_the_environment_after_construction_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    rec = Recorder(json_response(200, {"sceneries": [], "count": 0}))
    monkeypatch.delenv("QAMERA_API_KEY", raising=False)
    client = AsyncQameraClient(base_url=BASE, transport=httpx.MockTransport(rec))
    monkeypatch.setenv("QAMERA_API_KEY", KEY)
    await client.list_sceneries()
    assert rec.requests[0].headers["X-Api-Key"] == KEY


@respx.mock
async def test_key_never_follows_a_redirect_to_another_origin() -> None:
    respx.get(f"{BASE}/api/external/sceneries").mock(
        return_value=httpx.Response(302, headers={"Location": "http://elsewhere.test/list"})
    )
    other = respx.get("http://elsewhere.test/list").mock(
        return_value=httpx.Response(200, json={"sceneries": [], "count": 0})
    )
    client = AsyncQameraClient(KEY, BASE, rate_limit_per_minute=None)
    with pytest.raises(ConfigurationError, match=r"redirects \(HTTP 302\) to http://elsewhere\.test/list"):
        await client.list_sceneries()
    first = respx.calls[0].request
    assert first.headers["X-Api-Key"] == KEY
    assert not other.called
    await client.aclose()


async def test_secret_never_appears_in_reprs_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="qamera_widgets")
    rec = Recorder(
        json_response(429, {"error": "slow"}),
        json_response(401, {"error": "Invalid API key"}, **{"X-Correlation-Id": "c1"}),
    )
    client = make_client(rec)
    with pytest.raises(AuthenticationError) as info:
        await client.list_sceneries()
    texts = [repr(client), str(info.value), repr(info.value), *(r.getMessage() for r in caplog.records)]
    assert caplog.records, "the client should log its requests"
    assert any("c1" in t for t in texts)
    for text in texts:
        assert SECRET not in text and KEY not in text
    assert "key42" in repr(client)


async def test_pacing_keeps_a_shared_key_under_the_per_minute_limit() -> None:
    fake = FakeTime()
    rec = Recorder(json_response(200, {"sceneries": [], "count": 0}))
    first = make_client(rec, fake, rate_limit_per_minute=2)
    second = make_client(rec, fake, rate_limit_per_minute=2)
    await first.list_sceneries()
    await second.list_sceneries()
    assert fake.sleeps == []
    await first.list_sceneries()
    # A minute, plus a margin so requests that arrived late are out of the server's window too.
    assert fake.sleeps == [pytest.approx(RATE_WINDOW_SECONDS + _base.PACING_MARGIN_SECONDS)]


async def test_a_registered_job_with_an_unreadable_answer_is_unconfirmed_with_its_key() -> None:
    rec = Recorder(json_response(200, {"createdRecordIds": "oops", "creditsReserved": 20}))
    with pytest.raises(SubmissionUnconfirmedError) as info:
        await make_client(rec).register_ideas("Beach", count=2, idempotency_key="k-1")
    assert info.value.idempotency_key == "k-1" and "unreadable" in str(info.value)
    assert len(rec.requests) == 1


def listing(*items: tuple[str, str]) -> httpx.Response:
    return json_response(
        200, {"sceneries": [{"id": i, "status": s, "name": i} for i, s in items], "count": len(items)}
    )


async def test_wait_for_polls_once_per_tick_for_all_ids_until_terminal() -> None:
    fake = FakeTime()
    rec = Recorder(
        listing(("x", "DONE")),
        listing(("r1", "PENDING"), ("x", "DONE")),
        json_response(503, {"error": "busy"}),
        listing(("r1", "PROCESSING"), ("r2", "PENDING")),
        listing(("r1", "PROCESSING"), ("r2", "PENDING")),
        listing(("r1", "DONE"), ("r2", "FAILED")),
    )
    updates: list[dict[str, Any]] = []
    result = await make_client(rec, fake, max_retries=0).wait_for(
        ["r1", "r2"], timeout=600, on_update=updates.append
    )
    assert [(s.id, s.status) for s in result] == [("r1", "DONE"), ("r2", "FAILED")]
    assert len(rec.requests) == 6
    assert all(r.url.path == "/api/external/sceneries" for r in rec.requests)
    assert [sorted((k, v.status) for k, v in u.items()) for u in updates] == [
        [],
        [("r1", "PENDING")],
        [("r1", "PROCESSING"), ("r2", "PENDING")],
        [("r1", "DONE"), ("r2", "FAILED")],
    ]


async def test_wait_for_times_out_with_the_last_snapshot() -> None:
    fake = FakeTime()
    rec = Recorder(listing(("r1", "SOMETHING_NEW")))
    with pytest.raises(WaitTimeoutError) as info:
        await make_client(rec, fake).wait_for(["r1"], timeout=30)
    assert info.value.snapshot["r1"].status == "SOMETHING_NEW"
    assert str(info.value) == (
        "Waited 30 s: 0 of 1 records finished. The rest keep running on the server; "
        "wait again to keep watching."
    ), "worded as the tracker words it (tests/unit/test_tracking.py)"
    assert fake.now <= 30.0 + 1e-9


def test_every_client_verifies_with_one_certificate_store_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    shared = tls_context()
    assert tls_context() is shared and shared.verify_mode == ssl.CERT_REQUIRED
    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())  # what httpx reads: a change is honoured
    assert tls_context() is not shared
