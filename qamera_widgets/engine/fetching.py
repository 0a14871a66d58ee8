"""The thumbnail loader's downloads: which URLs may be fetched, what a request may carry, and the
per-event-loop session (client, semaphores, in-flight tasks).
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass, field

import httpx

from .images import Thumbnail

_CREDENTIAL_HEADERS = ("authorization", "x-api-key", "cookie")


class _FetchFailed(Exception):
    """One download attempt failed; ``retryable`` says whether another attempt could help."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.retryable = retryable


@functools.lru_cache(maxsize=4096)  # asked for every load and every request hop: a page asks twice per URL
def _fetchable(url: str) -> bool:
    """Only plain http(s) URLs with a host and no userinfo, which httpx would turn into Basic auth."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return False
    return parsed.scheme in ("http", "https") and bool(parsed.host) and not parsed.userinfo


def _loggable(url: str) -> str:
    """Scheme, host and path only: CDN URLs may carry signing tokens in the query."""
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.host}{parsed.path}"


async def _guard_request(request: httpx.Request) -> None:
    """Runs on every hop, redirects included: a redirect cannot lead to file: or userinfo URLs,
    and nothing can ever put a credential on a CDN request."""
    if not _fetchable(str(request.url)):
        raise httpx.UnsupportedProtocol(f"refusing to fetch {request.url.scheme}: URL", request=request)
    for name in _CREDENTIAL_HEADERS:
        request.headers.pop(name, None)


def _forget_original(session: _Session, url: str, task: asyncio.Task[tuple[bytes, str] | None]) -> None:
    if session.originals.get(url) is task:
        del session.originals[url]


def _forget_inflight(session: _Session, key: tuple[str, int], task: asyncio.Task[Thumbnail]) -> None:
    if session.inflight.get(key) is task:
        del session.inflight[key]


async def _close_session(session: _Session) -> None:
    session.closed = True
    for task in [*session.inflight.values(), *session.originals.values()]:
        task.cancel()
    session.inflight.clear()
    session.originals.clear()
    await session.client.aclose()


def _is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, _FetchFailed):
        return exc.retryable
    return isinstance(
        exc, (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError, asyncio.TimeoutError)
    )


@dataclass(eq=False)
class _Session:
    """What the loader keeps per event loop: these belong to the loop they were made on."""

    client: httpx.AsyncClient
    downloads: asyncio.Semaphore
    prefetches: asyncio.Semaphore
    pixels_freed: asyncio.Condition
    pixels_in_use: int = 0
    inflight: dict[tuple[str, int], asyncio.Task[Thumbnail]] = field(default_factory=dict)
    originals: dict[str, asyncio.Task[tuple[bytes, str] | None]] = field(default_factory=dict)
    closed: bool = False
