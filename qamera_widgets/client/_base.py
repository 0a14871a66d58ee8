"""Everything the client decides without doing I/O.

Building requests, validating arguments, deciding whether an attempt may be retried, computing
backoff, mapping statuses to errors and parsing bodies all live here as plain functions, so the
rules that protect a user's credits can be unit-tested without a server, a loop or a clock.
"""

from __future__ import annotations

import email.utils
import json
import math
import os
import random
import re
import threading
import time
import zlib
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

from .errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    InsufficientCreditsError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseFormatError,
)
from .models import Registration, Scenery

DEFAULT_BASE_URL = "https://app.qamera.ai"
API_KEY_ENV = "QAMERA_API_KEY"
BASE_URL_ENV = "QAMERA_BASE_URL"
LIST_PATH = "/api/external/sceneries"
REGISTER_PATH = "/api/external/sceneries/register-ideas"
STATUS_FILTERS = ("all", "approved")
MAX_PREFERENCES_CHARS = 2000
MIN_COUNT, MAX_COUNT, DEFAULT_COUNT = 1, 20, 10
CREDITS_PER_ITEM = 10
CONNECT_TIMEOUT = 5.0
MAX_RETRY_WAIT = 60.0
POLL_MIN_INTERVAL, POLL_MAX_INTERVAL = 1.0, 5.0
RATE_WINDOW_SECONDS = 60.0
# The server counts a request when it arrives, which trails our booking by its transit time (over a
# second when sixty clients share two busy cores): pacing over a longer window keeps a burst that
# arrived late out of the next minute's count.
PACING_MARGIN_SECONDS = 2.5
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
# A decoded answer larger than this is refused: a 20,000-item list is about 6 MB, and a small gzip body
# must not be able to expand into hundreds of megabytes in the kernel.
MAX_RESPONSE_BYTES = 64 * 2**20
# The encodings `BoundedDecoder` can undo with a bound on its output.
ACCEPT_ENCODING = "gzip, deflate"

# Letters, digits and the URL-safe and base64 punctuation: anything else (a control character, a space, a
# non-ASCII letter) cannot be a real key and would put the key into an HTTP library's error text.
_KEY_CHARACTERS = "A-Za-z0-9._~+/=-"
_KEY_PATTERN = re.compile(
    rf"^mk_(?P<env>[A-Za-z0-9]+)_(?P<key_id>[A-Za-z0-9-]+)\.(?P<secret>[{_KEY_CHARACTERS}]+)$"
)
_KEY_CHARACTER = re.compile(rf"[{_KEY_CHARACTERS}]")
_CREDITS_PATTERN = re.compile(r"required:\s*(\d+)\D+available:\s*(-?\d+)", re.IGNORECASE)


def resolve_api_key(explicit: str | None) -> str:
    """The key to use: the argument, else `QAMERA_API_KEY` read now (so setting it after import works)."""
    source = "the api_key argument" if explicit is not None else f"the {API_KEY_ENV} environment variable"
    key = explicit if explicit is not None else os.environ.get(API_KEY_ENV)
    if key is None or not key.strip():
        raise ConfigurationError(
            f"No Qamera API key: pass api_key=... or set the {API_KEY_ENV} environment variable "
            "(keys look like mk_live_<keyId>.<secret> and are created in the Qamera dashboard). "
            "Without a key, use the local sandbox: "
            "`from qamera_widgets import sandbox; sb = sandbox.start()`."
        )
    key = key.strip()
    stray = next((index for index, char in enumerate(key) if not _KEY_CHARACTER.fullmatch(char)), None)
    if stray is not None:
        raise ConfigurationError(
            f"The API key from {source} contains a character that no key has (at position {stray + 1}): "
            "keys hold only letters, digits and - _ . ~ + / =. Copy it again from the Qamera dashboard, "
            "without spaces, line breaks or quotes."
        )
    if _KEY_PATTERN.match(key) is None:
        raise ConfigurationError(
            f"The API key from {source} is not of the form mk_<word>_<keyId>.<secret>; "
            "copy the whole key, including the part after the dot, from the Qamera dashboard."
        )
    return key


def secrets_of(key: str | None) -> tuple[str, ...]:
    """What must never be shown: the whole key and its secret part (longest first, for `redact`)."""
    if not key:
        return ()
    key = key.strip()
    secret = key.partition(".")[2]
    return tuple(s for s in (key, secret) if len(s) >= 4)


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every occurrence of the secrets replaced, so a server or library echoing the key
    cannot carry it into an exception, a repr or a log line."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text


def redact_body(body: Any, secrets: tuple[str, ...]) -> Any:
    """A parsed JSON body with the secrets removed from every string in it, keys included."""
    if not secrets:
        return body
    if isinstance(body, str):
        return redact(body, secrets)
    if isinstance(body, Mapping):
        return {redact(str(k), secrets): redact_body(v, secrets) for k, v in body.items()}
    if isinstance(body, list):
        return [redact_body(v, secrets) for v in body]
    return body


def key_id_of(key: str | None) -> str | None:
    """The public part of a key (`keyId`), safe to show in reprs and journals."""
    if not key:
        return None
    match = _KEY_PATTERN.match(key.strip())
    return match.group("key_id") if match else None


def resolve_base_url(explicit: str | None) -> str:
    """Normalise the base URL (argument, else `QAMERA_BASE_URL`, else the public service)."""
    url = explicit if explicit is not None else os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"Base URL {url!r} is not an http(s) URL; use e.g. {DEFAULT_BASE_URL} "
            f"(from base_url=... or the {BASE_URL_ENV} environment variable)."
        )
    if parts.username or parts.password:
        raise ConfigurationError("The base URL must not contain credentials; pass the key as api_key.")
    return url


def origin_of(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) with default ports filled in: the unit the key may be sent to."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port


def validate_status_filter(status_filter: str) -> str:
    if status_filter not in STATUS_FILTERS:
        raise InvalidRequestError(
            f"status_filter must be 'all' or 'approved', not {status_filter!r}."
        )
    return status_filter


def validate_registration(preferences: object, count: object) -> tuple[str, int]:
    """Refuse what the server would refuse, before anything is sent or reserved."""
    if not isinstance(preferences, str):
        raise InvalidRequestError(
            f"preferences must be text describing the scenery, not {type(preferences).__name__}."
        )
    if not preferences.strip():
        raise InvalidRequestError("preferences is blank: describe the scenery you want generated.")
    try:
        preferences.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequestError(
            "preferences contains characters that are not valid Unicode text (a lone surrogate); "
            "retype or re-paste the description."
        ) from None
    if len(preferences) > MAX_PREFERENCES_CHARS:
        raise InvalidRequestError(
            f"preferences is {len(preferences)} characters long; the limit is {MAX_PREFERENCES_CHARS}. "
            "Shorten the description."
        )
    if isinstance(count, bool) or not isinstance(count, int):
        raise InvalidRequestError(f"count must be a whole number from 1 to 20, not {count!r}.")
    if not MIN_COUNT <= count <= MAX_COUNT:
        raise InvalidRequestError(f"count must be from {MIN_COUNT} to {MAX_COUNT}, not {count}.")
    return preferences, count


class Outcome(Enum):
    """What one attempt ended in, as far as retry rules care."""

    CONNECT_FAILED = "connect_failed"  # nothing reached the server
    TIMEOUT = "timeout"  # the request may have been received
    BROKEN = "broken"  # connection dropped after the request went out
    STATUS = "status"


class Action(Enum):
    RETURN = "return"
    RETRY = "retry"
    RAISE = "raise"
    UNCONFIRMED = "unconfirmed"  # a POST whose effect is unknown: never resend blindly


@dataclass(frozen=True)
class RetryDecision:
    action: Action
    delay: float = 0.0
    reason: str = ""


def backoff_delay(attempt: int, rng: random.Random | None = None) -> float:
    """1, 2, 4, 8 ... seconds plus 0-500 ms jitter, as the public reference recommends."""
    jitter = (rng or random).uniform(0.0, 0.5)
    return float(2 ** max(attempt, 0)) + jitter


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None if absent/unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def decide_retry(
    *,
    is_post: bool,
    outcome: Outcome,
    status_code: int | None,
    attempt: int,
    max_retries: int,
    retry_after: float | None = None,
    rng: random.Random | None = None,
    max_wait: float = MAX_RETRY_WAIT,
) -> RetryDecision:
    """The retry table. A POST is resent only when it certainly registered nothing.

    `attempt` counts from 0 for the first try.
    """
    if outcome is Outcome.STATUS:
        assert status_code is not None
        if 200 <= status_code < 300:
            return RetryDecision(Action.RETURN)
        retryable = status_code == 429 if is_post else status_code in RETRYABLE_STATUSES
        if is_post and status_code >= 500:
            return RetryDecision(Action.UNCONFIRMED, reason=f"server answered {status_code}")
        if not retryable:
            return RetryDecision(Action.RAISE, reason=f"status {status_code} is final")
    elif is_post and outcome is not Outcome.CONNECT_FAILED:
        return RetryDecision(Action.UNCONFIRMED, reason=f"{outcome.value} after the request was sent")
    if attempt >= max_retries:
        return RetryDecision(Action.RAISE, reason=f"gave up after {attempt + 1} attempts")
    delay = backoff_delay(attempt, rng)
    if retry_after is not None:
        if retry_after > max_wait:
            return RetryDecision(
                Action.RAISE, reason=f"server asks to wait {retry_after:.0f} s, more than {max_wait:.0f} s"
            )
        delay = max(delay, retry_after)
    return RetryDecision(Action.RETRY, delay=delay, reason=f"{outcome.value} {status_code or ''}".strip())


def parse_insufficient_credits(message: str) -> tuple[int | None, int | None]:
    match = _CREDITS_PATTERN.search(message or "")
    if match is None:
        return None, None
    return int(match.group(1)), int(match.group(2))


def decode_body(content: bytes) -> Any:
    """JSON if it parses, else the text; error bodies from proxies are often HTML."""
    text = content.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


def error_message_of(body: Any, status_code: int) -> str:
    error = body.get("error") if isinstance(body, Mapping) else None
    if isinstance(error, str) and error.strip():
        return error.strip()
    if isinstance(body, str) and body.strip() and len(body) < 300 and "<" not in body:
        return body.strip()
    return f"the server answered {status_code} without an error message"


_STATUS_ERRORS: dict[int, tuple[type[APIStatusError], str]] = {
    400: (BadRequestError, "The server refused the request; fix the field it names."),
    401: (
        AuthenticationError,
        "The API key is missing, unknown, expired or revoked: check QAMERA_API_KEY or create a new key.",
    ),
    402: (
        InsufficientCreditsError,
        "Nothing was charged. Top up credits or request fewer sceneries.",
    ),
    403: (PermissionDeniedError, "This key lacks a scope the endpoint needs; use a key with that scope."),
    404: (NotFoundError, "Check the base URL (QAMERA_BASE_URL)."),
    429: (RateLimitError, "Too many requests for this key: wait a minute and try again."),
}


def error_from_response(
    status_code: int, content: bytes, correlation_id: str | None, *, secrets: tuple[str, ...] = ()
) -> APIStatusError:
    """Map an error response to the matching exception with a sentence a notebook user can act on.

    `secrets` (the key and its secret) are cut out of the message and the body: a server may echo them.
    """
    body = redact_body(decode_body(content), secrets)
    message = redact(error_message_of(body, status_code), secrets)
    cls, hint = _STATUS_ERRORS.get(
        status_code,
        (InternalServerError, "The server failed; try again in a moment.")
        if status_code >= 500
        else (APIStatusError, ""),
    )
    if cls is InsufficientCreditsError:
        required, available = parse_insufficient_credits(message)
        return InsufficientCreditsError(
            message,
            body=body,
            correlation_id=correlation_id,
            hint=hint,
            required=required,
            available=available,
        )
    return cls(message, status_code=status_code, body=body, correlation_id=correlation_id, hint=hint)


def redirect_error(base_url: str, status_code: int, location: str | None) -> ConfigurationError:
    """A base URL that redirects is a configuration mistake: the key is never sent on to another origin,
    so following would only end in a misleading 401. Name where it points instead."""
    where = "elsewhere"
    if location:
        parts = urlsplit(location)
        # The query and fragment may carry tokens; the origin and path are what the user needs.
        where = f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.scheme else parts.path or location
        where = where.rstrip("/") or where
    return ConfigurationError(
        f"The base URL {base_url} redirects (HTTP {status_code}) to {where}. Set base_url=... or "
        f"{BASE_URL_ENV} to the address the API really answers on (often the https:// one)."
    )


class BodyTooLarge(Exception):
    """The decoded answer passed `MAX_RESPONSE_BYTES`."""


class BoundedDecoder:
    """Undoes a Content-Encoding (identity, gzip or deflate) chunk by chunk, never producing more than
    `limit` bytes in all: zlib is asked for at most what is left, so a bomb stops at the limit instead of
    expanding in memory first."""

    def __init__(self, encoding: str, limit: int = MAX_RESPONSE_BYTES) -> None:
        name = encoding.strip().lower()
        if name in ("", "identity"):
            self._zlib = None
        elif name in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif name == "deflate":
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS)  # zlib-wrapped, as RFC 9110 says
        else:
            raise ValueError(f"unsupported Content-Encoding {encoding!r}")
        self.limit = limit
        self.size = 0
        self._parts: list[bytes] = []

    def feed(self, raw: bytes) -> None:
        if self._zlib is None:
            self._keep(raw)
            return
        try:
            data = raw
            while data:
                self._keep(self._zlib.decompress(data, self.limit - self.size + 1))
                data = self._zlib.unconsumed_tail
        except zlib.error as exc:
            raise ValueError(f"the compressed body is damaged ({exc})") from None

    def _keep(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            raise BodyTooLarge(f"the answer is larger than {self.limit // 2**20} MiB once decompressed")
        self._parts.append(chunk)

    def result(self) -> bytes:
        return b"".join(self._parts)


def parse_json_object(content: bytes, what: str) -> Mapping[str, Any]:
    body = parse_json(content, what)
    if not isinstance(body, Mapping):
        raise ResponseFormatError(f"The {what} response should be a JSON object, got {type(body).__name__}.")
    return body


def parse_json(content: bytes, what: str) -> Any:
    try:
        return json.loads(content)
    except (ValueError, RecursionError) as exc:
        raise ResponseFormatError(f"The {what} response is not JSON: {type(exc).__name__}.") from None


def parse_sceneries_body(content: bytes, skipped: list[str] | None = None) -> list[Scenery]:
    """The listed sceneries; an entry that cannot be read is left out and described in `skipped` (the
    caller warns once), so one bad item never hides the rest.

    A bare JSON array is accepted as well as the documented `{"sceneries": [...]}`: reading it costs nothing.
    """
    body = parse_json(content, "scenery list")
    items = body if isinstance(body, list) else body.get("sceneries") if isinstance(body, Mapping) else None
    if not isinstance(items, list):
        raise ResponseFormatError("The scenery list response has no 'sceneries' list.")
    sceneries: list[Scenery] = []
    for item in items:
        try:
            sceneries.append(Scenery.from_api(item))
        except (ResponseFormatError, ValueError, TypeError, OverflowError) as exc:
            if skipped is not None:
                skipped.append(str(exc) if isinstance(exc, ResponseFormatError) else type(exc).__name__)
    return sceneries


def skipped_items_message(skipped: list[str], kept: int) -> str:
    noun = "entry" if len(skipped) == 1 else "entries"
    return (
        f"Skipped {len(skipped)} scenery {noun} the server sent in an unreadable form (first: {skipped[0]}); "
        f"showing the other {kept}."
    )


def parse_registration_body(
    content: bytes,
    *,
    preferences: str,
    count: int,
    idempotency_key: str,
    correlation_id: str | None,
    submitted_at: datetime,
) -> Registration:
    body = parse_json_object(content, "register-ideas")
    ids = body.get("createdRecordIds")
    if not isinstance(ids, list) or not all(isinstance(i, (str, int)) for i in ids):
        raise ResponseFormatError("The register-ideas response has no 'createdRecordIds' list of ids.")
    if not ids:
        # A job with nothing to track cannot be followed or found again: treat it as unconfirmed.
        raise ResponseFormatError("The register-ideas response lists no created record ids.")
    credits = body.get("creditsReserved")
    if credits is not None and (
        isinstance(credits, bool) or not isinstance(credits, (int, float)) or not math.isfinite(credits)
    ):
        raise ResponseFormatError("The register-ideas field 'creditsReserved' should be a finite number.")

    def text(field: str) -> str:
        value = body.get(field)
        if value is not None and not isinstance(value, (str, int)):
            raise ResponseFormatError(f"The register-ideas field {field!r} should be a string.")
        return "" if value is None else str(value)

    return Registration(
        record_ids=tuple(str(i) for i in ids),
        batch_id=text("batchId"),
        order_id=text("orderId"),
        reservation_id=text("reservationId"),
        credits_reserved=int(credits or 0),
        correlation_id=correlation_id,
        idempotency_key=idempotency_key,
        preferences=preferences,
        count=count,
        submitted_at=submitted_at,
    )


def ids_of(target: Registration | Iterable[str] | str) -> list[str]:
    """Record ids to wait on, from a Registration, one id, or many; order kept, duplicates dropped."""
    if isinstance(target, Registration):
        raw: Iterable[str] = target.record_ids
    elif isinstance(target, str):
        raw = [target]
    else:
        raw = target
    ids = list(dict.fromkeys(str(i) for i in raw))
    if not ids:
        raise InvalidRequestError("Nothing to wait for: pass a Registration or at least one record id.")
    return ids


def next_poll_interval(current: float | None, changed: bool) -> float:
    """About 1 s after a change, growing by half each quiet tick up to 5 s."""
    if changed or current is None:
        return POLL_MIN_INTERVAL
    return min(POLL_MAX_INTERVAL, current * 1.5)


def diff_sceneries(
    previous: Mapping[str, Scenery], current: Mapping[str, Scenery]
) -> dict[str, Scenery]:
    """The records that are new or whose visible state (status, voting, thumbnail, name) changed."""
    changed: dict[str, Scenery] = {}
    for sid, scenery in current.items():
        before = previous.get(sid)
        if before is None or (before.status, before.voting, before.thumbnail, before.name) != (
            scenery.status,
            scenery.voting,
            scenery.thumbnail,
            scenery.name,
        ):
            changed[sid] = scenery
    return changed


class SlidingWindow:
    """At most `limit` slots in any `window` seconds; `reserve` books the next slot and says how long to wait.

    Booked times are in the future when the window is full, so concurrent callers queue up in order
    instead of all waking at once and tripping the server's limit.
    """

    def __init__(self, window: float = 60.0) -> None:
        self.window = window
        self._slots: deque[float] = deque()
        self._lock = threading.Lock()

    def reserve(self, now: float, limit: int) -> float:
        """Book a slot for a caller allowed `limit` per window; clients with a lower limit wait longer."""
        with self._lock:
            while self._slots and self._slots[0] <= now - self.window:
                self._slots.popleft()
            at = now
            if len(self._slots) >= limit:
                at = max(now, self._slots[-limit] + self.window)
            self._slots.append(at)
            return at - now


_windows: dict[tuple[str, str], SlidingWindow] = {}
_windows_lock = threading.Lock()


def shared_window(scope: str, key_id: str) -> SlidingWindow:
    """One window per (API origin, key id) in this process: every client sharing a key shares it."""
    with _windows_lock:
        return _windows.setdefault(
            (scope, key_id), SlidingWindow(RATE_WINDOW_SECONDS + PACING_MARGIN_SECONDS)
        )


def utc_now() -> datetime:
    return datetime.now(timezone.utc)

