"""The per-kernel credits budget (`QAMERA_BUDGET`): a job that would go over is refused before it is sent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from qamera_widgets.client.errors import ConfigurationError, QameraError
from qamera_widgets.engine.jobs.budgets import Budget, BudgetExceededError, budget_from_env, kernel_budget


@pytest.fixture(autouse=True)
def fresh_kernel_budget() -> Iterator[None]:
    kernel_budget.cache_clear()
    yield
    kernel_budget.cache_clear()


def test_a_job_within_the_budget_is_booked_and_the_rest_remains() -> None:
    budget = Budget(200)
    budget.reserve(40)
    budget.reserve(160)
    assert (budget.reserved, budget.remaining) == (200, 0)


def test_a_job_over_the_budget_is_refused_with_a_sentence_and_books_nothing() -> None:
    budget = Budget(200)
    budget.reserve(170)
    with pytest.raises(BudgetExceededError) as refused:
        budget.reserve(40)
    assert str(refused.value) == (
        "This job needs 40 credits, but only 30 of this notebook's 200-credit budget (QAMERA_BUDGET) "
        "are left. Ask for fewer sceneries."
    )
    assert (refused.value.required, refused.value.remaining, refused.value.limit) == (40, 30, 200)
    assert isinstance(refused.value, QameraError)
    assert budget.reserved == 170


def test_check_alone_books_nothing() -> None:
    budget = Budget(50)
    budget.check(50)
    assert budget.remaining == 50
    with pytest.raises(BudgetExceededError):
        budget.check(60)


def test_credits_of_failed_items_come_back_but_never_below_zero() -> None:
    budget = Budget(100)
    budget.reserve(100)
    budget.release(30)
    assert budget.remaining == 30
    budget.release(500)
    assert (budget.reserved, budget.remaining) == (0, 100)


@pytest.mark.parametrize("limit", [-1, 1.5, True, "200"])
def test_a_budget_is_a_whole_number_of_credits(limit: Any) -> None:
    with pytest.raises(ValueError, match="whole number of credits"):
        Budget(limit)


@pytest.mark.parametrize(("raw", "limit"), [("200", 200), (" 40 ", 40), ("0", 0), ("1_000", 1000)])
def test_qamera_budget_is_read_as_credits(raw: str, limit: int) -> None:
    budget = budget_from_env({"QAMERA_BUDGET": raw})
    assert budget is not None and budget.limit == limit


@pytest.mark.parametrize("raw", ["", "  "])
def test_no_qamera_budget_means_no_budget(raw: str) -> None:
    assert budget_from_env({"QAMERA_BUDGET": raw}) is None
    assert budget_from_env({}) is None


@pytest.mark.parametrize("raw", ["lots", "-5", "200.0", "2e2"])
def test_a_bad_qamera_budget_says_what_is_expected(raw: str) -> None:
    with pytest.raises(ConfigurationError) as bad:
        budget_from_env({"QAMERA_BUDGET": raw})
    assert str(bad.value) == (
        f"QAMERA_BUDGET must be a whole number of credits, 0 or more (e.g. QAMERA_BUDGET=200), not {raw!r}."
    )


def test_the_kernel_has_one_budget_shared_by_every_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QAMERA_BUDGET", "200")
    first = kernel_budget()
    assert first is not None
    first.reserve(50)
    assert kernel_budget() is first and first.remaining == 150
