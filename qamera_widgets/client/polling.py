"""The one poll engine: a list request per tick for a set of record ids, and everything that follows from
its answer, shared by `AsyncQameraClient.watch`/`wait_for` and the widgets' `JobTracker`.

It decides which records changed, how long to wait before the next tick (about 1 s after a change, growing
to 5 s while quiet, the package's one backoff after a failure), which failures are worth retrying, and
how a wait that ran out is reported. The callers only loop: changing the poll rhythm happens here.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Collection, Mapping

from .errors import (
    APIStatusError,
    AuthenticationError,
    ConfigurationError,
    InvalidRequestError,
    RateLimitError,
    WaitTimeoutError,
)
from .models import Scenery
from .rules import backoff_delay, diff_sceneries, next_poll_interval

__all__ = ["Poller", "changes", "duration", "is_permanent", "wait_timeout_error"]

Fetch = Callable[[], Awaitable[list[Scenery]]]


def is_permanent(exc: BaseException) -> bool:
    """Errors another identical request would hit again: retrying only burns the rate limit.

    `ReferenceError` is a client that no longer exists (the tracker holds it weakly)."""
    if isinstance(exc, (AuthenticationError, ConfigurationError, InvalidRequestError, ReferenceError)):
        return True
    return (
        isinstance(exc, APIStatusError)
        and not isinstance(exc, RateLimitError)
        and 400 <= exc.status_code < 500
    )


def duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


def wait_timeout_error(
    waited: float, finished: int, total: int, snapshot: Mapping[str, object]
) -> WaitTimeoutError:
    """The one way a wait that ran out is reported, by the client and by the tracker alike."""
    return WaitTimeoutError(
        f"Waited {duration(waited)}: {finished} of {total} records finished. The rest keep running on the "
        "server; wait again to keep watching.",
        snapshot=dict(snapshot),
    )


def changes(
    known: Mapping[str, Scenery], listed: list[Scenery], ids: Collection[str]
) -> tuple[dict[str, Scenery], dict[str, Scenery]]:
    """(the watched records in this tick's list, those of them new or changed since `known`)."""
    current = {s.id: s for s in listed if s.id in ids}
    return current, diff_sceneries(known, current)


class Poller:
    """Polls through `fetch` and keeps the rhythm. `poll_interval` fixes the quiet interval; by default it
    adapts. `failures` counts the failed ticks in a row, which the backoff grows with."""

    def __init__(self, fetch: Fetch, *, poll_interval: float | None = None, rng: random.Random | None = None):
        self._fetch = fetch
        self.poll_interval = poll_interval
        self._rng = rng or random.Random()
        self._interval: float | None = None
        self.failures = 0

    async def tick(self) -> tuple[list[Scenery], bool]:
        """One list request: (the whole list, whether it ended a run of failures). Raises what `fetch`
        raised, after counting it."""
        try:
            listed = await self._fetch()
        except Exception:
            self.failures += 1
            raise
        recovered, self.failures = self.failures > 0, 0
        return listed, recovered

    def quiet_delay(self, changed: bool) -> float:
        """Seconds to the next tick after a successful one."""
        self._interval = self.poll_interval or next_poll_interval(self._interval, changed)
        return self._interval

    def failure_delay(self) -> float:
        """Seconds to the next tick after a failed one: the package's backoff, by failures in a row."""
        return backoff_delay(self.failures - 1, self._rng)

    def restart(self) -> None:
        """New records to watch: the next quiet interval starts short again."""
        self._interval = None
