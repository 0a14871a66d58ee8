"""The synchronous facade: the async client driven from plain code and from Jupyter cells."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterable, Iterator
from typing import Any, TypeVar

from ._base import DEFAULT_COUNT
from .async_client import AsyncQameraClient, UpdateCallback
from .models import Registration, Scenery

__all__ = ["QameraClient"]

T = TypeVar("T")

def _allow_nesting(loop: asyncio.AbstractEventLoop) -> None:
    """Let a cell block on a coroutine while the kernel's loop keeps running its other tasks.

    Applied lazily, once per loop, and never at import, so merely importing the package does not
    patch the user's asyncio.
    """
    if getattr(loop, "_nest_patched", False):
        return
    import nest_asyncio2

    nest_asyncio2.apply(loop)


class QameraClient:
    """Blocking twin of `AsyncQameraClient` with the same methods; widgets use `.async_client`."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 3,
        rate_limit_per_minute: int | None = 60,
        **options: Any,
    ) -> None:
        self.async_client = AsyncQameraClient(
            api_key,
            base_url,
            timeout=timeout,
            max_retries=max_retries,
            rate_limit_per_minute=rate_limit_per_minute,
            **options,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.RLock()

    @property
    def base_url(self) -> str:
        return self.async_client.base_url

    @property
    def key_id(self) -> str | None:
        return self.async_client.key_id

    def __repr__(self) -> str:
        return f"QameraClient(base_url={self.base_url!r}, key_id={self.key_id!r})"

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not None:
            _allow_nesting(running)
            return running.run_until_complete(coro)
        with self._lock:
            # One persistent private loop: the connection pool survives between calls.
            if self._loop is None or self._loop.is_closed():
                self._loop = asyncio.new_event_loop()
            return self._loop.run_until_complete(coro)

    def list_sceneries(self, status_filter: str = "all") -> list[Scenery]:
        return self._run(self.async_client.list_sceneries(status_filter))

    def register_ideas(
        self, preferences: str, count: int = DEFAULT_COUNT, *, idempotency_key: str | None = None
    ) -> Registration:
        return self._run(
            self.async_client.register_ideas(preferences, count, idempotency_key=idempotency_key)
        )

    def wait_for(
        self,
        registration_or_ids: Registration | Iterable[str] | str,
        timeout: float = 600.0,
        poll_interval: float | None = None,
        on_update: UpdateCallback | None = None,
    ) -> list[Scenery]:
        return self._run(
            self.async_client.wait_for(
                registration_or_ids, timeout=timeout, poll_interval=poll_interval, on_update=on_update
            )
        )

    def watch(
        self,
        ids: Registration | Iterable[str] | str,
        *,
        poll_interval: float | None = None,
        timeout: float | None = None,
    ) -> Iterator[dict[str, Scenery]]:
        updates = self.async_client.watch(ids, poll_interval=poll_interval, timeout=timeout)
        try:
            while True:
                try:
                    yield self._run(updates.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            self._run(updates.aclose())

    def close(self) -> None:
        self._run(self.async_client.aclose())
        with self._lock:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.close()
            self._loop = None

    def __enter__(self) -> QameraClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
