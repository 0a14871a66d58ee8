"""Everything the client decides without doing I/O, and keeps to itself.

Resolving the key and the base URL, deciding whether an attempt may be retried, mapping statuses to
errors and parsing bodies all live here as plain functions, so the rules that protect a user's credits
can be unit-tested without a server, a loop or a clock. What other layers may use is in `rules`.
"""

from __future__ import annotations

import email.utils
import json
import math
import os
import random
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

from .. import contract
from ..contract import RATE_WINDOW_SECONDS, SlidingWindow
from ..runtime.registry import ProcessWide
from .errors import (
    APIStatusError,
    ConfigurationError,
    ResponseFormatError,
    status_error_class,
)
from .models import Registration, Scenery
from .rules import API_KEY_ENV, BASE_URL_ENV, DEFAULT_BASE_URL, backoff_delay

CONNECT_TIMEOUT = 5.0
MAX_RETRY_WAIT = 60.0
# The server counts a request when it arrives, which trails our booking by its transit time (over a
# second when sixty clients share two busy cores): pacing over a longer window keeps a burst that
# arrived late out of the next minute's count.
PACING_MARGIN_SECONDS = 2.5
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
# A decoded answer larger than this is refused: a 20,000-item list is about 6 MB, and a small gzip body
# must not be able to expand into hundreds of megabytes in the kernel.
MAX_RESPONSE_BYTES = 64 * 2**20


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
    stray = next((index for index, char in enumerate(key) if not contract.is_key_character(char)), None)
    if stray is not None:
        raise ConfigurationError(
            f"The API key from {source} contains a character that no key has (at position {stray + 1}): "
            "keys hold only letters, digits and - _ . ~ + / =. Copy it again from the Qamera dashboard, "
            "without spaces, line breaks or quotes."
        )
    if contract.parse_key(key) is None:
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


class AttemptOutcome(Enum):
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
    outcome: AttemptOutcome,
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
    if outcome is AttemptOutcome.STATUS:
        assert status_code is not None
        if 200 <= status_code < 300:
            return RetryDecision(Action.RETURN)
        retryable = status_code == 429 if is_post else status_code in RETRYABLE_STATUSES
        if is_post and status_code >= 500:
            return RetryDecision(Action.UNCONFIRMED, reason=f"server answered {status_code}")
        if not retryable:
            return RetryDecision(Action.RAISE, reason=f"status {status_code} is final")
    elif is_post and outcome is not AttemptOutcome.CONNECT_FAILED:
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


def error_from_response(
    status_code: int,
    content: bytes,
    correlation_id: str | None,
    *,
    secrets: tuple[str, ...] = (),
    key_id: str | None = None,
) -> APIStatusError:
    """The exception for an error response; its class (from the one table in `errors`) words it.

    `secrets` (the key and its secret) are cut out of the message and the body: a server may echo them.
    """
    body = redact_body(decode_body(content), secrets)
    message = redact(error_message_of(body, status_code), secrets)
    cls = status_error_class(status_code)
    return cls(message, status_code=status_code, body=body, correlation_id=correlation_id, key_id=key_id)


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


windows: ProcessWide[tuple[str, str], SlidingWindow] = ProcessWide(
    lambda _: SlidingWindow(RATE_WINDOW_SECONDS + PACING_MARGIN_SECONDS)
)
"""One pacing window per (API origin, key id). Process-wide because the server counts requests per key,
not per client: every client of a key in this kernel (a gallery's, a form's, the user's own) must book
its requests in the same window."""


def shared_window(scope: str, key_id: str) -> SlidingWindow:
    """The window every client of this key at this origin paces itself by, in this process."""
    return windows[(scope, key_id)]
