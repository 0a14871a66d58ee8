"""The asyncio client: a thin I/O layer over the decisions in `_base`."""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import random
import time
import uuid
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any

import httpx

from ..engine import coordination
from . import _base
from ._base import Action, Outcome
from .errors import (
    APIConnectionError,
    APITimeoutError,
    InternalServerError,
    RateLimitError,
    ResponseFormatError,
    SubmissionUnconfirmedError,
    WaitTimeoutError,
)
from .models import Registration, Scenery

__all__ = ["AsyncQameraClient"]

logger = logging.getLogger("qamera_widgets.client")

_LOG_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}


def _configure_logging_from_env() -> None:
    """`QAMERA_LOG=info` should show something in a notebook, where no handler is configured."""
    level = _LOG_LEVELS.get(os.environ.get("QAMERA_LOG", "").strip().lower())
    if level is None:
        return
    package_logger = logging.getLogger("qamera_widgets")
    package_logger.setLevel(level)
    if not package_logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        package_logger.addHandler(handler)


_configure_logging_from_env()

# Errors a poll may outlive: the next tick will likely succeed.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (APIConnectionError, RateLimitError, InternalServerError)

Sleep = Callable[[float], Awaitable[Any]]
UpdateCallback = Callable[[dict[str, Scenery]], Any]


def _classify(exc: httpx.HTTPError) -> Outcome:
    """Whether the server can have seen the request: only a failed connect proves it did not."""
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        return Outcome.CONNECT_FAILED
    if isinstance(exc, httpx.TimeoutException):
        return Outcome.TIMEOUT
    return Outcome.BROKEN


def _key_only_to_origin(key_source: Callable[[], str], origin: tuple[str, str, int]) -> Any:
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


def _close_on_its_loop(client: httpx.AsyncClient, loop: asyncio.AbstractEventLoop | None) -> None:
    """Close a pool left behind on another loop that still runs (a worker thread's), so sockets
    are not leaked; a pool whose loop is gone or idle cannot be closed and is left to the GC."""
    if loop is not None and not loop.is_closed() and loop.is_running() and not client.is_closed:
        asyncio.run_coroutine_threadsafe(client.aclose(), loop)


class AsyncQameraClient:
    """Async client for the Qamera sceneries API.

    The key is read lazily (from `api_key` or `QAMERA_API_KEY`) so a notebook can set the variable
    after import; it is validated before the first request and never shown in reprs or logs.
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 3,
        rate_limit_per_minute: int | None = 60,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more.")
        self._explicit_key = api_key
        self._api_key: str | None = None
        self.base_url = _base.resolve_base_url(base_url)
        self.timeout = timeout
        self.max_retries = max_retries
        self.rate_limit_per_minute = rate_limit_per_minute
        self._transport = transport
        self._sleep: Sleep = sleep or asyncio.sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._origin = _base.origin_of(self.base_url)
        self._scope = "{}://{}:{}".format(*self._origin)
        self._http_client: httpx.AsyncClient | None = None
        self._http_loop: weakref.ref[asyncio.AbstractEventLoop] | None = None

    @property
    def key_id(self) -> str | None:
        """The public id of the key in use (safe to display), or None when no valid key is configured."""
        key = self._api_key or self._explicit_key
        if key is None:
            key = os.environ.get(_base.API_KEY_ENV)
        return _base.key_id_of(key)

    def __repr__(self) -> str:
        return f"AsyncQameraClient(base_url={self.base_url!r}, key_id={self.key_id!r})"

    def _key(self) -> str:
        if self._api_key is None:
            self._api_key = _base.resolve_api_key(self._explicit_key)
        return self._api_key

    def _http(self) -> httpx.AsyncClient:
        """The connection pool for the running loop; rebuilt when the loop changed or closed."""
        loop = asyncio.get_running_loop()
        bound = self._http_loop() if self._http_loop is not None else None
        if self._http_client is None or self._http_client.is_closed or bound is not loop:
            if self._http_client is not None and bound is not loop:
                logger.debug("event loop changed: building a new connection pool")
                _close_on_its_loop(self._http_client, bound)
            self._http_client = httpx.AsyncClient(
                base_url=self.base_url,
                timeout=httpx.Timeout(self.timeout, connect=_base.CONNECT_TIMEOUT),
                event_hooks={"request": [_key_only_to_origin(self._key, self._origin)]},
                transport=self._transport,
                headers={"User-Agent": "qamera-widgets"},
            )
            self._http_loop = weakref.ref(loop)
        return self._http_client

    async def _pace(self) -> None:
        if not self.rate_limit_per_minute:
            return
        limit, key_id = self.rate_limit_per_minute, self.key_id or ""
        delay = coordination.reserve_slot(self._scope, key_id, limit)
        if delay is None:
            delay = _base.shared_window(self._scope, key_id).reserve(self._clock(), limit)
        if delay > 0:
            logger.info("pacing: waiting %.1f s to stay under %d requests/minute", delay,
                        self.rate_limit_per_minute)
            await self._sleep(delay)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        self._key()  # a missing or malformed key fails here, before anything is sent
        is_post = method == "POST"
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        attempt = 0
        while True:
            await self._pace()
            response: httpx.Response | None = None
            failure: httpx.HTTPError | None = None
            try:
                response = await self._http().request(
                    method, path, params=params, json=json_body, headers=headers,
                    follow_redirects=not is_post,
                )
                outcome = Outcome.STATUS
            except httpx.HTTPError as exc:
                failure, outcome = exc, _classify(exc)
            status = response.status_code if response is not None else None
            correlation_id = response.headers.get("X-Correlation-Id") if response is not None else None
            retry_after = (
                _base.parse_retry_after(response.headers.get("Retry-After"))
                if response is not None else None
            )
            decision = _base.decide_retry(
                is_post=is_post, outcome=outcome, status_code=status, attempt=attempt,
                max_retries=self.max_retries, retry_after=retry_after, rng=self._rng,
            )
            logger.info(
                "%s %s -> %s (attempt %d, correlation id %s): %s %s",
                method, path, status if status is not None else type(failure).__name__,
                attempt + 1, correlation_id, decision.action.value, decision.reason,
            )
            if decision.action is Action.RETURN:
                assert response is not None
                return response
            if decision.action is Action.RETRY:
                logger.info("retrying %s %s in %.1f s", method, path, decision.delay)
                await self._sleep(decision.delay)
                attempt += 1
                continue
            if decision.action is Action.UNCONFIRMED:
                raise self._unconfirmed(idempotency_key or "", decision.reason, correlation_id)
            if response is not None:
                raise _base.error_from_response(response.status_code, response.content, correlation_id)
            assert failure is not None
            raise self._connection_error(failure, outcome) from None

    def _connection_error(self, exc: httpx.HTTPError, outcome: Outcome) -> APIConnectionError:
        what = type(exc).__name__
        if outcome is Outcome.TIMEOUT or isinstance(exc, httpx.TimeoutException):
            return APITimeoutError(
                f"{self.base_url} did not answer in time ({what}). Check your connection or raise timeout=."
            )
        return APIConnectionError(
            f"Could not reach {self.base_url} ({what}: {exc}). Check the base URL and your connection."
        )

    @staticmethod
    def _unconfirmed(key: str, reason: str, correlation_id: str | None) -> SubmissionUnconfirmedError:
        trace = f" (correlation id {correlation_id})" if correlation_id else ""
        return SubmissionUnconfirmedError(
            f"The server did not confirm this generation job ({reason}){trace}. It may still have been "
            "created and its credits reserved. Check list_sceneries() before submitting again; to retry "
            f"safely, call register_ideas(..., idempotency_key={key!r}) so a server that honours the key "
            "replays the first job instead of charging twice.",
            idempotency_key=key,
            cause=reason,
        )

    async def list_sceneries(self, status_filter: str = "all") -> list[Scenery]:
        """All sceneries of the account (the API has no pagination). GETs are free and retried.

        With `QAMERA_REDIS_URL` set, one process per key fetches the list per tick and the others read
        that copy, so a class of kernels on one key makes the list calls of one.
        """
        _base.validate_status_filter(status_filter)

        async def fetch() -> bytes:
            response = await self._request("GET", _base.LIST_PATH, params={"statusFilter": status_filter})
            return response.content

        content = await coordination.shared_list(
            self._scope, self.key_id or "", self._key(), status_filter, fetch, tick=_base.POLL_MIN_INTERVAL
        )
        return _base.parse_sceneries_body(content)

    async def register_ideas(
        self,
        preferences: str,
        count: int = _base.DEFAULT_COUNT,
        *,
        idempotency_key: str | None = None,
    ) -> Registration:
        """Register a generation job; reserves `10 * count` credits on the real service.

        Resent only when it certainly registered nothing (connect failure, 429), always with the same
        `Idempotency-Key`. Any other failure raises `SubmissionUnconfirmedError`.
        """
        preferences, count = _base.validate_registration(preferences, count)
        key = idempotency_key or str(uuid.uuid4())
        response = await self._request(
            "POST",
            _base.REGISTER_PATH,
            json_body={"preferences": preferences, "count": count},
            idempotency_key=key,
        )
        correlation_id = response.headers.get("X-Correlation-Id")
        try:
            return _base.parse_registration_body(
                response.content,
                preferences=preferences,
                count=count,
                idempotency_key=key,
                correlation_id=correlation_id,
                submitted_at=_base.utc_now(),
            )
        except ResponseFormatError as exc:
            # The server said 200: the job most likely exists and is charged, we just cannot read it.
            raise self._unconfirmed(key, f"the server accepted it but its answer was unreadable: {exc}",
                                    correlation_id) from exc

    async def watch(
        self,
        ids: Registration | Iterable[str] | str,
        *,
        poll_interval: float | None = None,
        timeout: float | None = None,
    ) -> AsyncIterator[dict[str, Scenery]]:
        """Yield the listed records (by id) after the first poll and after every change.

        One list call per tick for all ids; ids not listed yet count as pending; transient errors back
        off without ending the watch; it ends when every id is terminal or raises `WaitTimeoutError`.
        """
        wanted = _base.ids_of(ids)
        wanted_set = set(wanted)
        deadline = None if timeout is None else self._clock() + timeout
        known: dict[str, Scenery] = {}
        interval: float | None = None
        failures = 0
        first = True

        def timed_out() -> WaitTimeoutError:
            done = sum(1 for s in known.values() if s.is_terminal)
            return WaitTimeoutError(
                f"Waited {timeout:.0f} s: {done} of {len(wanted)} records finished. The rest keep "
                "running on the server; wait again or check the list later.",
                snapshot=dict(known),
            )

        while True:
            try:
                listed = await self.list_sceneries("all")
                failures = 0
            except TRANSIENT_ERRORS as exc:
                delay = _base.backoff_delay(min(failures, 3), self._rng)
                failures += 1
                logger.warning("poll failed (%s); retrying in %.1f s", type(exc).__name__, delay)
                if deadline is not None and self._clock() + delay >= deadline:
                    raise timed_out() from exc
                await self._sleep(delay)
                continue
            current = {s.id: s for s in listed if s.id in wanted_set}
            changed = _base.diff_sceneries(known, current)
            known.update(current)
            if changed or first:
                first = False
                yield dict(known)
            if all(i in known and known[i].is_terminal for i in wanted):
                return
            interval = poll_interval or _base.next_poll_interval(interval, bool(changed))
            if deadline is not None:
                remaining = deadline - self._clock()
                if remaining <= 0:
                    raise timed_out()
                interval = min(interval, remaining)
            await self._sleep(interval)

    async def wait_for(
        self,
        registration_or_ids: Registration | Iterable[str] | str,
        timeout: float = 600.0,
        poll_interval: float | None = None,
        on_update: UpdateCallback | None = None,
    ) -> list[Scenery]:
        """Poll until every record is terminal; the result follows the order of the ids given."""
        wanted = _base.ids_of(registration_or_ids)
        snapshot: dict[str, Scenery] = {}
        async for snapshot in self.watch(wanted, poll_interval=poll_interval, timeout=timeout):
            if on_update is not None:
                result = on_update(dict(snapshot))
                if inspect.isawaitable(result):
                    await result
        return [snapshot[i] for i in wanted]

    async def aclose(self) -> None:
        client, self._http_client = self._http_client, None
        if client is None:
            return
        bound = self._http_loop() if self._http_loop is not None else None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if bound is loop and not client.is_closed:
            await client.aclose()

    async def __aenter__(self) -> AsyncQameraClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
