"""One exception hierarchy for everything the client can report.

Messages are written for a person in a notebook: what happened and what to do next.
No message, attribute or repr here ever contains the API key: bodies are server JSON,
headers are never copied in.
"""

from __future__ import annotations

from typing import Any

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

    `message` is the body's `error` field when there is one; `body` is the parsed JSON (or text).
    """

    status_code: int = 0

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: Any = None,
        correlation_id: str | None = None,
        hint: str = "",
    ) -> None:
        self.status_code = status_code
        self.message = message
        self.body = body
        self.correlation_id = correlation_id
        self.hint = hint
        super().__init__(self._compose())

    def _compose(self) -> str:
        text = f"HTTP {self.status_code}: {self.message}"
        if self.hint:
            text += f" {self.hint}"
        if self.correlation_id:
            text += f" (correlation id {self.correlation_id})"
        return text


class BadRequestError(APIStatusError):
    """400: the server refused the request body or query."""


class AuthenticationError(APIStatusError):
    """401: the key is missing, unknown, expired or revoked."""


class InsufficientCreditsError(APIStatusError):
    """402: the account cannot cover the reservation; nothing was charged."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 402,
        body: Any = None,
        correlation_id: str | None = None,
        hint: str = "",
        required: int | None = None,
        available: int | None = None,
    ) -> None:
        self.required = required
        self.available = available
        super().__init__(
            message, status_code=status_code, body=body, correlation_id=correlation_id, hint=hint
        )


class PermissionDeniedError(APIStatusError):
    """403: the key lacks a scope the endpoint needs."""


class NotFoundError(APIStatusError):
    """404: unknown path or resource (often a wrong base URL)."""


class RateLimitError(APIStatusError):
    """429: too many requests for this key; retries were exhausted or would wait too long."""


class InternalServerError(APIStatusError):
    """5xx: the server failed."""


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
