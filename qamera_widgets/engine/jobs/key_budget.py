"""Where `QAMERA_KEY_BUDGET` is counted: one total per key for every kernel on it, in Redis when class
mode is on (`QAMERA_REDIS_URL`), else in the local store's SQLite file (every Voilà page of a class runs
on the teacher's machine, so every kernel sees the same file). Neither is reset by a reload.

When Redis cannot be used the total is booked in the local store meanwhile: kernels on this machine still
share one count, and the budget never stops counting because Redis went away.
"""

from __future__ import annotations

import hashlib
import logging

from ...runtime.coordination import ClassModeOff, coordinator, key_namespace
from ...runtime.registry import ProcessWide
from ..store import open_store
from .budgets import KEY_BUDGET_ENV, Budget, KeyBudget, credits_from_env, kernel_budget

__all__ = ["KeyLedgerOnRedisOrStore", "budget_for", "forget_budgets"]

logger = logging.getLogger(__name__)


class KeyLedgerOnRedisOrStore:
    """The `KeyLedger` of one server and key id: Redis in class mode, else (or while Redis fails) the
    local store. Only the public key id names it, never the key."""

    def __init__(self, base_url: str, key_id: str) -> None:
        self.base_url, self.key_id = base_url, key_id
        digest = hashlib.sha256(f"{base_url}\n{key_id}".encode()).hexdigest()[:32]
        self._scope = f"key-budget:{digest}"

    def book(self, credits: int, limit: int) -> tuple[bool, int]:
        shared = coordinator()
        if shared is not None:
            try:
                return shared.book_credits(key_namespace(self.base_url, self.key_id), limit, credits)
            except ClassModeOff:
                logger.info("the key budget is counted in the local store while Redis is unavailable")
        return open_store().book_credits(self._scope, limit, credits)


def _make(where: tuple[str, str]) -> Budget | None:
    base_url, key_id = where
    key_limit = credits_from_env(KEY_BUDGET_ENV)
    own = kernel_budget()
    if key_limit is None:
        return own
    key = KeyBudget(key_limit, KeyLedgerOnRedisOrStore(base_url, key_id))
    if own is None:
        return Budget(key_limit, key=key)
    own.key = key
    return own


_budgets: ProcessWide[tuple[str, str], Budget | None] = ProcessWide(_make)
"""One budget per server and key in this kernel: every Studio and form on the key books in the same one,
so two Studios in a notebook cannot each spend a kernel's budget."""


def budget_for(base_url: str, key_id: str | None) -> Budget | None:
    """This kernel's budget for a server and key: `QAMERA_BUDGET`, with `QAMERA_KEY_BUDGET` on top when
    it is set; None when neither is."""
    if credits_from_env(KEY_BUDGET_ENV) is None:
        return kernel_budget()
    return _budgets[(base_url, key_id or "")]


def forget_budgets() -> None:
    """Start over (tests, or a changed environment): the next `budget_for` reads the variables again."""
    _budgets.clear()
