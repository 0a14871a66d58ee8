"""Shared fixtures: a sandbox on loopback with fast processing, and a factory for variants of it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from qamera_widgets.sandbox import Sandbox, start

FAST_SANDBOX: dict[str, Any] = {
    "seed": 1234,
    "processing_seconds": (0.05, 0.2),
    "failure_rate": 0.0,
    # Tests poll far faster than a person; the limiter has its own tests (`make_sandbox(rate_limit=...)`).
    "rate_limit": None,
}


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., Sandbox]]:
    """`make_sandbox(**options)` starts a sandbox (FAST_SANDBOX plus the options); all stop at teardown."""
    started: list[Sandbox] = []

    def make(**options: Any) -> Sandbox:
        handle = start(**{**FAST_SANDBOX, **options})
        started.append(handle)
        return handle

    yield make
    for handle in reversed(started):
        handle.stop()


@pytest.fixture
def sandbox(request: pytest.FixtureRequest, make_sandbox: Callable[..., Sandbox]) -> Sandbox:
    """A fresh sandbox per test; parametrise indirectly with a dict of `start()` options to change it."""
    return make_sandbox(**getattr(request, "param", {}))
