"""HTTP client for the Qamera sceneries API; knows nothing of widgets."""

from .async_client import AsyncQameraClient
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    InsufficientCreditsError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    QameraError,
    RateLimitError,
    ResponseFormatError,
    SubmissionUnconfirmedError,
    WaitTimeoutError,
)
from .models import Registration, Scenery
from .sync_client import QameraClient

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncQameraClient",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "InsufficientCreditsError",
    "InternalServerError",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "QameraClient",
    "QameraError",
    "RateLimitError",
    "Registration",
    "ResponseFormatError",
    "Scenery",
    "SubmissionUnconfirmedError",
    "WaitTimeoutError",
]
