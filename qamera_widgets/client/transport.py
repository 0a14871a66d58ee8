"""How the async client meets httpx: the key only for the API's origin, bounded reads, how a failed
attempt is classified, the options both clients take, and `QAMERA_LOG`. No request logic: that is
`_base` (decisions) and `async_client` (the calls)."""

from __future__ import annotations

import functools
import logging
import os
import random
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypedDict

import httpx

from . import _base, rules
from ._base import AttemptOutcome

__all__ = [
    "Answer",
    "ClientOptions",
    "DeadlinePassed",
    "Sleep",
    "classify",
    "close_pool",
    "configure_logging_from_env",
    "describe",
    "key_only_to_origin",
    "read_bounded",
    "tls_context",
]

_LOG_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}


def configure_logging_from_env() -> None:
    """`QAMERA_LOG=info` should show something in a notebook, where no handler is configured.

    Asked for by setting the variable; applied when a client is made, never at import, and a handler is
    added only when the package's logger has none, so an application's own logging setup wins.
    """
    level = _LOG_LEVELS.get(os.environ.get("QAMERA_LOG", "").strip().lower())
    if level is None:
        return
    package_logger = logging.getLogger("qamera_widgets")
    package_logger.setLevel(level)
    if not package_logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        package_logger.addHandler(handler)


Sleep = Callable[[float], Awaitable[Any]]


class ClientOptions(TypedDict, total=False):
    """How a client talks to the server, beside its key and base URL. Both clients take these as keywords
    (`QameraClient` hands them to its `AsyncQameraClient` unchanged), so a new option is added here once."""

    timeout: float  # seconds for a whole call, retries included (default 30)
    max_retries: int  # attempts after the first, for what is safe to retry (default 3)
    rate_limit_per_minute: int | None  # client-side pacing per key; None turns it off (default: the API's)
    transport: httpx.AsyncBaseTransport | None  # for tests: an httpx transport instead of the network
    sleep: Sleep | None  # for tests: how to wait between attempts (default asyncio.sleep)
    clock: Callable[[], float]  # for tests: monotonic seconds (default time.monotonic)
    rng: random.Random | None  # for tests: the backoff's jitter


def tls_context() -> ssl.SSLContext:
    """The certificate store every httpx client of the package verifies with, read once per process: httpx
    reads certifi's bundle again for each client, about 40 ms each, and a first gallery makes two (the
    API's pool and the thumbnail loader's). Made by httpx as for its own clients, and again whenever
    SSL_CERT_FILE or SSL_CERT_DIR changes (httpx reads them), so what is trusted does not change."""
    return _tls_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _tls_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    return httpx.create_ssl_context()


def classify(exc: httpx.HTTPError) -> AttemptOutcome:
    """Whether the server can have seen the request: only a failed connect proves it did not."""
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        return AttemptOutcome.CONNECT_FAILED
    if isinstance(exc, httpx.TimeoutException):
        return AttemptOutcome.TIMEOUT
    return AttemptOutcome.BROKEN


def key_only_to_origin(key_source: Callable[[], str], origin: tuple[str, str, int]) -> Any:
    """A request hook that attaches the key for the API's own origin and strips it everywhere else.

    A hook rather than an `httpx.Auth`: httpx copies custom headers onto redirects, and hooks run for
    every request actually sent, redirects included.
    """

    async def hook(request: httpx.Request) -> None:
        if _base.origin_of(str(request.url)) == origin:
            request.headers["X-Api-Key"] = key_source()
        else:
            request.headers.pop("X-Api-Key", None)
            request.headers.pop("Authorization", None)

    return hook


@dataclass(frozen=True)
class Answer:
    """A response read in full (within the size cap) before the connection went back to the pool."""

    status_code: int
    headers: httpx.Headers
    content: bytes


async def close_pool(pool: httpx.AsyncClient) -> None:
    if not pool.is_closed:
        await pool.aclose()


class DeadlinePassed(Exception):
    """The call's overall deadline passed while an attempt was still sending or reading."""


def describe(client: Any) -> str:
    """The one repr of either client (anything with `base_url` and `key_id`): where it talks to and the
    key's public id, never the key."""
    return f"{type(client).__name__}(base_url={client.base_url!r}, key_id={client.key_id!r})"


async def read_bounded(response: httpx.Response, limit: int) -> bytes:
    """The body of a response sent with `stream=True`, decoded by `rules.BoundedDecoder` so it never
    holds more than `limit` decoded bytes. The API client and the thumbnail loader both read this way.

    Raises `rules.BodyTooLarge` past the limit, `rules.UnsupportedEncoding` for an encoding not asked for
    (`rules.ACCEPT_ENCODING`), and ValueError for a damaged compressed body.
    """
    if response.is_stream_consumed:
        # Handed over already read (an in-memory transport replaying one response): as it is, capped.
        if len(response.content) > limit:
            raise rules.BodyTooLarge(f"the answer is larger than {rules.size_text(limit)}")
        return response.content
    decoder = rules.BoundedDecoder(response.headers.get("Content-Encoding", ""), limit)
    async for chunk in response.aiter_raw():
        decoder.feed(chunk)
    return decoder.result()
