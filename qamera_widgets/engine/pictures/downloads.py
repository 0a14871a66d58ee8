"""The loader's downloads: one GET at a time per slot, bounded body, retries with the package's backoff.

A mixin of `engine.pictures.loader.ThumbnailLoader`, kept apart so the loader module stays readable; the
attributes it reads are set by the loader's ``__init__``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx

from ...client.async_client import read_bounded
from ...client.rules import BodyTooLarge, backoff_delay
from .fetching import _FetchFailed, _is_retryable, _Session


class _Downloads:
    """`_download` for `ThumbnailLoader`: counts requests and bytes on the loader's own counters."""

    _timeout: float
    _retries: int
    _retry_backoff: float
    _sleep: Callable[[float], Awaitable[None]]
    _max_bytes: int
    _requests: int
    _bytes_downloaded: int

    async def _download(self, session: _Session, url: str) -> bytes:
        attempt = 0
        while True:
            if session.closed:  # closed by aclose() while this download waited its turn
                raise _FetchFailed("the loader was closed", retryable=False)
            try:
                async with session.downloads:
                    return await asyncio.wait_for(self._download_once(session, url), self._timeout)
            except (_FetchFailed, httpx.HTTPError, asyncio.TimeoutError) as exc:
                if attempt >= self._retries or not _is_retryable(exc):
                    raise
            await self._sleep(backoff_delay(attempt, base=self._retry_backoff))
            attempt += 1

    async def _download_once(self, session: _Session, url: str) -> bytes:
        if session.closed:  # closed by aclose() while this download waited for a slot
            raise _FetchFailed("the loader was closed", retryable=False)
        self._requests += 1
        async with session.client.stream("GET", url) as response:
            if response.status_code >= 500:
                raise _FetchFailed(f"HTTP {response.status_code}", retryable=True)
            if response.status_code != 200:
                raise _FetchFailed(f"HTTP {response.status_code}", retryable=False)
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self._max_bytes:
                raise _FetchFailed(f"Content-Length {declared} over the cap", retryable=False)
            replayed = response.is_stream_consumed  # an in-memory transport handed it over already read
            try:
                # Through the bounded decoder: a gzip bomb stops at the cap instead of expanding a whole
                # network chunk (tens of MB) in memory first.
                return await read_bounded(response, self._max_bytes)
            except BodyTooLarge:
                raise _FetchFailed(f"body over the {self._max_bytes} byte cap", retryable=False) from None
            except ValueError as exc:  # an encoding we did not ask for, or a damaged compressed body
                raise _FetchFailed(str(exc), retryable=False) from None
            finally:
                self._bytes_downloaded += len(response.content) if replayed else response.num_bytes_downloaded
