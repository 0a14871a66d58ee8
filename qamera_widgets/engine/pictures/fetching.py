"""How the picture loader talks to the CDN: which URLs may be fetched, what a request may carry, the
per-event-loop session (client, semaphores, in-flight tasks) and the download itself (one GET at a time per
slot, a bounded body, retries with the package's backoff).

Only `engine.pictures.loader` uses this; the loader owns one `Downloader` and one `Session` per loop.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from ...client.rules import BodyTooLarge, backoff_delay
from ...client.transport import read_bounded
from .imaging import Thumbnail

_CREDENTIAL_HEADERS = ("authorization", "x-api-key", "cookie")


class FetchFailed(Exception):
    """One download attempt failed; ``retryable`` says whether another attempt could help."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.retryable = retryable


@functools.lru_cache(maxsize=4096)  # asked for every load and every request hop: a page asks twice per URL
def fetchable(url: str) -> bool:
    """Only plain http(s) URLs with a host and no userinfo, which httpx would turn into Basic auth."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return False
    return parsed.scheme in ("http", "https") and bool(parsed.host) and not parsed.userinfo


def loggable(url: str) -> str:
    """Scheme, host and path only: CDN URLs may carry signing tokens in the query."""
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.host}{parsed.path}"


async def guard_request(request: httpx.Request) -> None:
    """Runs on every hop, redirects included: a redirect cannot lead to file: or userinfo URLs,
    and nothing can ever put a credential on a CDN request."""
    if not fetchable(str(request.url)):
        raise httpx.UnsupportedProtocol(f"refusing to fetch {request.url.scheme}: URL", request=request)
    for name in _CREDENTIAL_HEADERS:
        request.headers.pop(name, None)


def forget_original(session: Session, url: str, task: asyncio.Task[tuple[bytes, str] | None]) -> None:
    if session.originals.get(url) is task:
        del session.originals[url]


def forget_inflight(session: Session, key: tuple[str, int], task: asyncio.Task[Thumbnail]) -> None:
    if session.inflight.get(key) is task:
        del session.inflight[key]


async def close_session(session: Session) -> None:
    session.closed = True
    for task in [*session.inflight.values(), *session.originals.values()]:
        task.cancel()
    session.inflight.clear()
    session.originals.clear()
    await session.client.aclose()


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, FetchFailed):
        return exc.retryable
    return isinstance(
        exc, (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError, asyncio.TimeoutError)
    )


@dataclass(eq=False)
class Session:
    """What the loader keeps per event loop: these belong to the loop they were made on."""

    client: httpx.AsyncClient
    downloads: asyncio.Semaphore
    prefetches: asyncio.Semaphore
    pixels_freed: asyncio.Condition
    pixels_in_use: int = 0
    inflight: dict[tuple[str, int], asyncio.Task[Thumbnail]] = field(default_factory=dict)
    originals: dict[str, asyncio.Task[tuple[bytes, str] | None]] = field(default_factory=dict)
    closed: bool = False


class Downloader:
    """GETs a picture's bytes for the loader, and counts the requests and bytes it took (the loader's
    `stats()`): each attempt within `timeout` seconds, at most `max_bytes` read, `retries` more attempts
    after a retryable failure, waiting the package's backoff from `retry_backoff` seconds."""

    def __init__(
        self,
        *,
        timeout: float,
        max_bytes: int,
        retries: int,
        retry_backoff: float,
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self.timeout, self.max_bytes, self.retries = timeout, max_bytes, retries
        self.retry_backoff, self.sleep = retry_backoff, sleep
        self.requests = 0
        self.bytes_downloaded = 0

    async def download(self, session: Session, url: str) -> bytes:
        attempt = 0
        while True:
            if session.closed:  # closed by aclose() while this download waited its turn
                raise FetchFailed("the loader was closed", retryable=False)
            try:
                async with session.downloads:
                    return await asyncio.wait_for(self.download_once(session, url), self.timeout)
            except (FetchFailed, httpx.HTTPError, asyncio.TimeoutError) as exc:
                if attempt >= self.retries or not is_retryable(exc):
                    raise
            await self.sleep(backoff_delay(attempt, base=self.retry_backoff))
            attempt += 1

    async def download_once(self, session: Session, url: str) -> bytes:
        if session.closed:  # closed by aclose() while this download waited for a slot
            raise FetchFailed("the loader was closed", retryable=False)
        self.requests += 1
        async with session.client.stream("GET", url) as response:
            if response.status_code >= 500:
                raise FetchFailed(f"HTTP {response.status_code}", retryable=True)
            if response.status_code != 200:
                raise FetchFailed(f"HTTP {response.status_code}", retryable=False)
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise FetchFailed(f"Content-Length {declared} over the cap", retryable=False)
            replayed = response.is_stream_consumed  # an in-memory transport handed it over already read
            try:
                # Through the bounded decoder: a gzip bomb stops at the cap instead of expanding a whole
                # network chunk (tens of MB) in memory first.
                return await read_bounded(response, self.max_bytes)
            except BodyTooLarge:
                raise FetchFailed(f"body over the {self.max_bytes} byte cap", retryable=False) from None
            except ValueError as exc:  # an encoding we did not ask for, or a damaged compressed body
                raise FetchFailed(str(exc), retryable=False) from None
            finally:
                self.bytes_downloaded += len(response.content) if replayed else response.num_bytes_downloaded
