"""A class on one key: kernels that share an API key share one rate limit and one list call per tick.

The service allows 60 requests a minute per key, counted across everything that uses the key, and a
class is many kernels on one key. With `QAMERA_REDIS_URL` set, every process books its request slots
in one sliding window kept in Redis (a Lua script, so booking is atomic across processes), and the
scenery list is fetched by one process per tick while the others read that tick's copy. Without the
variable nothing here runs and each process paces itself as before.

Redis must never make a notebook wait: every call has short socket timeouts and no retries, and calls
from the notebook's loop wait in a thread, so widgets keep drawing meanwhile. When
Redis is unreachable or fails, the caller is told at once, a warning says so once per outage in plain
words, the client paces per process, and Redis is tried again after `RETRY_REDIS_AFTER` seconds.

What Redis holds: key ids (public), a digest of the whole key (so a mistyped secret never reads the
class's list) and the list bodies the server sent. Never the key. This module imports nothing from the
package, so the client can use it without an import cycle.

Redis is not trusted: anyone who can reach it can write any key. Every reply is checked for the shape
the scripts return (anything else is "Redis unavailable", the fallback above), bookings further ahead
than the class's queue can reach are dropped, and the shared list copy is signed with an HMAC whose key
is derived from the API key, so only a process holding the key can write a copy the others accept.
Signing rather than holding picture URLs to known origins: a forged list on the real CDN origin (fake
statuses, prompts, other accounts' pictures) passes an origin check, and the origins are not known
before the first real answer anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import math
import os
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .registry import ProcessWide

__all__ = [
    "REDIS_URL_ENV",
    "ClassCoordinator",
    "ClassModeOff",
    "booked_slot",
    "coordinator",
    "display_url",
    "key_namespace",
    "reserve_slot",
    "shared_list",
]

logger = logging.getLogger(__name__)

REDIS_URL_ENV = "QAMERA_REDIS_URL"
SOCKET_TIMEOUT = 0.5  # the longest one Redis call may hold up a request
RETRY_REDIS_AFTER = 30.0
LIST_LOCK_SECONDS = 2.0
"""How long a tick stays claimed by a fetcher that died before sharing: a live fetcher renews its claim
every `LIST_LOCK_RENEW` seconds while its request runs, so a killed one stalls the class this long."""
LIST_LOCK_RENEW = LIST_LOCK_SECONDS / 3
LIST_WAIT_SECONDS = 10.0  # a waiter fetches for itself after this long, whatever the others do
WAIT_STEP, WAIT_STEP_MAX = 0.05, 0.5  # a waiter's first pause, doubled up to the cap: a few calls per tick
MAX_SHARED_LIST_BYTES = 64 * 2**20
"""The client's cap on a list answer (`_base.MAX_RESPONSE_BYTES`): a copy from Redis is held to the same."""
MAX_QUEUE_WINDOWS = 10
"""A booking further ahead than this many windows is not believed (a class queues a window per `limit`
requests waiting; ten windows is ten minutes of a whole class waiting): Redis unavailable."""
SIGNATURE_CLOCK_SLACK = 30.0  # kernels on several machines disagree on the time by up to this much
_SIGNED = b"qw1"
PREFIX = "qamera-widgets"

# Book the next slot of a sliding window: at most ARGV[2] bookings in any ARGV[1] seconds. Slots may lie
# in the future, so concurrent callers queue in order instead of all waking at once. Redis's own clock
# is the one clock every process shares. Honest bookings queue at most one window ahead per `limit` of
# them, so any further out (written by something else, or left by a clock step) are dropped first: 60
# bookings a day ahead no longer push every kernel's next request a day away.
_RESERVE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local horizon = now + window * math.ceil(redis.call('ZCARD', KEYS[1]) / limit)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '(' .. horizon, '+inf')
local at = now
if redis.call('ZCARD', KEYS[1]) >= limit then
  local kth = redis.call('ZREVRANGE', KEYS[1], limit - 1, limit - 1, 'WITHSCORES')
  at = math.max(now, tonumber(kth[2]) + window)
end
redis.call('ZADD', KEYS[1], at, ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil((at - now + window) * 1000))
return tostring(at - now)
"""

# This tick's list if someone already shared it (1), else the tick claimed for the caller (2), else
# someone else is fetching it (0).
_CLAIM = """
local cached = redis.call('GET', KEYS[1])
if cached then return {1, cached} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {2, ''} end
return {0, ''}
"""

_PUBLISH = """
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

# A key's budget (QAMERA_KEY_BUDGET): add ARGV[2] credits (negative gives back, never below 0) to what the
# key's kernels reserved unless that passes the limit ARGV[1]; answers {booked 0/1, total reserved}.
_BOOK = """
local reserved = tonumber(redis.call('GET', KEYS[1]) or '0')
if reserved == nil or reserved < 0 or reserved ~= math.floor(reserved) then reserved = 0 end
local limit, credits = tonumber(ARGV[1]), tonumber(ARGV[2])
local wanted = reserved + credits
if wanted < 0 then wanted = 0 end
if credits > 0 and wanted > limit then return {0, reserved} end
if credits ~= 0 then redis.call('SET', KEYS[1], wanted) end
return {1, wanted}
"""

_SCRIPTS = {
    "reserve": _RESERVE,
    "claim": _CLAIM,
    "publish": _PUBLISH,
    "release": _RELEASE,
    "renew": _RENEW,
    "book": _BOOK,
}

WAITING, CACHED, CLAIMED = 0, 1, 2


# The answers of the Redis scripts, checked: a reply of the wrong shape is refused, never trusted.
def book_reply(reply: Any) -> tuple[bool, int]:
    if not isinstance(reply, (list, tuple)) or len(reply) != 2:
        raise TypeError(f"a budget reply of type {type(reply).__name__}")
    booked, reserved = reply
    if type(booked) is not int or booked not in (0, 1) or type(reserved) is not int or reserved < 0:
        raise ValueError("a budget reply of an unknown shape")
    return bool(booked), reserved


def flag_reply(reply: Any, allowed: tuple[int, ...]) -> int:
    if type(reply) is not int or reply not in allowed:
        raise ValueError(f"a reply {reply!r:.40} where {allowed} was expected")
    return reply


class ClassModeOff(Exception):
    """Redis cannot help right now; the caller does what one process alone would do."""


def display_url(url: str) -> str:
    """The Redis URL without its password, fit for a warning."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
    except ValueError:
        return "(an unreadable URL)"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def key_namespace(origin: str, key_id: str) -> str:
    """Where one key's shared state lives: by API origin and public key id, never the secret."""
    return f"{PREFIX}:{origin}:{key_id}"


def _key_digest(api_key: str) -> str:
    return hashlib.sha256(f"{PREFIX} shared list\0{api_key}".encode()).hexdigest()[:16]


def _signing_key(api_key: str) -> bytes:
    """The shared list's HMAC key: derived from the API key (never the key itself, and unrelated to the
    digest that appears in Redis key names)."""
    return hmac.new(api_key.encode(), f"{PREFIX} shared list signature v1".encode(), hashlib.sha256).digest()


def _mac(api_key: str, cache_key: str, issued_ms: bytes, body: bytes) -> bytes:
    # The Redis key is signed too, so a genuine copy of another filter or account cannot be moved here.
    message = cache_key.encode() + b"\0" + issued_ms + b"\0" + body
    return hmac.new(_signing_key(api_key), message, hashlib.sha256).hexdigest().encode()


def sign_list(api_key: str, cache_key: str, body: bytes, now: float) -> bytes:
    """`body` as stored in Redis: a header with the time it was written and its HMAC, then the body."""
    issued = str(int(now * 1000)).encode()
    return b" ".join((_SIGNED, issued, _mac(api_key, cache_key, issued, body))) + b"\n" + body


def verified_list(api_key: str, cache_key: str, stored: bytes, now: float, tick: float) -> bytes:
    """The body of a copy written by a holder of the key within the last tick (allowing for clocks), or
    ValueError: unsigned, forged, moved from another key, replayed from long ago, or too big."""
    if len(stored) > MAX_SHARED_LIST_BYTES + 200:
        raise ValueError(f"a shared list copy of {len(stored):,} bytes")
    header, newline, body = stored.partition(b"\n")
    fields = header.split(b" ")
    if not newline or len(fields) != 3 or fields[0] != _SIGNED or not fields[1].isdigit():
        raise ValueError("a shared list copy that is not signed")
    _, issued, mac = fields
    if not hmac.compare_digest(mac, _mac(api_key, cache_key, issued, body)):
        raise ValueError("a shared list copy whose signature does not match this key")
    age = now - int(issued) / 1000
    if not -SIGNATURE_CLOCK_SLACK <= age <= tick + SIGNATURE_CLOCK_SLACK:
        raise ValueError(f"a shared list copy written {age:.0f} s ago")
    return body


def _delay_reply(reply: Any, window: float) -> float:
    """The reserve script answers with its delay as text: 0 while the window has room, a window more for
    each `limit` requests queued before this one, never more than `MAX_QUEUE_WINDOWS` windows."""
    if not isinstance(reply, bytes):
        raise TypeError(f"a booking reply of type {type(reply).__name__}")
    delay = float(reply)
    if not (math.isfinite(delay) and 0.0 <= delay <= window * MAX_QUEUE_WINDOWS):
        raise ValueError(f"a booking {delay!r} s away")
    return delay


def _claim_reply(reply: Any) -> tuple[int, bytes]:
    """The claim script answers {state, body}: a body only with CACHED."""
    if not isinstance(reply, (list, tuple)) or len(reply) != 2:
        raise TypeError(f"a claim reply of type {type(reply).__name__}")
    state, body = reply
    if type(state) is not int or state not in (WAITING, CACHED, CLAIMED) or not isinstance(body, bytes):
        raise ValueError("a claim reply of an unknown shape")
    if state == CACHED and not body:
        raise ValueError("an empty shared list copy")
    return state, body


class ClassCoordinator:
    """One Redis connection pool (per URL) and the scripts; each call answers or raises `ClassModeOff`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.Lock()
        self._redis: Any = None
        self._scripts: dict[str, Any] = {}
        self._retry_at = 0.0
        self._outage = False

    def __repr__(self) -> str:
        return f"ClassCoordinator({display_url(self.url)!r}, available={not self._outage})"

    def reserve(self, namespace: str, limit: int, window: float) -> float:
        """Seconds until the booked slot: 0 while the window has room, never past `MAX_QUEUE_WINDOWS`."""
        args = [window, limit, uuid.uuid4().hex]
        delay: float = self._call("reserve", [f"{namespace}:slots"], args, lambda r: _delay_reply(r, window))
        return delay

    def claim(self, cache_key: str, lock_key: str, token: str, lock_seconds: float) -> tuple[int, bytes]:
        args = [token, int(lock_seconds * 1000)]
        claimed: tuple[int, bytes] = self._call("claim", [cache_key, lock_key], args, _claim_reply)
        return claimed

    def publish(self, cache_key: str, lock_key: str, token: str, body: bytes, ttl: float) -> None:
        args = [token, body, max(1, int(ttl * 1000))]
        self._call("publish", [cache_key, lock_key], args, lambda r: flag_reply(r, (1,)))

    def release(self, lock_key: str, token: str) -> None:
        self._call("release", [lock_key], [token], lambda r: flag_reply(r, (0, 1)))

    def renew(self, lock_key: str, token: str, lock_seconds: float) -> None:
        """Keep this process's claim on a tick alive while its fetch runs."""
        args = [token, int(lock_seconds * 1000)]
        self._call("renew", [lock_key], args, lambda r: flag_reply(r, (0, 1)))

    def book_credits(self, namespace: str, limit: int, credits: int) -> tuple[bool, int]:
        """`QAMERA_KEY_BUDGET`'s ledger for every kernel on the key: see `_BOOK`."""
        booked: tuple[bool, int] = self._call("book", [f"{namespace}:budget"], [limit, credits], book_reply)
        return booked

    def refuse(self, reason: str) -> ClassModeOff:
        """A reply that passed the script but not the caller's checks (a forged list): Redis unavailable."""
        with self._lock:
            self._failed(ValueError(reason))
        return ClassModeOff()

    def _call(self, script: str, keys: list[str], args: list[Any], check: Callable[[Any], Any]) -> Any:
        """The script's reply as `check` reads it; a failure or any reply `check` rejects (ValueError,
        TypeError) is an outage like a dead Redis."""
        with self._lock:
            if time.monotonic() < self._retry_at:
                raise ClassModeOff
            try:
                scripts = self._connect()
            except Exception as exc:
                self._failed(exc)
                raise ClassModeOff from None
        try:
            result = check(scripts[script](keys=keys, args=args))
        except Exception as exc:  # whatever Redis does wrong, the notebook carries on per process
            with self._lock:
                self._failed(exc)
            raise ClassModeOff from None
        if self._outage:
            with self._lock:
                if self._outage:
                    self._outage = False
                    logger.info(
                        "Redis at %s answers again: this kernel paces with the class again.",
                        display_url(self.url),
                    )
        return result

    def _connect(self) -> dict[str, Any]:
        if self._redis is None:
            try:
                import redis
                from redis.backoff import NoBackoff
                from redis.retry import Retry
            except ImportError:
                raise RuntimeError(
                    "the redis library is not installed; install it with pip install 'qamera-widgets[class]'"
                ) from None
            client = redis.Redis.from_url(
                self.url,
                socket_timeout=SOCKET_TIMEOUT,
                socket_connect_timeout=SOCKET_TIMEOUT,
                retry=Retry(NoBackoff(), 0),
            )
            self._scripts = {name: client.register_script(source) for name, source in _SCRIPTS.items()}
            self._redis = client
        return self._scripts

    def _failed(self, exc: BaseException) -> None:
        """Called with the lock held: pace per process for a while, and say so once per outage."""
        self._retry_at = time.monotonic() + RETRY_REDIS_AFTER
        if self._outage:
            return
        self._outage = True
        logger.warning(
            "Class mode is off for now: Redis at %s (set by %s) could not be used (%s: %s). This kernel "
            "paces its own requests to the API, so a class sharing one key may get 'too many requests' "
            "answers; it tries Redis again every %.0f s.",
            display_url(self.url),
            REDIS_URL_ENV,
            type(exc).__name__,
            exc,
            RETRY_REDIS_AFTER,
        )


_coordinators: ProcessWide[str, ClassCoordinator] = ProcessWide(ClassCoordinator)
"""One coordinator per Redis URL. Process-wide because every client of this kernel takes part in the class
through the same connection and the same share of the key's rate limit."""


def coordinator() -> ClassCoordinator | None:
    """The coordinator for `QAMERA_REDIS_URL` as it is now (a notebook may set it late), or None."""
    url = os.environ.get(REDIS_URL_ENV, "").strip()
    if not url:
        return None
    return _coordinators[url]


async def booked_slot(origin: str, key_id: str, limit: int, window: float) -> float | None:
    """`reserve_slot` for a caller on the notebook's loop: the Redis call waits in a thread, so a silent
    Redis (up to `SOCKET_TIMEOUT` per call) never stops the widgets from drawing meanwhile."""
    if coordinator() is None:
        return None
    return await asyncio.to_thread(reserve_slot, origin, key_id, limit, window)


def reserve_slot(origin: str, key_id: str, limit: int, window: float) -> float | None:
    """Seconds until a request with this key may go, booked in the class's `window` in Redis.

    None when class mode is off or Redis is failing: the caller then paces in this process.
    """
    found = coordinator()
    if found is None:
        return None
    try:
        return found.reserve(key_namespace(origin, key_id), limit, window)
    except ClassModeOff:
        return None


async def shared_list(
    origin: str,
    key_id: str,
    api_key: str,
    status_filter: str,
    fetch: Callable[[], Awaitable[bytes]],
    *,
    tick: float,
) -> bytes:
    """This tick's list body: fetched by one process per key and tick, read from Redis by the others.

    The copy expires after `tick` seconds. Without class mode, or when Redis fails, `fetch()` runs here.
    """
    found = coordinator()
    if found is None:
        return await fetch()
    cache_key = f"{key_namespace(origin, key_id)}:{_key_digest(api_key)}:list:{status_filter}"
    lock_key = f"{cache_key}:lock"
    token = uuid.uuid4().hex
    give_up = time.monotonic() + LIST_WAIT_SECONDS
    pause = WAIT_STEP
    while True:
        try:
            state, stored = await asyncio.to_thread(
                found.claim, cache_key, lock_key, token, LIST_LOCK_SECONDS
            )
            if state == CACHED:
                try:
                    return verified_list(api_key, cache_key, stored, time.time(), tick)
                except ValueError as exc:
                    raise found.refuse(str(exc)) from None
        except ClassModeOff:
            return await fetch()
        if state == CLAIMED:
            break
        if time.monotonic() > give_up:
            return await fetch()
        # Backing off: a fetcher that died holding the claim costs a few calls until the claim expires.
        await asyncio.sleep(pause)
        pause = min(pause * 2, WAIT_STEP_MAX)
    shared = False
    renewing = asyncio.create_task(_keep_claim(found, lock_key, token))
    try:
        body = await fetch()
        renewing.cancel()
        signed = sign_list(api_key, cache_key, body, time.time())
        await asyncio.to_thread(found.publish, cache_key, lock_key, token, signed, tick)
        shared = True
        return body
    except ClassModeOff:
        return body
    finally:
        renewing.cancel()
        if not shared:  # free the tick for the others now rather than when the lock expires
            with contextlib.suppress(ClassModeOff):
                await asyncio.to_thread(found.release, lock_key, token)


async def _keep_claim(found: ClassCoordinator, lock_key: str, token: str) -> None:
    """Renew the claim on a tick while this process fetches it; ends with the fetch or with Redis."""
    with contextlib.suppress(ClassModeOff):
        while True:
            await asyncio.sleep(LIST_LOCK_RENEW)
            await asyncio.to_thread(found.renew, lock_key, token, LIST_LOCK_SECONDS)
