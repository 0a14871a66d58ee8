"""The outermost layer of the sandbox's two apps: a correlation id and one log line per request, the
request counters, and the dropped-connection fault (which must act below Starlette, on raw ASGI)."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .state import SandboxState

__all__ = ["DROP_HEADER", "ConnectionDropped", "RequestLog", "hide_dropped_connections"]

log = logging.getLogger("qamera_widgets.sandbox")

DROP_HEADER = "x-sandbox-drop-connection"
"""Set by a handler on a response whose connection is to be dropped once it started (a fault)."""
_CORRELATION_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class ConnectionDropped(Exception):
    """Raised after the response headers went out, so the server cuts the connection mid-response."""


class RequestLog:
    """Outermost layer of both apps: correlation id on every response and in one log line per request,
    request counters, and the dropped-connection fault (which must act below Starlette, on raw ASGI)."""

    def __init__(self, app: ASGIApp, state: SandboxState, listener: str) -> None:
        self.app = app
        self.state = state
        self.listener = listener

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        offered = headers.get("x-correlation-id", "")
        correlation_id = offered if _CORRELATION_ID.fullmatch(offered) else uuid.uuid4().hex
        self._count(scope["path"], headers)
        status = 0
        drop = False
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, drop
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers = MutableHeaders(scope=message)
                drop = DROP_HEADER in response_headers
                if drop:
                    del response_headers[DROP_HEADER]
                response_headers["X-Correlation-Id"] = correlation_id
                await send(message)
            elif not drop:
                await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            log.info(
                "%s %s %s %s %.1fms correlation_id=%s%s",
                self.listener,
                _printable(scope["method"]),
                _printable(scope["path"]),
                status,
                elapsed_ms,
                correlation_id,
                " (connection dropped)" if drop else "",
            )
        if drop:
            self.state.stats.dropped_connections += 1
            raise ConnectionDropped("dropped on purpose after the response started")

    def _count(self, path: str, headers: Headers) -> None:
        stats = self.state.stats
        if self.listener == "cdn":
            stats.cdn_requests += 1
            if "x-api-key" in headers or "authorization" in headers:
                stats.cdn_requests_with_credentials += 1
        elif not path.startswith("/sandbox/"):
            stats.api_requests += 1


def _printable(text: str) -> str:
    """Control characters and backslashes escaped: a decoded `%0A` in a path must not start a forged log
    line, nor `\\x1b` drive a terminal."""
    return text.encode("unicode_escape").decode("ascii")


class HideDroppedConnections(logging.Filter):
    """Keeps uvicorn from printing a traceback for connections the sandbox drops on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


def hide_dropped_connections() -> None:
    """Keep uvicorn from printing a traceback for each connection the sandbox drops on purpose.

    uvicorn reports an app's errors on its module-level "uvicorn.error" logger, so the filter can only go
    there, which makes it process-wide; it hides nothing but `ConnectionDropped`, which only this app
    raises. Installed once, when the first sandbox starts, never at import.
    """
    errors = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, HideDroppedConnections) for f in errors.filters):
        errors.addFilter(HideDroppedConnections())
