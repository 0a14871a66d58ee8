"""The asyncio client: a thin I/O layer over the decisions in `_base`."""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import os
import random
import time
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Mapping
from typing import Any

import httpx

from .. import contract
from ..runtime import coordination
from ..runtime.loops import PerLoop
from . import _base, rules
from ._base import Action, AttemptOutcome
from .errors import (
    APIConnectionError,
    APITimeoutError,
    QameraError,
    ResponseFormatError,
    SubmissionUnconfirmedError,
    WaitTimeoutError,
)
from .models import Registration, Scenery
from .polling import Poller, changes, is_permanent, wait_timeout_error
from .transport import (
    Answer,
    DeadlinePassed,
    Sleep,
    classify,
    close_pool,
    configure_logging_from_env,
    describe,
    key_only_to_origin,
    read_bounded,
    tls_context,
)

__all__ = ["AsyncQameraClient"]

logger = logging.getLogger("qamera_widgets.client")

UpdateCallback = Callable[[dict[str, Scenery]], Any]


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
        rate_limit_per_minute: int | None = contract.RATE_LIMIT_PER_MINUTE,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        rules.validate_options(timeout, max_retries, rate_limit_per_minute)
        configure_logging_from_env()
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
        # One pool per event loop: a pool belongs to the loop it was made on, and a client shared by the
        # notebook's loop and a worker thread's loop must never close the other's pool mid-request.
        self._pools: PerLoop[httpx.AsyncClient] = PerLoop(
            self._new_pool, close_pool, is_spent=lambda pool: pool.is_closed
        )
        self._last_skipped_message = ""

    @property
    def key_id(self) -> str | None:
        """The public id of the key in use (safe to display), or None when no valid key is configured."""
        key = self._api_key or self._explicit_key
        if key is None:
            key = os.environ.get(rules.API_KEY_ENV)
        return contract.key_id_of(key)

    def __repr__(self) -> str:
        return describe(self)

    def _key(self) -> str:
        if self._api_key is None:
            self._api_key = _base.resolve_api_key(self._explicit_key)
        return self._api_key

    def _http(self) -> httpx.AsyncClient:
        """The connection pool of the running loop, made on first use there."""
        return self._pools.get()

    def _new_pool(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(self.timeout, connect=_base.CONNECT_TIMEOUT),
            event_hooks={"request": [key_only_to_origin(self._key, self._origin)]},
            transport=self._transport,
            headers={"User-Agent": "qamera-widgets", "Accept-Encoding": rules.ACCEPT_ENCODING},
            follow_redirects=False,
            verify=tls_context(),
        )

    async def _pace(self) -> None:
        if not self.rate_limit_per_minute:
            return
        limit, key_id = self.rate_limit_per_minute, self.key_id or ""
        window = contract.RATE_WINDOW_SECONDS + _base.PACING_MARGIN_SECONDS
        delay = await coordination.booked_slot(self._scope, key_id, limit, window)
        if delay is None:
            delay = _base.shared_window(self._scope, key_id).reserve(self._clock(), limit)
        if delay > 0:
            logger.info(
                "pacing: waiting %.1f s to stay under %d requests/minute", delay, self.rate_limit_per_minute
            )
            await self._sleep(delay)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        idempotency_key: str | None = None,
        deadline: float | None = None,
    ) -> Answer:
        """One call, retries included, within `timeout` seconds of the first attempt (or by `deadline`,
        on this client's clock, when that comes first): a server trickling bytes cannot stretch it."""
        self._key()  # a missing or malformed key fails here, before anything is sent
        is_post = method == "POST"
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        attempt = 0
        ends: float | None = None
        while True:
            self._http()  # built before booking a slot: building it takes time the server never sees
            await self._pace()
            if ends is None:
                ends = self._clock() + self.timeout
                if deadline is not None:
                    ends = min(ends, deadline)
            answer: Answer | None = None
            failure: Exception | None = None
            try:
                exchange = functools.partial(self._exchange, method, path, params, json_body, headers)
                answer = await self._attempt(exchange, ends)
                outcome = AttemptOutcome.STATUS
            except (rules.BodyTooLarge, ResponseFormatError) as exc:
                if is_post:
                    raise self._unconfirmed(idempotency_key or "", str(exc), None) from None
                raise ResponseFormatError(f"The answer to {method} {path} was refused: {exc}") from None
            except DeadlinePassed as exc:
                failure, outcome = exc, AttemptOutcome.TIMEOUT
            except httpx.HTTPError as exc:
                failure, outcome = exc, classify(exc)
            status = answer.status_code if answer is not None else None
            correlation_id = answer.headers.get("X-Correlation-Id") if answer is not None else None
            retry_after = (
                _base.parse_retry_after(answer.headers.get("Retry-After")) if answer is not None else None
            )
            decision = _base.decide_retry(
                is_post=is_post,
                outcome=outcome,
                status_code=status,
                attempt=attempt,
                max_retries=self.max_retries,
                retry_after=retry_after,
                rng=self._rng,
            )
            logger.info(
                "%s %s -> %s (attempt %d, correlation id %s): %s %s",
                method,
                path,
                status if status is not None else type(failure).__name__,
                attempt + 1,
                correlation_id,
                decision.action.value,
                decision.reason,
            )
            if decision.action is Action.RETURN:
                assert answer is not None
                return answer
            if decision.action is Action.RETRY and self._clock() + decision.delay < ends:
                logger.info("retrying %s %s in %.1f s", method, path, decision.delay)
                await self._sleep(decision.delay)
                attempt += 1
                continue
            if decision.action is Action.UNCONFIRMED:
                raise self._unconfirmed(idempotency_key or "", decision.reason, correlation_id)
            if answer is not None:
                if 300 <= answer.status_code < 400:
                    location = answer.headers.get("Location")
                    raise _base.redirect_error(self.base_url, answer.status_code, location)
                raise _base.error_from_response(
                    answer.status_code,
                    answer.content,
                    correlation_id,
                    secrets=self._secrets(),
                    key_id=self.key_id,
                )
            assert failure is not None
            raise self._connection_error(failure, outcome) from None

    async def _attempt(self, exchange: Callable[[], Awaitable[Answer]], ends: float) -> Answer:
        """Send once and read the whole answer, decompressing within the size cap, before `ends`."""
        remaining = ends - self._clock()
        if remaining <= 0:
            raise DeadlinePassed(f"no time left of the {self.timeout:g} s timeout")
        try:
            return await asyncio.wait_for(exchange(), remaining)
        except asyncio.TimeoutError:
            raise DeadlinePassed(f"the answer took longer than the {self.timeout:g} s timeout") from None

    async def _exchange(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        json_body: Any,
        headers: Mapping[str, str] | None,
    ) -> Answer:
        http = self._http()
        request = http.build_request(method, path, params=params, json=json_body, headers=headers)
        response = await http.send(request, stream=True)
        try:
            content = await read_bounded(response, _base.MAX_RESPONSE_BYTES)
        except rules.UnsupportedEncoding:
            raise ResponseFormatError(
                f"The server answered with an encoding this client did not ask for "
                f"({response.headers.get('Content-Encoding')!r})."
            ) from None
        except ValueError as exc:  # a damaged compressed body: the transport's fault, retried as such
            raise httpx.DecodingError(str(exc), request=request) from None
        finally:
            await response.aclose()
        return Answer(response.status_code, response.headers, content)

    def _secrets(self) -> tuple[str, ...]:
        return _base.secrets_of(self._api_key or self._explicit_key)

    def _connection_error(self, exc: Exception, outcome: AttemptOutcome) -> APIConnectionError:
        what = type(exc).__name__
        if outcome is AttemptOutcome.TIMEOUT or isinstance(exc, httpx.TimeoutException):
            return APITimeoutError(
                f"{self.base_url} did not answer within {self.timeout:g} s ({what}). Check your connection "
                "or raise timeout=."
            )
        detail = _base.redact(str(exc), self._secrets())
        return APIConnectionError(
            f"Could not reach {self.base_url} ({what}: {detail}). Check the base URL and your connection."
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
        return await self._list(status_filter)

    async def _list(self, status_filter: str, deadline: float | None = None) -> list[Scenery]:
        rules.validate_status_filter(status_filter)

        async def fetch() -> bytes:
            answer = await self._request(
                "GET", contract.LIST_PATH, params={"statusFilter": status_filter}, deadline=deadline
            )
            return answer.content

        content = await coordination.shared_list(
            self._scope, self.key_id or "", self._key(), status_filter, fetch, tick=rules.POLL_MIN_INTERVAL
        )
        # Off the loop: 20,000 items take a tenth of a second to read, and widgets freeze meanwhile.
        skipped: list[str] = []
        sceneries = await asyncio.to_thread(_base.parse_sceneries_body, content, skipped)
        if skipped:
            message = _base.skipped_items_message(skipped, len(sceneries))
            # Polls repeat every few seconds: the same bad entries are reported once, not on every poll.
            if message != self._last_skipped_message:
                self._last_skipped_message = message
                logger.warning(message)
        return sceneries

    async def register_ideas(
        self,
        preferences: str,
        count: int = contract.DEFAULT_COUNT,
        *,
        idempotency_key: str | None = None,
    ) -> Registration:
        """Register a generation job; reserves `10 * count` credits on the real service.

        Resent only when it certainly registered nothing (connect failure, 429), always with the same
        `Idempotency-Key`. Any other failure raises `SubmissionUnconfirmedError`.
        """
        preferences, count = rules.validate_registration(preferences, count)
        key = idempotency_key or str(uuid.uuid4())
        response = await self._request(
            "POST",
            contract.REGISTER_PATH,
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
                submitted_at=rules.utc_now(),
            )
        except ResponseFormatError as exc:
            # The server said 200: the job most likely exists and is charged, we just cannot read it.
            raise self._unconfirmed(
                key, f"the server accepted it but its answer was unreadable: {exc}", correlation_id
            ) from exc

    async def watch(
        self,
        ids: Registration | Iterable[str] | str,
        *,
        poll_interval: float | None = None,
        timeout: float | None = None,
    ) -> AsyncGenerator[dict[str, Scenery], None]:
        """Yield the listed records (by id) after the first poll and after every change.

        One list call per tick for all ids; ids not listed yet count as pending; transient errors back
        off without ending the watch; it ends when every id is terminal or raises `WaitTimeoutError`.
        """
        wanted = rules.ids_of(ids)
        wanted_set = set(wanted)
        deadline = None if timeout is None else self._clock() + timeout
        poller = Poller(lambda: self._list("all", deadline), poll_interval=poll_interval, rng=self._rng)
        known: dict[str, Scenery] = {}
        first = True

        def timed_out() -> WaitTimeoutError:
            done = sum(1 for s in known.values() if s.is_terminal)
            return wait_timeout_error(timeout or 0.0, done, len(wanted), known)

        while True:
            try:
                listed, _ = await poller.tick()
            except Exception as exc:
                if is_permanent(exc) or not isinstance(exc, QameraError):
                    raise
                delay = poller.failure_delay()
                logger.warning("poll failed (%s); retrying in %.1f s", type(exc).__name__, delay)
                if deadline is not None and self._clock() + delay >= deadline:
                    raise timed_out() from exc
                await self._sleep(delay)
                continue
            current, changed = changes(known, listed, wanted_set)
            known.update(current)
            if changed or first:
                first = False
                yield dict(known)
            if all(i in known and known[i].is_terminal for i in wanted):
                return
            interval = poller.quiet_delay(bool(changed))
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
        wanted = rules.ids_of(registration_or_ids)
        snapshot: dict[str, Scenery] = {}
        async for snapshot in self.watch(wanted, poll_interval=poll_interval, timeout=timeout):
            if on_update is not None:
                result = on_update(dict(snapshot))
                if inspect.isawaitable(result):
                    await result
        return [snapshot[i] for i in wanted]

    async def aclose(self) -> None:
        """Close every pool, each on its own loop (`runtime.loops`): one on a loop that is idle elsewhere
        cannot be awaited from here and is dropped (`QameraClient` closes its own loops' pools first)."""
        await self._pools.aclose()

    async def _aclose_pool(self) -> None:
        """Close only the running loop's pool: for a loop about to be closed by its owner."""
        await self._pools.aclose_here()

    async def __aenter__(self) -> AsyncQameraClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
