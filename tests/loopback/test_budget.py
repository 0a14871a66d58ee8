"""Budgets against a sandbox: connect() says the budget and refuses a bad one before starting anything."""

from __future__ import annotations

from typing import Any

import pytest

from qamera_widgets.client.errors import ConfigurationError
from qamera_widgets.connect import connect
from qamera_widgets.engine.jobs.budgets import kernel_budget
from tests.unit.test_budget import fresh_kernel_budget  # noqa: F401 (an autouse fixture)


def test_connect_shows_the_budget_and_refuses_a_bad_one_before_starting_anything(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("QAMERA_API_KEY", sandbox.api_key)
    monkeypatch.setenv("QAMERA_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("QAMERA_BUDGET", "200")
    connection = connect()
    try:
        assert connection.budget is not None and connection.budget is kernel_budget()
        assert connection.budget.limit == 200
        assert "may reserve at most 200 credits (QAMERA_BUDGET)" in capsys.readouterr().out
    finally:
        connection.close()
    kernel_budget.cache_clear()
    monkeypatch.setenv("QAMERA_BUDGET", "plenty")
    with pytest.raises(ConfigurationError, match="QAMERA_BUDGET must be a whole number"):
        connect()
