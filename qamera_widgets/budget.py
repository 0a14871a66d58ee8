"""A per-kernel credits budget, so a class sharing one key cannot have one student spend everyone's credits.

`QAMERA_BUDGET` (a whole number of credits) is read here and nowhere else; `kernel_budget()` gives the
one `Budget` of this kernel, or None when the variable is unset. The budget counts what this kernel's
jobs reserved: a job is checked before it is sent, so going over costs nothing, and the credits of
items that fail come back (the server refunds them too).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Mapping

from .client.errors import ConfigurationError, QameraError

BUDGET_ENV = "QAMERA_BUDGET"


class BudgetExceededError(QameraError):
    """A job would take this kernel past its credits budget; raised before anything is sent."""

    def __init__(self, message: str, *, required: int, remaining: int, limit: int) -> None:
        super().__init__(message)
        self.required = required
        self.remaining = remaining
        self.limit = limit


class Budget:
    """At most `limit` credits reserved by this kernel's jobs, minus what failed items gave back."""

    def __init__(self, limit: int) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ValueError(f"A budget is a whole number of credits, 0 or more, not {limit!r}.")
        self.limit = limit
        self._reserved = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Budget(limit={self.limit}, reserved={self._reserved})"

    @property
    def reserved(self) -> int:
        """Credits this kernel's jobs hold or have spent."""
        return self._reserved

    @property
    def remaining(self) -> int:
        return self.limit - self._reserved

    def check(self, credits: int) -> None:
        """Raise `BudgetExceededError` if a job reserving `credits` would go over the budget."""
        remaining = self.remaining
        if credits > remaining:
            raise BudgetExceededError(
                f"This job needs {credits} credits, but only {remaining} of this notebook's "
                f"{self.limit}-credit budget ({BUDGET_ENV}) are left. Ask for fewer sceneries.",
                required=credits,
                remaining=remaining,
                limit=self.limit,
            )

    def reserve(self, credits: int) -> None:
        """Check and book `credits` in one step, so two submissions at once cannot both slip under."""
        with self._lock:
            self.check(credits)
            self._reserved += credits

    def release(self, credits: int) -> None:
        """Give back the credits of items that failed (the server refunded them)."""
        with self._lock:
            self._reserved = max(0, self._reserved - credits)


def budget_from_env(environ: Mapping[str, str] | None = None) -> Budget | None:
    """The budget `QAMERA_BUDGET` names, None when it is unset or blank, a clear error when it is bad."""
    raw = (os.environ if environ is None else environ).get(BUDGET_ENV, "").strip()
    if not raw:
        return None
    try:
        limit = int(raw)
    except ValueError:
        limit = -1
    if limit < 0:
        raise ConfigurationError(
            f"{BUDGET_ENV} must be a whole number of credits, 0 or more (e.g. {BUDGET_ENV}=200), not {raw!r}."
        )
    return Budget(limit)


@functools.cache
def kernel_budget() -> Budget | None:
    """This kernel's one budget, read from the environment on first use and shared by every caller."""
    return budget_from_env()


__all__ = ["BUDGET_ENV", "Budget", "BudgetExceededError", "budget_from_env", "kernel_budget"]
