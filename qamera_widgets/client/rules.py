"""What the rest of the package may use from the client: where the key and the service come from,
local validation of a request, the one backoff policy, poll pacing and list diffs, and the clock.

Everything here is pure; the underscore modules beside it are the client's own.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone

from ..contract import MAX_COUNT, MAX_PREFERENCES_CHARS, MIN_COUNT, STATUS_FILTERS, RegistrationProblem
from ..contract import registration_problem as _registration_problem
from .errors import InvalidRequestError
from .models import Registration, Scenery

__all__ = [
    "ACCEPT_ENCODING",
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "DEFAULT_BASE_URL",
    "MAX_BACKOFF_ATTEMPT",
    "POLL_MAX_INTERVAL",
    "POLL_MIN_INTERVAL",
    "BodyTooLarge",
    "BoundedDecoder",
    "UnsupportedEncoding",
    "backoff_delay",
    "diff_sceneries",
    "ids_of",
    "next_poll_interval",
    "size_text",
    "utc_now",
    "validate_options",
    "validate_registration",
    "validate_status_filter",
]

DEFAULT_BASE_URL = "https://app.qamera.ai"
API_KEY_ENV = "QAMERA_API_KEY"
BASE_URL_ENV = "QAMERA_BASE_URL"
POLL_MIN_INTERVAL, POLL_MAX_INTERVAL = 1.0, 5.0
ACCEPT_ENCODING = "gzip, deflate"  # what BoundedDecoder undoes; never br or zstd, whatever is installed
MAX_BACKOFF_ATTEMPT = 3  # backoff grows 1, 2, 4, 8 s and stays there: the service may come back any time


def size_text(nbytes: int) -> str:
    """'64 MiB' for whole mebibytes, else '1,500 bytes': caps are named as they were set."""
    return f"{nbytes // 2**20} MiB" if nbytes >= 2**20 and nbytes % 2**20 == 0 else f"{nbytes:,} bytes"


class BodyTooLarge(Exception):
    """The decoded body passed its decoder's limit."""


class UnsupportedEncoding(ValueError):
    """A Content-Encoding the client never asked for (see `ACCEPT_ENCODING`)."""


class BoundedDecoder:
    """Undoes a Content-Encoding (identity, gzip or deflate) chunk by chunk, never producing more than
    `limit` bytes in all: zlib is asked for at most what is left, so a bomb stops at the limit instead of
    expanding in memory first. The API client and the thumbnail loader both read bodies through it, so
    they ask for the same encodings (`ACCEPT_ENCODING`)."""

    def __init__(self, encoding: str, limit: int) -> None:
        name = encoding.strip().lower()
        if name in ("", "identity"):
            self._zlib = None
        elif name in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif name == "deflate":
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS)  # zlib-wrapped, as RFC 9110 says
        else:
            raise UnsupportedEncoding(f"unsupported Content-Encoding {encoding!r}")
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
            raise BodyTooLarge(f"the answer is larger than {size_text(self.limit)} once decompressed")
        self._parts.append(chunk)

    def result(self) -> bytes:
        return b"".join(self._parts)


def validate_options(timeout: object, max_retries: object, rate_limit_per_minute: object) -> None:
    """Refuse a client option that would only fail later, deep inside a request, with a sentence that says
    what to pass instead (a ValueError: it is the caller's argument, not the server's answer)."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a number of seconds above 0, like 30, not {timeout!r}.")
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ValueError(f"max_retries must be a whole number, 0 or more, not {max_retries!r}.")
    limit = rate_limit_per_minute
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValueError(
            "rate_limit_per_minute must be a whole number of requests (0 or None paces nothing), "
            f"not {limit!r}."
        )


def validate_status_filter(status_filter: str) -> str:
    if status_filter not in STATUS_FILTERS:
        raise InvalidRequestError(f"status_filter must be 'all' or 'approved', not {status_filter!r}.")
    return status_filter


def validate_registration(preferences: object, count: object) -> tuple[str, int]:
    """Refuse what the server would refuse, before anything is sent or reserved."""
    problem = _registration_problem(preferences, count)
    if problem is not None:
        raise InvalidRequestError(_registration_sentence(problem, preferences, count))
    assert isinstance(preferences, str) and isinstance(count, int)
    return preferences, count


def _registration_sentence(problem: RegistrationProblem, preferences: object, count: object) -> str:
    if problem is RegistrationProblem.PREFERENCES_NOT_TEXT:
        return f"preferences must be text describing the scenery, not {type(preferences).__name__}."
    if problem is RegistrationProblem.PREFERENCES_BLANK:
        return "preferences is blank: describe the scenery you want generated."
    if problem is RegistrationProblem.PREFERENCES_NOT_UNICODE:
        return (
            "preferences contains characters that are not valid Unicode text (a lone surrogate); "
            "retype or re-paste the description."
        )
    if problem is RegistrationProblem.PREFERENCES_TOO_LONG:
        return (
            f"preferences is {len(str(preferences))} characters long; the limit is {MAX_PREFERENCES_CHARS}. "
            "Shorten the description."
        )
    if problem is RegistrationProblem.COUNT_NOT_WHOLE:
        return f"count must be a whole number from {MIN_COUNT} to {MAX_COUNT}, not {count!r}."
    return f"count must be from {MIN_COUNT} to {MAX_COUNT}, not {count}."


def backoff_delay(attempt: int, rng: random.Random | None = None, *, base: float = 1.0) -> float:
    """The package's one backoff: `base` times 1, 2, 4, 8 and then 8 for good, plus up to half a `base` of
    jitter. A 1 s base (the client's retries and polls) is what the public reference recommends; the
    thumbnail loader uses a shorter one for its CDN."""
    jitter = (rng or random).uniform(0.0, base / 2)
    return base * float(2 ** min(max(attempt, 0), MAX_BACKOFF_ATTEMPT)) + jitter


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


def diff_sceneries(previous: Mapping[str, Scenery], current: Mapping[str, Scenery]) -> dict[str, Scenery]:
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


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
