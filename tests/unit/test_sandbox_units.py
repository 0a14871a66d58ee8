"""The sandbox's pure pieces, without a server: ledger arithmetic, validation, the limiter, the worker's
plan, the store's transactions, and the renderer."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from qamera_widgets.contract import parse_key, price_for
from qamera_widgets.sandbox import store as store_module
from qamera_widgets.sandbox.app import (
    ApiError,
    format_timestamp,
    parse_register_body,
    parse_status_filter,
)
from qamera_widgets.sandbox.ledger import InsufficientCredits, Ledger, reserve, settle
from qamera_widgets.sandbox.render import SIZE, look_for, render_key, render_scenery
from qamera_widgets.sandbox.server import library_items
from qamera_widgets.sandbox.state import Faults, SlidingWindowLimiter
from qamera_widgets.sandbox.store import IDEMPOTENCY_TTL_MS, IdempotencyConflict, Store
from qamera_widgets.sandbox.worker import plan_item


def test_reserve_moves_available_to_reserved() -> None:
    assert reserve(Ledger(100), 30) == Ledger(available=70, reserved=30)


def test_reserve_refuses_more_than_available_with_both_numbers() -> None:
    with pytest.raises(InsufficientCredits) as caught:
        reserve(Ledger(20), 50)
    assert str(caught.value) == "Insufficient credits. Required: 50, available: 20."


def test_settle_consumes_on_success_and_refunds_on_failure() -> None:
    ledger = Ledger(available=70, reserved=30)
    assert settle(ledger, 10, succeeded=True) == Ledger(70, 20, 10, 0)
    assert settle(ledger, 10, succeeded=False) == Ledger(80, 20, 0, 10)


def test_settle_refuses_more_than_reserved() -> None:
    with pytest.raises(ValueError):
        settle(Ledger(100, 5), 10, succeeded=True)


@given(st.lists(st.tuples(st.integers(1, 20), st.lists(st.booleans(), max_size=20)), max_size=15))
def test_ledger_total_never_changes(batches: list[tuple[int, list[bool]]]) -> None:
    ledger = Ledger(1000)
    for count, outcomes in batches:
        try:
            ledger = reserve(ledger, price_for(count))
        except InsufficientCredits:
            continue
        for succeeded in outcomes[:count]:
            ledger = settle(ledger, 10, succeeded=succeeded)
        assert ledger.available + ledger.reserved + ledger.consumed == 1000
        assert min(ledger.as_dict().values()) >= 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "Request body must be a JSON object."),
        ("x", "Request body must be a JSON object."),
        ({}, "'preferences' is required."),
        ({"preferences": None}, "'preferences' is required."),
        ({"preferences": 5}, "'preferences' must be a string."),
        ({"preferences": "   \n"}, "'preferences' must not be blank."),
        ({"preferences": "x" * 2001}, "'preferences' must be at most 2000 characters."),
        ({"preferences": "a", "count": "3"}, "'count' must be an integer."),
        ({"preferences": "a", "count": True}, "'count' must be an integer."),
        ({"preferences": "a", "count": 5.5}, "'count' must be an integer."),
        ({"preferences": "a", "count": None}, "'count' must be an integer."),
        ({"preferences": "a", "count": 0}, "'count' must be at least 1."),
        ({"preferences": "a", "count": 21}, "'count' must be at most 20."),
    ],
)
def test_register_body_errors_name_the_field(body: object, message: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_register_body(body)
    assert (caught.value.status, caught.value.message) == (400, message)


def test_register_body_defaults_count_to_ten_and_keeps_limits_inclusive() -> None:
    assert parse_register_body({"preferences": "white marble"}) == ("white marble", 10)
    assert parse_register_body({"preferences": "x" * 2000, "count": 20})[1] == 20
    assert parse_register_body({"preferences": "a", "count": 1, "extra": [1]}) == ("a", 1)
    assert parse_register_body({"preferences": "a", "count": 5.0}) == ("a", 5)


def test_status_filter_accepts_all_and_approved_only() -> None:
    assert parse_status_filter(None) is False
    assert parse_status_filter("all") is False
    assert parse_status_filter("approved") is True
    for bad in ("", "APPROVED", "done"):
        with pytest.raises(ApiError, match="statusFilter"):
            parse_status_filter(bad)


def test_timestamps_are_utc_with_milliseconds() -> None:
    assert format_timestamp(1_773_999_600_007) == "2026-03-20T09:40:00.007Z"


def test_limiter_slides_over_sixty_seconds_and_does_not_count_refusals() -> None:
    now = [0.0]
    limiter = SlidingWindowLimiter(3, clock=lambda: now[0])
    assert limiter.allow("k")
    now[0] = 30.0
    assert [limiter.allow("k") for _ in range(3)] == [True, True, False]
    assert limiter.allow("other")
    now[0] = 59.9
    assert not limiter.allow("k")
    now[0] = 60.0
    assert [limiter.allow("k") for _ in range(2)] == [True, False]
    now[0] = 90.0
    assert [limiter.allow("k") for _ in range(3)] == [True, True, False]


@pytest.mark.parametrize("limit", [None, 0])
def test_limiter_off(limit: int | None) -> None:
    limiter = SlidingWindowLimiter(limit, clock=lambda: 0.0)
    assert all(limiter.allow("k") for _ in range(1000))


def test_faults_reject_bad_values_without_changing_anything() -> None:
    faults = Faults()
    with pytest.raises(ValueError):
        faults.update(api_latency_ms=100, api_error_rate=1.5)
    assert faults.api_latency_ms == 0
    faults.update(api_error_rate=0.5, cdn_latency_ms=None, drop_after_register=2)
    assert (faults.api_error_rate, faults.drop_after_register) == (0.5, 2)
    for bad in ({"drop_after_register": 1.5}, {"cdn_error_rate": True}, {"nope": 1}, {"api_latency_ms": -1}):
        with pytest.raises(ValueError):
            faults.update(**bad)


def test_item_plan_is_fixed_by_seed_and_position() -> None:
    plans = [plan_item(7, seq, failure_rate=0.3, processing_seconds=(1, 4)) for seq in range(200)]
    assert plans == [plan_item(7, seq, failure_rate=0.3, processing_seconds=(1, 4)) for seq in range(200)]
    assert all(1 <= plan.seconds <= 4 for plan in plans)
    failures = sum(not plan.succeeded for plan in plans)
    assert 30 < failures < 90
    assert plans != [plan_item(8, seq, failure_rate=0.3, processing_seconds=(1, 4)) for seq in range(200)]


def test_library_has_approved_pending_and_one_rejected_spread_over_time() -> None:
    items = library_items(12, now=10**13)
    votes = [item.voting for item in items]
    assert votes.count("REJECTED") == 1
    assert votes.count("APPROVED") >= 5 and votes.count("PENDING") >= 3
    assert len({item.prompt for item in items}) == 12
    assert sorted((item.created_ms for item in items), reverse=True) == [item.created_ms for item in items]
    assert items[0].created_ms - items[-1].created_ms > 24 * 3600_000
    assert len({(item.prompt, item.name) for item in library_items(200, now=10**13)}) == 200


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "s.sqlite3")
    yield opened
    opened.close()


def test_keys_are_stored_hashed_and_checked(store: Store, tmp_path: Path) -> None:
    account = store.create_account(100, origin="start")
    key = store.issue_key(account, ["content.register"])
    parts = parse_key(key)
    assert parts is not None
    key_id, secret = parts.key_id, parts.secret
    assert store.authenticate(key) is not None
    assert store.authenticate(f"mk_live_{key_id}.wrong") is None
    assert store.authenticate("mk_live_unknown.secret") is None
    assert secret.encode() not in (tmp_path / "s.sqlite3").read_bytes()
    store.revoke_key(key_id)
    assert store.authenticate(key) is None
    expired = store.issue_key(account, [], expires_ms=1)
    assert store.authenticate(expired) is None


def test_register_writes_nothing_when_credits_are_short(store: Store) -> None:
    account = store.create_account(25, origin="start")
    with pytest.raises(InsufficientCredits):
        store.register(account, "white", 3)
    assert store.list_sceneries(account) == []
    assert store.ledger(account) == Ledger(25)


def test_idempotent_register_replays_and_conflicts(store: Store) -> None:
    account = store.create_account(1000, origin="start")
    first, replayed = store.register(account, "white", 2, idempotency=("k1", "hash-a"))
    again, replayed_again = store.register(account, "white", 2, idempotency=("k1", "hash-a"))
    assert (replayed, replayed_again) == (False, True)
    assert again == first
    with pytest.raises(IdempotencyConflict):
        store.register(account, "black", 2, idempotency=("k1", "hash-b"))
    assert store.ledger(account) == Ledger(980, 20)


def test_claim_finish_and_requeue_keep_the_ledger_exact(store: Store) -> None:
    account = store.create_account(1000, origin="start")
    store.register(account, "white", 3)
    first, second = store.claim_next(), store.claim_next()
    assert first is not None and second is not None and first.status == "PROCESSING"
    assert store.finish(first.id, succeeded=True)
    assert not store.finish(first.id, succeeded=False)
    assert store.requeue_unfinished() == 1
    assert store.ledger(account) == Ledger(970, 20, 10, 0)
    assert store.audit(account) == []
    while (item := store.claim_next()) is not None:
        store.finish(item.id, succeeded=False)
    assert store.ledger(account) == Ledger(990, 0, 10, 20)
    assert store.audit(account) == []


def test_look_follows_prompt_words() -> None:
    assert look_for("white marble").material == "marble"
    assert look_for("oak wood").material == "wood"
    assert look_for("raw concrete").wall_texture == "concrete"
    assert look_for("beach").sea and look_for("forest").foliage
    assert look_for("neon").neon is not None
    assert look_for("night").brightness < look_for("day").brightness
    assert sum(look_for("pastel blue").wall) > sum(look_for("blue").wall)


def test_render_is_a_deterministic_768_jpeg() -> None:
    data = render_scenery("white marble studio", 0)
    image = Image.open(io.BytesIO(data))
    assert (image.format, image.size) == ("JPEG", (SIZE, SIZE))
    assert render_scenery("white marble studio", 0) == data
    assert render_key("white marble studio", 0) != render_key("white marble studio", 1)


def _mean_colour(data: bytes) -> tuple[float, ...]:
    image = Image.open(io.BytesIO(data)).convert("RGB").resize((1, 1), Image.Resampling.BOX)
    return tuple(float(c) for c in image.getpixel((0, 0)))  # type: ignore[union-attr]


def test_different_prompts_look_visibly_different() -> None:
    means = {
        prompt: _mean_colour(render_scenery(prompt, 0))
        for prompt in ("white marble", "neon night", "forest moss", "beach sand", "walnut wood")
    }
    values = list(means.values())
    for i, first in enumerate(values):
        for second in values[i + 1 :]:
            assert sum(abs(a - b) for a, b in zip(first, second, strict=True)) > 20, means


def test_idempotency_keys_expire_after_24_hours(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    account = store.create_account(1000, origin="start")
    first, _ = store.register(account, "white", 1, idempotency=("k", "h"))
    real_now = store_module.now_ms
    monkeypatch.setattr(store_module, "now_ms", lambda: real_now() + IDEMPOTENCY_TTL_MS + 1)
    later, replayed = store.register(account, "white", 1, idempotency=("k", "h"))
    assert not replayed and later["batchId"] != first["batchId"]
