"""The synchronous facade: the async client driven from plain code, worker threads and Jupyter cells."""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from ..runtime import loops
from .async_client import AsyncQameraClient
from .models import Registration, Scenery
from .transport import ClientOptions, describe

if TYPE_CHECKING:  # only in annotations, so Python 3.10 needs no typing_extensions at run time
    from typing_extensions import Unpack

__all__ = ["QameraClient"]

T = TypeVar("T")
P = ParamSpec("P")


def _blocking(
    method: Callable[Concatenate[AsyncQameraClient, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[QameraClient, P], T]:
    """The blocking form of an async client method: the same parameters, defaults and docstring (taken
    from the async method, so they are written once), run to its end by `QameraClient._run`."""

    @functools.wraps(method)
    def blocking(self: QameraClient, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._run(method(self.async_client, *args, **kwargs))

    return blocking


class QameraClient:
    """Blocking twin of `AsyncQameraClient` with the same methods; widgets use `.async_client`.

    Safe to share between threads: a call from a thread without a running loop borrows one of the
    client's private loops (a new one only when all are busy), so calls in different threads run side by
    side instead of queueing behind one lock, and each loop keeps its own connection pool between calls.
    """

    def __init__(
        self, api_key: str | None = None, base_url: str | None = None, **options: Unpack[ClientOptions]
    ) -> None:
        self.async_client = AsyncQameraClient(api_key, base_url, **options)
        self._idle_loops: list[asyncio.AbstractEventLoop] = []
        self._loops_lock = threading.Lock()
        # Bumped by close(): a loop borrowed before it is shut down on return instead of kept.
        self._generation = 0

    @property
    def base_url(self) -> str:
        return self.async_client.base_url

    @property
    def key_id(self) -> str | None:
        return self.async_client.key_id

    def __repr__(self) -> str:
        return describe(self)

    @contextmanager
    def _private_loop(self) -> Iterator[asyncio.AbstractEventLoop]:
        """A loop no other thread runs while this one holds it."""
        with self._loops_lock:
            loop = self._idle_loops.pop() if self._idle_loops else None
            generation = self._generation
        if loop is None:
            loop = asyncio.new_event_loop()
        try:
            yield loop
        finally:
            with self._loops_lock:
                keep = generation == self._generation
                if keep:
                    self._idle_loops.append(loop)
            if not keep:
                self._shut_down(loop)

    def _shut_down(self, loop: asyncio.AbstractEventLoop) -> None:
        if loop.is_closed():
            return
        try:
            loop.run_until_complete(self.async_client._aclose_pool())
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()

    def _run(self, coro: Awaitable[T], loop: asyncio.AbstractEventLoop | None = None) -> T:
        """`coro` to its end: on the caller's running loop, else on `loop` (held by the caller), else on a
        private loop borrowed for the call."""
        return loops.block_on(coro, self._private_loop if loop is None else lambda: nullcontext(loop))

    list_sceneries = _blocking(AsyncQameraClient.list_sceneries)
    register_ideas = _blocking(AsyncQameraClient.register_ideas)
    wait_for = _blocking(AsyncQameraClient.wait_for)

    def watch(
        self,
        ids: Registration | Iterable[str] | str,
        *,
        poll_interval: float | None = None,
        timeout: float | None = None,
    ) -> Iterator[dict[str, Scenery]]:
        updates = self.async_client.watch(ids, poll_interval=poll_interval, timeout=timeout)
        # One loop for the whole iteration, held between steps so another thread cannot run it meanwhile.
        with self._private_loop() as loop:
            try:
                while True:
                    try:
                        yield self._run(updates.__anext__(), loop)
                    except StopAsyncIteration:
                        return
            finally:
                self._run(updates.aclose(), loop)

    def close(self) -> None:
        """Close every connection pool and private loop; calls in flight in other threads finish first on
        their loop, which is then shut down too. The client can still be used afterwards."""
        with self._loops_lock:
            idle, self._idle_loops = self._idle_loops, []
            self._generation += 1
        for loop in idle:
            self._shut_down(loop)
        self._run_closing(self.async_client.aclose())

    def _run_closing(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run `aclose` on the caller's loop, or on a throwaway one (no private loop is left to borrow)."""
        if loops.running_loop() is None:
            asyncio.run(coro)
            return
        self._run(coro)

    def __enter__(self) -> QameraClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
