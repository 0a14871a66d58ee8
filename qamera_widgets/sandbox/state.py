"""The sandbox's in-memory state beside the store: settings, injected faults, counters and the rate limiter.

These live only as long as the process; everything that must survive a restart is in the store.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from ..contract import RATE_WINDOW_SECONDS, SlidingWindow
from .store import Store


def _fault(unit: Literal["share", "ms", "count"], what: str) -> Any:
    """A fault that is off (0) until set; `unit` is how `Faults.update` checks a new value."""
    return field(default=0 if unit == "count" else 0.0, metadata={"unit": unit, "what": what})


@dataclass
class Faults:
    """What can go wrong on purpose, each off until set (`sandbox.start(...)`, `set_faults`, or
    `POST /sandbox/faults`)."""

    api_error_rate: float = _fault("share", "of API requests answered 500 before anything is done")
    api_latency_ms: float = _fault("ms", "added before every API answer")
    cdn_error_rate: float = _fault("share", "of CDN requests answered 500")
    cdn_latency_ms: float = _fault("ms", "added before every CDN answer")
    drop_after_register: int = _fault("count", "register responses still to cut off after the job is saved")

    def update(self, **changes: float | int | None) -> None:
        """Apply the changes that are not None, after checking all of them, so a bad one changes nothing."""
        units = {f.name: f.metadata["unit"] for f in fields(self)}
        checked: dict[str, float | int] = {}
        for name, value in changes.items():
            if name not in units:
                raise ValueError(f"Unknown fault {name!r}.")
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{name!r} must be a number.")
            if units[name] == "share" and not 0.0 <= value <= 1.0:
                raise ValueError(f"{name!r} must be between 0 and 1.")
            if units[name] == "count" and value != int(value):
                raise ValueError(f"{name!r} must be an integer.")
            if value < 0:
                raise ValueError(f"{name!r} must not be negative.")
            checked[name] = int(value) if units[name] == "count" else float(value)
        for name, value in checked.items():
            setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Stats:
    """Request counters that tests and benchmarks read; `reset()` starts a fresh measurement."""

    api_requests: int = 0
    list_requests: int = 0
    register_requests: int = 0
    registered_batches: int = 0
    idempotent_replays: int = 0
    rate_limited: int = 0
    injected_errors: int = 0
    dropped_connections: int = 0
    cdn_requests: int = 0
    cdn_requests_with_credentials: int = 0
    cdn_renders: int = 0

    def reset(self) -> None:
        for f in fields(self):
            setattr(self, f.name, 0)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class SlidingWindowLimiter:
    """At most `limit` accepted requests per key in any `window` seconds; refused requests are not counted."""

    def __init__(
        self,
        limit: int | None,
        window: float = RATE_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._windows: dict[str, SlidingWindow] = {}

    def allow(self, key: str) -> bool:
        if not self.limit:
            return True
        window = self._windows.setdefault(key, SlidingWindow(self.window))
        return window.admit(self._clock(), self.limit)


@dataclass(frozen=True)
class Settings:
    seed: int
    failure_rate: float
    processing_seconds: tuple[float, float]
    worker_concurrency: int
    data_dir: Path


@dataclass
class SandboxState:
    """Everything the endpoints and the worker share; one per running sandbox."""

    store: Store
    settings: Settings
    admin_token: str
    limiter: SlidingWindowLimiter
    faults: Faults = field(default_factory=Faults)
    stats: Stats = field(default_factory=Stats)
    default_account_id: int = 0
    cdn_port: int = 0
    # None when bound to a wildcard address: thumbnails then follow the host name each caller used.
    cdn_url: str | None = None
    fault_rng: random.Random = field(default_factory=random.Random)
    work_available: asyncio.Event | None = None
    render_locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    @property
    def renders_dir(self) -> Path:
        return self.settings.data_dir / "renders"
