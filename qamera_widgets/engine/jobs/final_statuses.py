"""Writing a run's final statuses to the journal without holding up the kernel's loop.

A board calls `FinalsWriter.settle()` where statuses change (never from drawing). Tracker events arrive
on the kernel's loop, so the write and its fsync go to a worker thread; it is handed over at once, so
closing the board does not stop it. A write the disk refused is logged and the records stay
unjournaled, so a later settle (or `resume()` in a later session) goes back to them.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Mapping

from .journal import Journal
from .runs import Run, record_final, settled_finals

__all__ = ["FinalsWriter"]

logger = logging.getLogger(__name__)


class FinalsWriter:
    """One board's journal writes of final statuses, and the ones still in flight."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self.writes: set[asyncio.Future[OSError | None]] = set()

    def settle(self, run: Run, status: Mapping[str, str], base_url: str) -> None:
        """Journal what the server finished of `run`, once per record."""
        final = settled_finals(run, status)
        if not final:
            return
        run.journaled.update(final)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._written(run, final, record_final(self._journal, base_url, final))
            return
        write = loop.run_in_executor(None, record_final, self._journal, base_url, final)
        self.writes.add(write)
        write.add_done_callback(self.writes.discard)
        write.add_done_callback(functools.partial(self._done, run, final))

    async def wait(self) -> None:
        """Until every write handed over so far has finished."""
        if self.writes:
            await asyncio.wait(set(self.writes))

    def _done(self, run: Run, final: Mapping[str, str], done: asyncio.Future[OSError | None]) -> None:
        if not done.cancelled():
            self._written(run, final, done.result())

    def _written(self, run: Run, final: Mapping[str, str], error: OSError | None) -> None:
        if error is not None:
            logger.warning("could not record final statuses in %s: %s", self._journal.path, error)
            run.journaled.difference_update(final)
