"""Credits budgets: one per kernel, and one for a whole key that every kernel on it shares.

`QAMERA_BUDGET` (a whole number of credits) caps what this kernel's jobs reserve; `kernel_budget()` gives
that one `Budget`, or None when the variable is unset. A reload starts a new kernel and so a new
`QAMERA_BUDGET`: what caps a class is `QAMERA_KEY_BUDGET`, the credits all kernels on the key together
may reserve from the moment it is first set, kept where every kernel sees it (Redis in class mode, else
the local store) so no reload resets it (`KeyBudget`, see `engine.jobs.key_budget`).

A job is checked before it is sent, so going over costs nothing. Credits come back only for what this
kernel reserved (`claim` then `give_back`: another student's failed items are not yours to spend) and a
job whose answer was lost keeps its reservation until it is known.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from ...client.errors import ConfigurationError, QameraError

BUDGET_ENV = "QAMERA_BUDGET"
KEY_BUDGET_ENV = "QAMERA_KEY_BUDGET"


class BudgetExceededError(QameraError):
    """A job would take this kernel past its credits budget; raised before anything is sent."""

    def __init__(self, message: str, *, required: int, remaining: int, limit: int) -> None:
        super().__init__(message)
        self.required = required
        self.remaining = remaining
        self.limit = limit


class Budget:
    """At most `limit` credits reserved by this kernel's jobs, minus what failed items gave back."""

    def __init__(self, limit: int, *, key: KeyBudget | None = None) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ValueError(f"A budget is a whole number of credits, 0 or more, not {limit!r}.")
        self.limit = limit
        self.key = key
        """The whole key's budget this one also books in, when `QAMERA_KEY_BUDGET` is set."""
        self._reserved = 0
        self._lock = threading.Lock()
        self._own: set[str] = set()
        self._given_back: set[str] = set()

    def __repr__(self) -> str:
        return f"Budget(limit={self.limit}, reserved={self._reserved})"

    @property
    def reserved(self) -> int:
        """Credits this kernel's jobs hold or have spent."""
        return self._reserved

    @property
    def remaining(self) -> int:
        own = self.limit - self._reserved
        return own if self.key is None else min(own, self.key.remaining)

    def check(self, credits: int) -> None:
        """Raise `BudgetExceededError` if a job reserving `credits` would go over the budget."""
        if self.key is not None:
            self.key.check(credits)
        remaining = self.limit - self._reserved
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
            if self.key is not None:
                self.key.reserve(credits)  # atomic across kernels; raises when the key's budget is spent
            self._reserved += credits

    def release(self, credits: int) -> None:
        """Give back credits this kernel reserved for something never charged (a job refused or unsent)."""
        with self._lock:
            self._reserved = max(0, self._reserved - credits)
            if self.key is not None:
                self.key.release(credits)

    def claim(self, record_ids: Iterable[str]) -> None:
        """Note the records of a job this kernel reserved for: only theirs can be given back."""
        with self._lock:
            self._own.update(record_ids)

    def give_back(self, record_ids: Iterable[str], price: Callable[[int], int]) -> int:
        """Release `price(n)` for the n failed records that are this kernel's own and not yet given back;
        records of other kernels (runs loaded from a shared journal) are ignored. Returns the credits."""
        with self._lock:
            mine = [i for i in dict.fromkeys(record_ids) if i in self._own and i not in self._given_back]
            self._given_back.update(mine)
        credits = price(len(mine)) if mine else 0
        if credits:
            self.release(credits)
        return credits


class KeyLedger(Protocol):
    """Where a key's reservations are counted for every kernel: `book(credits, limit)` adds `credits`
    (negative gives back) unless the total would pass `limit`; it answers (booked, total reserved)."""

    def book(self, credits: int, limit: int) -> tuple[bool, int]: ...


class KeyBudget:
    """At most `limit` credits reserved by all kernels on one key together (`QAMERA_KEY_BUDGET`), counted
    in a `KeyLedger` that outlives every kernel."""

    def __init__(self, limit: int, ledger: KeyLedger) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ValueError(f"A key budget is a whole number of credits, 0 or more, not {limit!r}.")
        self.limit = limit
        self._ledger = ledger

    def __repr__(self) -> str:
        return f"KeyBudget(limit={self.limit})"

    @property
    def reserved(self) -> int:
        return self._ledger.book(0, self.limit)[1]

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.reserved)

    def _refusal(self, credits: int, reserved: int) -> BudgetExceededError:
        remaining = max(0, self.limit - reserved)
        return BudgetExceededError(
            f"This job needs {credits} credits, but only {remaining} of this key's {self.limit}-credit "
            f"budget ({KEY_BUDGET_ENV}, shared by every notebook on the key) are left. Ask for fewer "
            "sceneries, or ask your teacher.",
            required=credits,
            remaining=remaining,
            limit=self.limit,
        )

    def check(self, credits: int) -> None:
        reserved = self.reserved
        if reserved + credits > self.limit:
            raise self._refusal(credits, reserved)

    def reserve(self, credits: int) -> None:
        booked, reserved = self._ledger.book(credits, self.limit)
        if not booked:
            raise self._refusal(credits, reserved)

    def release(self, credits: int) -> None:
        if credits > 0:
            self._ledger.book(-credits, self.limit)


def credits_from_env(name: str, environ: Mapping[str, str] | None = None) -> int | None:
    """The whole number of credits in variable `name`, None when unset or blank, a clear error when bad."""
    raw = (os.environ if environ is None else environ).get(name, "").strip()
    if not raw:
        return None
    try:
        limit = int(raw)
    except ValueError:
        limit = -1
    if limit < 0:
        raise ConfigurationError(
            f"{name} must be a whole number of credits, 0 or more (e.g. {name}=200), not {raw!r}."
        )
    return limit


def budget_from_env(environ: Mapping[str, str] | None = None) -> Budget | None:
    """The budget `QAMERA_BUDGET` names, None when it is unset or blank, a clear error when it is bad."""
    limit = credits_from_env(BUDGET_ENV, environ)
    return None if limit is None else Budget(limit)


@functools.cache
def kernel_budget() -> Budget | None:
    """This kernel's one budget, read from the environment on first use and shared by every caller."""
    return budget_from_env()


__all__ = [
    "BUDGET_ENV",
    "KEY_BUDGET_ENV",
    "Budget",
    "BudgetExceededError",
    "KeyBudget",
    "KeyLedger",
    "budget_from_env",
    "credits_from_env",
    "kernel_budget",
]
