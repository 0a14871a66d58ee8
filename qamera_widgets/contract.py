"""The Qamera sceneries API's contract: its constants and pure rules, in one place.

The client follows these rules so it refuses locally what the server would refuse, and the sandbox
enforces them so it answers as the service does. Both import this module, so a limit the API raises
changes here once. It imports nothing from the package (the sandbox may import it and nothing else of
the client) and does no I/O.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from enum import Enum
from typing import NamedTuple

__all__ = [
    "DEFAULT_COUNT",
    "DEFAULT_STATUS_FILTER",
    "DONE",
    "FAILED",
    "FAILED_STATUSES",
    "KEY_CHARACTERS",
    "LIST_PATH",
    "LIVE_KEY_ENV",
    "MAX_COUNT",
    "MAX_PREFERENCES_CHARS",
    "MIN_COUNT",
    "PRICE_PER_ITEM",
    "RATE_LIMIT_PER_MINUTE",
    "RATE_WINDOW_SECONDS",
    "REGISTER_PATH",
    "START_COUNT",
    "STATUS_FILTERS",
    "TERMINAL_STATUSES",
    "KeyParts",
    "RegistrationProblem",
    "SlidingWindow",
    "format_key",
    "insufficient_credits_message",
    "is_key_character",
    "key_id_of",
    "parse_insufficient_credits",
    "parse_key",
    "price_for",
    "registration_problem",
]

LIST_PATH = "/api/external/sceneries"
REGISTER_PATH = "/api/external/sceneries/register-ideas"

STATUS_FILTERS = ("all", "approved")
DEFAULT_STATUS_FILTER = "all"

MAX_PREFERENCES_CHARS = 2000
MIN_COUNT, MAX_COUNT, DEFAULT_COUNT = 1, 20, 10
"""DEFAULT_COUNT is the API's: what a registration without a count gets (the sandbox and client keep it)."""
START_COUNT = 4
"""The prompt form's first count, not the API's: exploring at four pictures costs 40 credits, not 100."""
PRICE_PER_ITEM = 10
"""Credits reserved per requested scenery; consumed when it is DONE, refunded when it fails."""

RATE_LIMIT_PER_MINUTE = 60
RATE_WINDOW_SECONDS = 60.0

DONE, FAILED = "DONE", "FAILED"
TERMINAL_STATUSES = frozenset({DONE, FAILED, "ERROR", "CANCELLED", "CANCELED", "REJECTED"})
FAILED_STATUSES = TERMINAL_STATUSES - {DONE}

LIVE_KEY_ENV = "live"
# Letters, digits and the URL-safe and base64 punctuation: anything else (a control character, a space, a
# non-ASCII letter) cannot be a real key and would put the key into an HTTP library's error text.
KEY_CHARACTERS = "A-Za-z0-9._~+/=-"
_KEY_PATTERN = re.compile(
    rf"^mk_(?P<env>[A-Za-z0-9]+)_(?P<key_id>[A-Za-z0-9-]+)\.(?P<secret>[{KEY_CHARACTERS}]+)$"
)
_KEY_CHARACTER = re.compile(rf"[{KEY_CHARACTERS}]")


def price_for(count: int) -> int:
    """Credits a registration of `count` sceneries reserves."""
    return PRICE_PER_ITEM * count


_CREDITS_PATTERN = re.compile(r"required:\s*(\d+)\D+available:\s*(-?\d+)", re.IGNORECASE)


def insufficient_credits_message(required: int, available: int) -> str:
    """The 402 answer's `error`, which names both numbers."""
    return f"Insufficient credits. Required: {required}, available: {available}."


def parse_insufficient_credits(message: str) -> tuple[int | None, int | None]:
    """(required, available) from a 402 answer's `error`, or (None, None) when it does not name them."""
    match = _CREDITS_PATTERN.search(message or "")
    if match is None:
        return None, None
    return int(match.group(1)), int(match.group(2))


class KeyParts(NamedTuple):
    """A key `mk_<env>_<keyId>.<secret>` taken apart; `key_id` is public, `secret` never shown."""

    env: str
    key_id: str
    secret: str


def parse_key(raw: str) -> KeyParts | None:
    """The parts of a key as given (no trimming), or None when it is not shaped like a key."""
    match = _KEY_PATTERN.match(raw)
    return None if match is None else KeyParts(match["env"], match["key_id"], match["secret"])


def key_id_of(key: str | None) -> str | None:
    """The public part of a key (`keyId`), safe to show in reprs and journals."""
    parts = parse_key(key.strip()) if key else None
    return parts.key_id if parts else None


def format_key(key_id: str, secret: str, env: str = LIVE_KEY_ENV) -> str:
    return f"mk_{env}_{key_id}.{secret}"


def is_key_character(char: str) -> bool:
    return _KEY_CHARACTER.fullmatch(char) is not None


class RegistrationProblem(Enum):
    """Why a register-ideas request is refused; each side words it for its own reader."""

    PREFERENCES_NOT_TEXT = "preferences_not_text"
    PREFERENCES_BLANK = "preferences_blank"
    PREFERENCES_NOT_UNICODE = "preferences_not_unicode"
    PREFERENCES_TOO_LONG = "preferences_too_long"
    COUNT_NOT_WHOLE = "count_not_whole"
    COUNT_TOO_SMALL = "count_too_small"
    COUNT_TOO_LARGE = "count_too_large"


def registration_problem(preferences: object, count: object) -> RegistrationProblem | None:
    """The first rule a registration breaks, preferences before count, or None when the server accepts it.

    `count` must already be a Python int: a JSON number such as 5.0 is the sandbox's to convert first.
    """
    if not isinstance(preferences, str):
        return RegistrationProblem.PREFERENCES_NOT_TEXT
    if not preferences.strip():
        return RegistrationProblem.PREFERENCES_BLANK
    try:
        preferences.encode("utf-8")
    except UnicodeEncodeError:  # JSON can carry lone surrogates that no UTF-8 store can keep
        return RegistrationProblem.PREFERENCES_NOT_UNICODE
    if len(preferences) > MAX_PREFERENCES_CHARS:
        return RegistrationProblem.PREFERENCES_TOO_LONG
    if isinstance(count, bool) or not isinstance(count, int):
        return RegistrationProblem.COUNT_NOT_WHOLE
    if count < MIN_COUNT:
        return RegistrationProblem.COUNT_TOO_SMALL
    if count > MAX_COUNT:
        return RegistrationProblem.COUNT_TOO_LARGE
    return None


class SlidingWindow:
    """At most `limit` requests in any `window` seconds: the server refuses past it (`admit`), a client
    books ahead to stay under it (`reserve`).

    Booked times are in the future when the window is full, so concurrent callers queue up in order
    instead of all waking at once and tripping the server's limit.
    """

    def __init__(self, window: float = RATE_WINDOW_SECONDS) -> None:
        self.window = window
        self._slots: deque[float] = deque()
        self._lock = threading.Lock()

    def _prune(self, now: float) -> None:
        while self._slots and self._slots[0] <= now - self.window:
            self._slots.popleft()

    def reserve(self, now: float, limit: int) -> float:
        """Book a slot for a caller allowed `limit` per window and say how long to wait for it; callers
        with a lower limit wait longer."""
        with self._lock:
            self._prune(now)
            at = now
            if len(self._slots) >= limit:
                at = max(now, self._slots[-limit] + self.window)
            self._slots.append(at)
            return at - now

    def admit(self, now: float, limit: int) -> bool:
        """Count a request arriving now if fewer than `limit` were counted in the window; a refusal is
        not counted."""
        with self._lock:
            self._prune(now)
            if len(self._slots) >= limit:
                return False
            self._slots.append(now)
            return True
