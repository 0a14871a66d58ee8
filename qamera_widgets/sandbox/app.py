"""The two web apps: the Qamera API origin (plus the admin-only `/sandbox/*` endpoints) and the CDN origin
that serves thumbnails. Routes are listed at the bottom; every endpoint is a small function.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
from datetime import datetime, timezone
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from ..contract import (
    DEFAULT_COUNT,
    DEFAULT_STATUS_FILTER,
    DONE,
    LIST_PATH,
    MAX_COUNT,
    MAX_PREFERENCES_CHARS,
    MIN_COUNT,
    REGISTER_PATH,
    STATUS_FILTERS,
    RegistrationProblem,
    parse_key,
    registration_problem,
)
from .ledger import InsufficientCredits
from .render import render_key, render_to_file
from .request_log import DROP_HEADER, RequestLog
from .state import SandboxState
from .store import MAX_CREDITS, REGISTER_SCOPE, ApiKey, IdempotencyConflict, SceneryRow

log = logging.getLogger("qamera_widgets.sandbox")

MAX_BODY_BYTES = 64 * 1024
# Bodies a little over the limit are read to the end so the client gets the 413 instead of a broken pipe.
DRAIN_LIMIT_BYTES = 1024 * 1024
# RFC 9110: the scheme and the token are separated by one or more spaces or tabs.
_BEARER = re.compile(r"bearer[ \t]+(\S+)[ \t]*", re.IGNORECASE)


class ApiError(Exception):
    """Ends a request with `{"error": message}` and the given status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


_REGISTRATION_ERRORS = {
    RegistrationProblem.PREFERENCES_NOT_TEXT: "'preferences' must be a string.",
    RegistrationProblem.PREFERENCES_BLANK: "'preferences' must not be blank.",
    RegistrationProblem.PREFERENCES_NOT_UNICODE: "'preferences' must be valid Unicode text.",
    RegistrationProblem.PREFERENCES_TOO_LONG: (
        f"'preferences' must be at most {MAX_PREFERENCES_CHARS} characters."
    ),
    RegistrationProblem.COUNT_NOT_WHOLE: "'count' must be an integer.",
    RegistrationProblem.COUNT_TOO_SMALL: f"'count' must be at least {MIN_COUNT}.",
    RegistrationProblem.COUNT_TOO_LARGE: f"'count' must be at most {MAX_COUNT}.",
}


def parse_register_body(body: Any) -> tuple[str, int]:
    """(preferences, count) from a register-ideas body, or the 400 that names what is wrong."""
    if not isinstance(body, dict):
        raise ApiError(400, "Request body must be a JSON object.")
    if "preferences" not in body or body["preferences"] is None:
        raise ApiError(400, "'preferences' is required.")
    preferences, count = body["preferences"], body.get("count", DEFAULT_COUNT)
    # JSON has one number type: 5.0 is the integer 5 to a JavaScript server, 5.5 and true are not.
    if isinstance(count, float) and count.is_integer():
        count = int(count)
    problem = registration_problem(preferences, count)
    if problem is not None:
        raise ApiError(400, _REGISTRATION_ERRORS[problem])
    return preferences, count


def parse_status_filter(value: str | None) -> bool:
    """Whether only approved sceneries are wanted."""
    chosen = DEFAULT_STATUS_FILTER if value is None else value
    if chosen not in STATUS_FILTERS:
        raise ApiError(400, "'statusFilter' must be 'all' or 'approved'.")
    return chosen == "approved"


def format_timestamp(ms: int) -> str:
    moment = datetime.fromtimestamp(ms // 1000, tz=timezone.utc)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def scenery_json(row: SceneryRow, cdn_url: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "thumbnail": f"{cdn_url}/sceneries/{row.id}.jpg" if row.status == DONE else None,
        "status": row.status,
        "voting": row.voting,
        "createdAt": format_timestamp(row.created_ms),
    }


def _state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


def _bearer(headers: Headers) -> str | None:
    match = _BEARER.fullmatch(headers.get("authorization", "").strip())
    return match.group(1) if match else None


def _presented_key(headers: Headers) -> str | None:
    """X-Api-Key when it holds something (it wins, even when wrong), otherwise a Bearer token: an empty
    X-Api-Key header next to a valid Bearer is no key at all, not a missing one."""
    offered = headers.get("x-api-key", "").strip()
    return offered or _bearer(headers)


async def _injected_faults(state: SandboxState, latency_ms: float, error_rate: float) -> None:
    """An origin's injected faults: its delay, then perhaps a 500."""
    if latency_ms:
        await asyncio.sleep(latency_ms / 1000)
    if error_rate and state.fault_rng.random() < error_rate:
        state.stats.injected_errors += 1
        raise ApiError(500, "Internal server error.")


async def _admit(request: Request, *, scope: str | None = None) -> ApiKey:
    """Injected faults, then authentication, rate limit and scope, in the order a client meets them."""
    state = _state(request)
    await _injected_faults(state, state.faults.api_latency_ms, state.faults.api_error_rate)
    raw_key = _presented_key(request.headers)
    if not raw_key:
        raise ApiError(401, "Missing API key. Send it in the X-Api-Key header.")
    key = state.store.authenticate(raw_key)
    if key is None:
        raise ApiError(401, "Invalid API key.")
    if not state.limiter.allow(key.key_id):
        state.stats.rate_limited += 1
        raise ApiError(429, "Too many requests. Please retry after a short delay.")
    if scope is not None and scope not in key.scopes:
        raise ApiError(403, f"Missing required scope: '{scope}'.")
    return key


def _require_admin(request: Request) -> None:
    token = _state(request).admin_token
    offered = [request.headers.get("x-admin-token"), _bearer(request.headers)]
    if not any(value and hmac.compare_digest(value.encode(), token.encode()) for value in offered):
        raise ApiError(401, "The /sandbox endpoints need the admin token (Authorization: Bearer <token>).")


async def _read_json(request: Request) -> Any:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > DRAIN_LIMIT_BYTES:
        raise ApiError(413, f"Request body too large (limit {MAX_BODY_BYTES} bytes).")
    size = 0
    chunks: list[bytes] = []
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size <= MAX_BODY_BYTES:
                chunks.append(chunk)
            elif size > DRAIN_LIMIT_BYTES:
                break
    except ClientDisconnect:
        # Nobody is left to answer, and nothing was registered: one log line, no traceback.
        raise ApiError(400, "The client disconnected before sending the whole body.") from None
    if size > MAX_BODY_BYTES:
        raise ApiError(413, f"Request body too large (limit {MAX_BODY_BYTES} bytes).")
    try:
        return json.loads(b"".join(chunks), parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise ApiError(400, "Request body must be valid JSON.") from None


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _idempotency(request: Request, preferences: str, count: int) -> tuple[str, str] | None:
    """(key, hash of the request as understood): `count: 2.0` and `count: 2` are one request, so a resend
    spelled either way replays the job instead of conflicting."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not 1 <= len(key.strip()) <= 255:
        raise ApiError(400, "'Idempotency-Key' must be 1 to 255 characters.")
    canonical = json.dumps({"count": count, "preferences": preferences}, separators=(",", ":"))
    return key.strip(), hashlib.sha256(canonical.encode()).hexdigest()


def _cdn_url(request: Request) -> str:
    state = _state(request)
    if state.cdn_url:
        return state.cdn_url
    # Bound to a wildcard address: thumbnails go to whatever host name the caller reached us by.
    host = request.url.hostname or "127.0.0.1"
    return f"http://{f'[{host}]' if ':' in host else host}:{state.cdn_port}"


async def index(request: Request) -> Response:
    return JSONResponse(
        {
            "service": "Qamera sandbox",
            "endpoints": [f"GET {LIST_PATH}", f"POST {REGISTER_PATH}"],
        }
    )


async def list_sceneries(request: Request) -> Response:
    state = _state(request)
    state.stats.list_requests += 1
    key = await _admit(request)
    approved_only = parse_status_filter(request.query_params.get("statusFilter"))
    cdn_url = _cdn_url(request)
    items = [
        scenery_json(row, cdn_url)
        for row in state.store.list_sceneries(key.account_id, approved_only=approved_only)
    ]
    return JSONResponse({"sceneries": items, "count": len(items)})


async def register_ideas(request: Request) -> Response:
    state = _state(request)
    state.stats.register_requests += 1
    key = await _admit(request, scope=REGISTER_SCOPE)
    body = await _read_json(request)
    preferences, count = parse_register_body(body)
    try:
        result, replayed = state.store.register(
            key.account_id, preferences, count, idempotency=_idempotency(request, preferences, count)
        )
    except InsufficientCredits as exc:
        raise ApiError(402, str(exc)) from None
    except IdempotencyConflict:
        raise ApiError(409, "This Idempotency-Key was already used with a different request body.") from None
    headers = {}
    if replayed:
        state.stats.idempotent_replays += 1
        headers["Idempotent-Replayed"] = "true"
    else:
        state.stats.registered_batches += 1
        if state.work_available is not None:
            state.work_available.set()
    if state.faults.drop_after_register > 0:
        state.faults.drop_after_register -= 1
        headers[DROP_HEADER] = "1"
    return JSONResponse(result, headers=headers)


async def sandbox_account(request: Request) -> Response:
    _require_admin(request)
    state = _state(request)
    key_id = request.query_params.get("key_id")
    if key_id is None:
        account_id = state.default_account_id
    else:
        parts = parse_key(key_id)
        found = state.store.account_of_key(parts.key_id if parts else key_id)
        if found is None:
            raise ApiError(404, "No such key.")
        account_id = found
    return JSONResponse(state.store.ledger(account_id).as_dict())


async def sandbox_info(request: Request) -> Response:
    _require_admin(request)
    return JSONResponse({"cdnUrl": _cdn_url(request)})


async def sandbox_stats(request: Request) -> Response:
    _require_admin(request)
    stats = _state(request).stats
    if request.method == "DELETE":
        stats.reset()
    return JSONResponse(stats.as_dict())


async def sandbox_keys(request: Request) -> Response:
    """Issue a key with its own account, as `Sandbox.issue_key` does in-process."""
    _require_admin(request)
    body = await _read_json(request)
    if not isinstance(body, dict):
        raise ApiError(400, "Request body must be a JSON object.")
    credits = body.get("credits", 1000)
    scopes = body.get("scopes", [REGISTER_SCOPE])
    if isinstance(credits, bool) or not isinstance(credits, int) or not 0 <= credits <= MAX_CREDITS:
        raise ApiError(400, f"'credits' must be an integer from 0 to {MAX_CREDITS}.")
    if not isinstance(scopes, list) or not all(isinstance(scope, str) for scope in scopes):
        raise ApiError(400, "'scopes' must be a list of strings.")
    return JSONResponse({"apiKey": _state(request).store.issue_account_key(credits, scopes)})


async def sandbox_faults(request: Request) -> Response:
    _require_admin(request)
    faults = _state(request).faults
    if request.method == "POST":
        changes = await _read_json(request)
        if not isinstance(changes, dict):
            raise ApiError(400, "Request body must be a JSON object.")
        try:
            faults.update(**changes)
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
    return JSONResponse(faults.as_dict())


async def cdn_scenery(request: Request) -> Response:
    state = _state(request)
    await _injected_faults(state, state.faults.cdn_latency_ms, state.faults.cdn_error_rate)
    row = state.store.scenery(request.path_params["scenery_id"])
    if row is None or row.status != DONE:
        raise ApiError(404, "Not found.")
    name = render_key(row.prompt, row.item_index)
    headers = {
        "ETag": f'"{name}"',
        "Cache-Control": "public, max-age=31536000, immutable",
        "Access-Control-Allow-Origin": "*",
    }
    if _etag_matches(request.headers.get("if-none-match"), name):
        return Response(status_code=304, headers=headers)
    path = state.renders_dir / f"{name}.jpg"
    if not path.exists():
        async with state.render_locks.setdefault(name, asyncio.Lock()):
            if not path.exists():
                state.stats.cdn_renders += 1
                await asyncio.to_thread(render_to_file, row.prompt, row.item_index, path)
        state.render_locks.pop(name, None)
    return Response(await asyncio.to_thread(path.read_bytes), media_type="image/jpeg", headers=headers)


def _etag_matches(if_none_match: str | None, name: str) -> bool:
    if not if_none_match:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or f'"{name}"' in tags


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse({"error": exc.message}, status_code=exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    messages = {404: "Not found.", 405: "Method not allowed."}
    message = messages.get(exc.status_code, exc.detail)
    return JSONResponse({"error": message}, status_code=exc.status_code, headers=exc.headers)


async def _internal_error(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": "Internal server error."}, status_code=500)


_ERROR_HANDLERS: dict[Any, Any] = {
    ApiError: _api_error,
    HTTPException: _http_error,
    Exception: _internal_error,
}


def build_api_app(state: SandboxState) -> ASGIApp:
    routes = [
        Route("/", index, methods=["GET"]),
        Route(LIST_PATH, list_sceneries, methods=["GET"]),
        Route(REGISTER_PATH, register_ideas, methods=["POST"]),
        Route("/sandbox/account", sandbox_account, methods=["GET"]),
        Route("/sandbox/info", sandbox_info, methods=["GET"]),
        Route("/sandbox/stats", sandbox_stats, methods=["GET", "DELETE"]),
        Route("/sandbox/keys", sandbox_keys, methods=["POST"]),
        Route("/sandbox/faults", sandbox_faults, methods=["GET", "POST"]),
    ]
    app = Starlette(routes=routes, exception_handlers=_ERROR_HANDLERS)
    app.state.sandbox = state
    return RequestLog(app, state, "api")


def build_cdn_app(state: SandboxState) -> ASGIApp:
    app = Starlette(
        routes=[Route("/sceneries/{scenery_id}.jpg", cdn_scenery, methods=["GET"])],
        exception_handlers=_ERROR_HANDLERS,
    )
    app.state.sandbox = state
    return RequestLog(app, state, "cdn")
