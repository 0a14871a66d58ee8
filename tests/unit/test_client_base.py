"""Pure logic of the client: no server, no loop, no clock."""

from __future__ import annotations

import contextlib
import json
import random
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qamera_widgets import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    InsufficientCreditsError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    QameraError,
    RateLimitError,
    ResponseFormatError,
    Scenery,
)
from qamera_widgets.client import _base, rules
from qamera_widgets.client._base import Action, AttemptOutcome
from qamera_widgets.contract import key_id_of

KEY = "mk_live_abc123.s3cr3tvalue"


def decide(is_post: bool, outcome: AttemptOutcome, status: int | None = None, attempt: int = 0, **kw: Any):
    return _base.decide_retry(
        is_post=is_post,
        outcome=outcome,
        status_code=status,
        attempt=attempt,
        max_retries=3,
        rng=random.Random(0),
        **kw,
    )


_GET_AND_POST_ACTIONS: list[tuple[tuple[Action, Action], list[tuple[AttemptOutcome, int | None]]]] = [
    # (what a GET does, what a POST does) after each ending; a POST is resent only when it certainly
    # registered nothing, so any failure after it was sent, and any 5xx, leaves it UNCONFIRMED.
    ((Action.RETURN, Action.RETURN), [(AttemptOutcome.STATUS, 200)]),
    ((Action.RETRY, Action.RETRY), [(AttemptOutcome.CONNECT_FAILED, None), (AttemptOutcome.STATUS, 429)]),
    (
        (Action.RETRY, Action.UNCONFIRMED),
        [(AttemptOutcome.TIMEOUT, None), (AttemptOutcome.BROKEN, None)]
        + [(AttemptOutcome.STATUS, status) for status in (500, 502, 503, 504)],
    ),
    ((Action.RAISE, Action.UNCONFIRMED), [(AttemptOutcome.STATUS, 501)]),
    ((Action.RAISE, Action.RAISE), [(AttemptOutcome.STATUS, status) for status in (400, 401, 402, 404, 409)]),
]


@pytest.mark.parametrize(
    ("is_post", "outcome", "status", "action"),
    [
        pytest.param(
            is_post,
            outcome,
            status,
            actions[is_post],
            id=f"{'POST' if is_post else 'GET'}-{status or outcome.value}",
        )
        for actions, endings in _GET_AND_POST_ACTIONS
        for outcome, status in endings
        for is_post in (False, True)
    ],
)
def test_retry_table(is_post: bool, outcome: AttemptOutcome, status: int | None, action: Action) -> None:
    assert decide(is_post, outcome, status).action is action


def test_retries_stop_after_max_retries() -> None:
    assert decide(False, AttemptOutcome.STATUS, 503, attempt=2).action is Action.RETRY
    assert decide(False, AttemptOutcome.STATUS, 503, attempt=3).action is Action.RAISE
    assert decide(True, AttemptOutcome.STATUS, 429, attempt=3).action is Action.RAISE


def test_backoff_is_exponential_with_bounded_jitter() -> None:
    rng = random.Random(1)
    for attempt, base in enumerate([1, 2, 4, 8]):
        for _ in range(50):
            delay = rules.backoff_delay(attempt, rng)
            assert base <= delay <= base + 0.5


def test_one_backoff_for_every_retry_stops_growing_at_eight_times_its_base() -> None:
    rng = random.Random(2)
    assert all(8.0 <= rules.backoff_delay(attempt, rng) <= 8.5 for attempt in (3, 4, 10))
    assert 2.0 <= rules.backoff_delay(7, rng, base=0.25) <= 2.125
    late = _base.decide_retry(
        is_post=False,
        outcome=AttemptOutcome.CONNECT_FAILED,
        status_code=None,
        attempt=6,
        max_retries=9,
        rng=rng,
    )
    assert late.action is Action.RETRY and late.delay <= 8.5


def test_retry_after_is_honoured_but_never_beyond_sixty_seconds() -> None:
    assert decide(False, AttemptOutcome.STATUS, 429, retry_after=7.0).delay >= 7.0
    too_long = decide(False, AttemptOutcome.STATUS, 429, retry_after=120.0)
    assert too_long.action is Action.RAISE and "120" in too_long.reason


def test_parse_retry_after_seconds_and_http_dates() -> None:
    assert _base.parse_retry_after("3") == 3.0
    assert _base.parse_retry_after(" 1.5 ") == 1.5
    assert _base.parse_retry_after(None) is None
    assert _base.parse_retry_after("soon") is None
    now = datetime(2026, 3, 20, 13, 0, 0, tzinfo=timezone.utc).timestamp()
    assert _base.parse_retry_after("Fri, 20 Mar 2026 13:00:30 GMT", now=now) == pytest.approx(30.0)
    assert _base.parse_retry_after("Fri, 20 Mar 2026 12:00:00 GMT", now=now) == 0.0


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (402, InsufficientCreditsError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (429, RateLimitError),
        (500, InternalServerError),
        (503, InternalServerError),
        (409, APIStatusError),
    ],
)
def test_error_mapping(status: int, cls: type[APIStatusError]) -> None:
    err = _base.error_from_response(status, b'{"error": "boom"}', "corr-1")
    assert type(err) is cls
    assert err.status_code == status and err.message == "boom" and err.correlation_id == "corr-1"
    assert "boom" in str(err) and "corr-1" in str(err) and str(status) in str(err)


def test_each_error_carries_the_sentence_a_person_reads() -> None:
    rejected = _base.error_from_response(401, b'{"error": "Invalid API key."}', "c1", key_id="k42")
    assert str(rejected) == (
        "The API key was rejected (401): Invalid API key. Check QAMERA_API_KEY or create a new key in the "
        "Qamera dashboard. (key id k42, correlation id c1)"
    )
    body = b'{"error": "Insufficient credits. Required: 100, available: 40."}'
    assert str(_base.error_from_response(402, body, None)) == (
        "Not enough credits: this needs 100, the account has 40. Nothing was charged. Top up credits or "
        "request fewer sceneries."
    )
    made_here = AuthenticationError("Invalid API key")
    assert str(made_here) == str(_base.error_from_response(401, b"Invalid API key", None))


def test_insufficient_credits_parses_required_and_available() -> None:
    err = _base.error_from_response(
        402, b'{"error": "Insufficient credits. Required: 100, available: 40."}', None
    )
    assert isinstance(err, InsufficientCreditsError)
    assert (err.required, err.available) == (100, 40)
    odd = _base.error_from_response(402, b'{"error": "no money"}', None)
    assert isinstance(odd, InsufficientCreditsError) and odd.required is None


def test_error_bodies_that_are_not_json_still_give_a_message() -> None:
    err = _base.error_from_response(502, b"<html>Bad gateway</html>", None)
    assert isinstance(err, InternalServerError)
    assert "502" in err.message


@pytest.mark.parametrize(
    ("preferences", "count"),
    [
        ("", 5),
        ("   ", 5),
        ("x" * 2001, 5),
        ("ok", 0),
        ("ok", 21),
        ("ok", 5.5),
        ("ok", True),
        (None, 5),
        ("\udcff", 5),
    ],
)
def test_invalid_registrations_are_refused_locally(preferences: object, count: object) -> None:
    with pytest.raises(InvalidRequestError) as info:
        rules.validate_registration(preferences, count)
    assert isinstance(info.value, ValueError)


def test_registration_limits_are_inclusive() -> None:
    assert rules.validate_registration("x" * 2000, 20) == ("x" * 2000, 20)
    assert rules.validate_registration("room", 1) == ("room", 1)


def test_unknown_status_filter_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="status_filter"):
        rules.validate_status_filter("done")


@pytest.mark.parametrize("key", ["", "abc", "mk_live_abc", "mk_live_.secret", "sk_live_abc.def", "mk__abc.x"])
def test_malformed_keys_raise_configuration_error_without_echoing_them(key: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        _base.resolve_api_key(key)
    if key:
        assert key not in str(info.value)


def test_key_comes_from_the_environment_when_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QAMERA_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="QAMERA_API_KEY"):
        _base.resolve_api_key(None)
    monkeypatch.setenv("QAMERA_API_KEY", KEY)
    assert _base.resolve_api_key(None) == KEY
    assert key_id_of(KEY) == "abc123"


def test_base_url_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QAMERA_BASE_URL", raising=False)
    assert _base.resolve_base_url(None) == "https://app.qamera.ai"
    monkeypatch.setenv("QAMERA_BASE_URL", "http://127.0.0.1:8000/")
    assert _base.resolve_base_url(None) == "http://127.0.0.1:8000"
    with pytest.raises(ConfigurationError):
        _base.resolve_base_url("ftp://example.test")
    assert _base.origin_of("https://a.test/x") == ("https", "a.test", 443)
    assert _base.origin_of("http://A.test:8080") == ("http", "a.test", 8080)


def test_scenery_parsing_is_tolerant() -> None:
    s = Scenery.from_api(
        {
            "id": "r1",
            "name": "Room",
            "thumbnail": None,
            "status": "done",
            "voting": None,
            "createdAt": "2026-03-20T13:00:00Z",
            "extra": 1,
        }
    )
    assert s.status == "DONE" and s.is_done and s.is_terminal and not s.is_failed
    assert s.created_at == datetime(2026, 3, 20, 13, tzinfo=timezone.utc)
    assert s.raw["extra"] == 1 and s.thumbnail is None
    with_ms = Scenery.from_api({"id": 7, "createdAt": "2026-03-20T13:00:00.123Z", "thumbnail": ""})
    assert with_ms.id == "7" and with_ms.created_at is not None and with_ms.created_at.microsecond == 123000
    assert with_ms.thumbnail is None and with_ms.status == "UNKNOWN" and not with_ms.is_terminal
    odd = Scenery.from_api({"id": "x", "status": "Weird-State", "voting": "APPROVED"})
    assert odd.status == "WEIRD-STATE" and not odd.is_terminal and odd.is_approved
    for terminal in ("FAILED", "error", "Cancelled", "CANCELED", "REJECTED"):
        assert Scenery.from_api({"id": "y", "status": terminal}).is_terminal


def test_body_shape_errors_name_the_field() -> None:
    assert _base.parse_sceneries_body(b'{"sceneries": [{"name": "no id"}], "count": 1}') == []
    with pytest.raises(ResponseFormatError, match="'sceneries'"):
        _base.parse_sceneries_body(b'{"items": []}')
    with pytest.raises(ResponseFormatError, match="createdRecordIds"):
        _base.parse_registration_body(
            b'{"batchId": "b"}',
            preferences="p",
            count=1,
            idempotency_key="k",
            correlation_id=None,
            submitted_at=datetime.now(timezone.utc),
        )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(
        st.sampled_from(["sceneries", "count", "createdRecordIds", "creditsReserved", "batchId"]),
        json_values,
    ).map(lambda v: json.dumps(v).encode()),
    st.lists(
        st.dictionaries(
            st.sampled_from(["id", "name", "thumbnail", "status", "voting", "createdAt"]), json_values
        ),
        max_size=4,
    ).map(lambda items: json.dumps({"sceneries": items, "count": len(items)}).encode()),
)


@settings(max_examples=300, deadline=None)
@given(bodies)
def test_random_bodies_never_escape_as_anything_but_qamera_errors(content: bytes) -> None:
    for parse in (
        _base.parse_sceneries_body,
        lambda c: _base.parse_registration_body(
            c,
            preferences="p",
            count=1,
            idempotency_key="k",
            correlation_id=None,
            submitted_at=datetime.now(timezone.utc),
        ),
    ):
        with contextlib.suppress(QameraError):
            parse(content)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=100, max_value=599), st.binary(max_size=100))
def test_any_error_response_maps_to_an_api_status_error(status: int, content: bytes) -> None:
    err = _base.error_from_response(status, content, None)
    assert isinstance(err, APIStatusError) and err.status_code == status


def test_adaptive_poll_interval_grows_to_five_seconds_and_resets_on_change() -> None:
    interval = None
    seen = []
    for _ in range(8):
        interval = rules.next_poll_interval(interval, changed=False)
        seen.append(interval)
    assert seen[0] == 1.0 and seen[-1] == 5.0 and seen == sorted(seen)
    assert rules.next_poll_interval(5.0, changed=True) == 1.0


@pytest.mark.parametrize("credits", ["Infinity", "NaN", "1e400", "-Infinity"])
def test_non_finite_credits_are_a_format_error(credits: str) -> None:
    content = b'{"createdRecordIds": ["a"], "creditsReserved": ' + credits.encode() + b"}"
    with pytest.raises(ResponseFormatError, match="creditsReserved"):
        _base.parse_registration_body(
            content,
            preferences="p",
            count=1,
            idempotency_key="k",
            correlation_id=None,
            submitted_at=datetime.now(timezone.utc),
        )


def test_text_that_cannot_be_encoded_is_refused_locally() -> None:
    with pytest.raises(InvalidRequestError, match="Unicode"):
        rules.validate_registration("marble \ud800 room", 3)
