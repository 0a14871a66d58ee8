"""One exception hierarchy for everything the client can report.

Messages are written for a person in a notebook: what happened and what to do next.
No message, attribute or repr here ever contains the API key: bodies are server JSON,
headers are never copied in.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..contract import parse_insufficient_credits

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "InsufficientCreditsError",
    "InternalServerError",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "QameraError",
    "RateLimitError",
    "ResponseFormatError",
    "SubmissionUnconfirmedError",
    "WaitTimeoutError",
]


class QameraError(Exception):
    """Base of every error this package raises, so one `except QameraError` catches them all."""


class ConfigurationError(QameraError):
    """The client cannot be used as configured (missing or malformed key, bad base URL)."""


class InvalidRequestError(QameraError, ValueError):
    """Arguments that the server would refuse; raised before any request, so nothing is charged."""


class ResponseFormatError(QameraError):
    """The server answered 200 with a body that is not the documented shape."""


class APIConnectionError(QameraError):
    """The server could not be reached or the connection broke before an answer arrived."""


class APITimeoutError(APIConnectionError):
    """The server did not answer within the timeout."""


class APIStatusError(QameraError):
    """The server answered with an error status.

    `message` is the body's `error` field when there is one; `body` is the parsed JSON (or text). The
    sentence a person reads (`str(exc)`) is built by the class from `headline` and `hint`, so every view
    shows the same words for the same error. A subclass declares its status and words in its class line
    (`class X(APIStatusError, status=..., headline=..., hint=...)`), which also files it in the one table
    from status to class that `status_error_class` reads.
    """

    status_code: int = 0
    headline = "The server answered {status}"
    hint = ""
    _by_status: ClassVar[dict[int, type[APIStatusError]]] = {}

    def __init_subclass__(
        cls, *, status: int | None = None, headline: str | None = None, hint: str | None = None, **kwargs: Any
    ) -> None:
        """A subclass without `status` (say, a user's own refinement) keeps its parent's words and entry."""
        super().__init_subclass__(**kwargs)
        cls.headline = headline if headline is not None else cls.headline
        cls.hint = hint if hint is not None else cls.hint
        if status is None:
            return
        if status in APIStatusError._by_status:
            raise TypeError(f"Status {status} already has {APIStatusError._by_status[status].__name__}.")
        cls.status_code = status
        APIStatusError._by_status[status] = cls

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        body: Any = None,
        correlation_id: str | None = None,
        key_id: str | None = None,
    ) -> None:
        if status_code is not None:
            self.status_code = status_code
        self.message = message
        self.body = body
        self.correlation_id = correlation_id
        self.key_id = key_id
        super().__init__(self._compose())

    def _what_happened(self) -> str:
        lead = self.headline.format(status=self.status_code)
        detail = self.message.strip().rstrip(".")
        return f"{lead}: {detail}." if detail else f"{lead}."

    def _compose(self) -> str:
        text = self._what_happened()
        if self.hint:
            text += f" {self.hint}"
        trace = [f"key id {self.key_id}"] if self.key_id else []
        trace += [f"correlation id {self.correlation_id}"] if self.correlation_id else []
        return f"{text} ({', '.join(trace)})" if trace else text


class BadRequestError(
    APIStatusError,
    status=400,
    headline="The server refused the request ({status})",
    hint="Fix the field it names.",
):
    """400: the server refused the request body or query."""


class AuthenticationError(
    APIStatusError,
    status=401,
    headline="The API key was rejected ({status})",
    hint="Check QAMERA_API_KEY or create a new key in the Qamera dashboard.",
):
    """401: the key is missing, unknown, expired or revoked."""


class InsufficientCreditsError(
    APIStatusError,
    status=402,
    headline="Not enough credits ({status})",
    hint="Nothing was charged. Top up credits or request fewer sceneries.",
):
    """402: the account cannot cover the reservation; nothing was charged."""

    @property
    def required(self) -> int | None:
        """Credits the job needed, when the server named them."""
        return parse_insufficient_credits(self.message)[0]

    @property
    def available(self) -> int | None:
        """Credits the account had, when the server named them."""
        return parse_insufficient_credits(self.message)[1]

    def _what_happened(self) -> str:
        if self.required is None or self.available is None:
            return super()._what_happened()
        return f"Not enough credits: this needs {self.required}, the account has {self.available}."


class PermissionDeniedError(
    APIStatusError,
    status=403,
    headline="This key is not allowed to do that ({status})",
    hint="Use a key with the scope it names.",
):
    """403: the key lacks a scope the endpoint needs."""


class NotFoundError(
    APIStatusError,
    status=404,
    headline="The server does not know this endpoint ({status})",
    hint="Check the base URL (QAMERA_BASE_URL).",
):
    """404: unknown path or resource (often a wrong base URL)."""


class RateLimitError(
    APIStatusError,
    status=429,
    headline="Too many requests for this key ({status})",
    hint="Wait a minute and try again.",
):
    """429: too many requests for this key; retries were exhausted or would wait too long."""


class InternalServerError(
    APIStatusError,
    status=500,
    headline="The server failed ({status})",
    hint="Try again in a moment.",
):
    """5xx: the server failed (any status from 500 up is this class)."""


def status_error_class(status_code: int) -> type[APIStatusError]:
    """The one table from an error status to its class (any 5xx is `InternalServerError`)."""
    if status_code >= 500:
        return InternalServerError
    return APIStatusError._by_status.get(status_code, APIStatusError)


class SubmissionUnconfirmedError(QameraError):
    """A generating POST was sent but its outcome is unknown: the job may exist and may be charged.

    Retrying with the same `idempotency_key` is safe where the server honours it; otherwise check
    the scenery list first.
    """

    def __init__(self, message: str, *, idempotency_key: str, cause: str = "") -> None:
        self.idempotency_key = idempotency_key
        self.cause = cause
        super().__init__(message)


class WaitTimeoutError(QameraError):
    """`wait_for` reached its deadline; `snapshot` holds the last known state of every id."""

    def __init__(self, message: str, *, snapshot: dict[str, Any]) -> None:
        self.snapshot = snapshot
        super().__init__(message)
