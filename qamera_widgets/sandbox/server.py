"""Runs the sandbox in a background thread of the current process and hands back a `Sandbox` to steer it.

One daemon thread owns one event loop with two uvicorn listeners (API and CDN) and the worker. The
listening sockets are bound before the thread starts, so port 0 works and the URLs are known at once.
"""

from __future__ import annotations

import asyncio
import atexit
import ipaddress
import logging
import random
import secrets
import shutil
import socket
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from ..contract import RATE_LIMIT_PER_MINUTE, key_id_of
from .app import build_api_app, build_cdn_app
from .datadir import DataDirLock
from .handle import HandleBase
from .request_log import hide_dropped_connections
from .state import Faults, SandboxState, Settings, SlidingWindowLimiter
from .store import MAX_CREDITS, REGISTER_SCOPE, LibraryItem, Store, now_ms, scenery_name
from .worker import Worker

log = logging.getLogger("qamera_widgets.sandbox")

START_TIMEOUT_SECONDS = 20.0
STOP_TIMEOUT_SECONDS = 10.0
_WILDCARD_HOSTS = ("", "0.0.0.0", "::")

LIBRARY_PROMPTS = (
    "white marble studio with soft window light",
    "warm oak wood tabletop, morning sunlight",
    "raw concrete industrial loft",
    "sunny beach with fine sand and sea",
    "forest floor with moss and plants",
    "neon night, cyberpunk glow",
    "pastel pink soft backdrop",
    "navy velvet luxury display",
    "terrazzo floor by a window",
    "blue tiles bathroom shelf",
    "beige linen, calm and warm",
    "black stone, moody night",
    "sage green tropical plants",
    "cream walnut wood, sunset",
    "grey cement, cool winter light",
    "yellow pastel summer",
    "terracotta tiles in warm light",
    "white tiles, clean kitchen",
    "purple neon synthwave",
    "gold marble, dark and moody",
    "lilac fabric, soft pastel",
    "teal sea coast",
    "red velvet evening",
    "minimal white studio",
)


def library_items(count: int, now: int) -> list[LibraryItem]:
    """Ready sceneries for a fresh account: varied prompts, mostly approved, some awaiting a vote, one
    rejected, created over the past weeks."""
    items = []
    for i in range(count):
        prompt = LIBRARY_PROMPTS[i % len(LIBRARY_PROMPTS)]
        voting = "REJECTED" if i == 2 else "PENDING" if i % 3 == 1 else "APPROVED"
        created = now - (i + 1) * 5 * 3600_000 - (i * 7919 % 3600) * 1000
        items.append(LibraryItem(scenery_name(prompt, i // len(LIBRARY_PROMPTS)), prompt, voting, created))
    return items


class Sandbox(HandleBase):
    """A running sandbox. Keys and the admin token are attributes, never part of the repr."""

    def __init__(
        self,
        state: SandboxState,
        *,
        api_keys: list[str],
        api_socket: socket.socket,
        cdn_socket: socket.socket,
        url_host: str,
        owns_data_dir: bool,
        data_dir_lock: DataDirLock,
    ) -> None:
        self._state = state
        self._data_dir_lock = data_dir_lock
        self._sockets = (api_socket, cdn_socket)
        self._owns_data_dir = owns_data_dir
        self.api_keys = api_keys
        self.api_key = api_keys[0]
        self.admin_token = state.admin_token
        self.data_dir = state.settings.data_dir
        self.base_url = f"http://{url_host}:{api_socket.getsockname()[1]}"
        self.cdn_url = f"http://{url_host}:{cdn_socket.getsockname()[1]}"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._servers: list[uvicorn.Server] = []
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._stopped = False
        self._thread = threading.Thread(target=self._serve_in_thread, name="qamera-sandbox", daemon=True)

    def __repr__(self) -> str:
        return (
            f"Sandbox(base_url={self.base_url!r}, cdn_url={self.cdn_url!r}, data_dir={str(self.data_dir)!r})"
        )

    def issue_key(
        self,
        credits: int = 1000,
        scopes: Sequence[str] = (REGISTER_SCOPE,),
        *,
        expires_in_seconds: float | None = None,
    ) -> str:
        """A new key with its own account, e.g. one without `content.register` or with too few credits."""
        expires = None if expires_in_seconds is None else now_ms() + int(expires_in_seconds * 1000)
        return self._state.store.issue_account_key(credits, tuple(scopes), expires_ms=expires)

    def revoke_key(self, api_key: str) -> None:
        self._state.store.revoke_key(self._key_id(api_key))

    def account(self, api_key: str | None = None) -> dict[str, int]:
        """The ledger of the key's account (default: the first key's)."""
        return self._state.store.ledger(self._account_id(api_key)).as_dict()

    def audit(self, api_key: str | None = None) -> list[str]:
        """How the account's ledger disagrees with its records; empty when every credit is accounted for."""
        return self._state.store.audit(self._account_id(api_key))

    def stats(self) -> dict[str, int]:
        return self._state.stats.as_dict()

    def reset_stats(self) -> None:
        self._state.stats.reset()

    def _change_faults(self, changes: dict[str, float | int]) -> None:
        self._state.faults.update(**changes)

    def stop(self) -> None:
        """Stop serving and wait for it. Items being processed stay queued in the data dir."""
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        if self._loop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._request_exit)
        if self._thread.is_alive():
            self._thread.join(STOP_TIMEOUT_SECONDS)
            if self._thread.is_alive():
                log.warning("the sandbox thread did not stop within %s s", STOP_TIMEOUT_SECONDS)
        for sock in self._sockets:
            sock.close()
        self._state.store.close()
        self._data_dir_lock.release()
        if self._owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def _key_id(self, api_key: str) -> str:
        key_id = key_id_of(api_key)
        if key_id is None:
            raise ValueError("Not an API key of the form mk_live_<keyId>.<secret>.")
        return key_id

    def _account_id(self, api_key: str | None) -> int:
        if api_key is None:
            return self._state.default_account_id
        account_id = self._state.store.account_of_key(self._key_id(api_key))
        if account_id is None:
            raise ValueError("This sandbox did not issue that key.")
        return account_id

    def _start(self) -> None:
        self._thread.start()
        atexit.register(self.stop)
        if not self._ready.wait(START_TIMEOUT_SECONDS) or self._failure is not None:
            failure = self._failure
            self.stop()
            raise RuntimeError("The sandbox did not start.") from failure

    def _request_exit(self) -> None:
        for server in self._servers:
            server.should_exit = True

    def _serve_in_thread(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            self._failure = exc
            log.exception("the sandbox stopped with an error")
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        state = self._state
        state.work_available = asyncio.Event()
        worker = Worker(
            state.store,
            seed=state.settings.seed,
            failure_rate=state.settings.failure_rate,
            processing_seconds=state.settings.processing_seconds,
            concurrency=state.settings.worker_concurrency,
            work_available=state.work_available,
        )
        self._servers = [
            uvicorn.Server(
                uvicorn.Config(
                    app,
                    log_config=None,
                    access_log=False,
                    lifespan="off",
                    http="h11",
                    ws="none",
                    timeout_graceful_shutdown=2,
                )
            )
            for app in (build_api_app(state), build_cdn_app(state))
        ]
        working = asyncio.create_task(worker.run())
        serving = [
            asyncio.create_task(server.serve(sockets=[sock]))
            for server, sock in zip(self._servers, self._sockets, strict=True)
        ]
        try:
            while not all(server.started for server in self._servers):
                done = [task for task in serving if task.done()]
                if done:
                    done[0].result()
                    raise RuntimeError("a listener stopped before it started")
                await asyncio.sleep(0.01)
            self._ready.set()
            await asyncio.gather(*serving)
        finally:
            self._request_exit()
            working.cancel()
            await asyncio.gather(working, *serving, return_exceptions=True)


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # An explicit IPPROTO_TCP lets asyncio set TCP_NODELAY on accepted connections; without it every
    # keep-alive response waits ~40 ms for a delayed ACK between its header and body writes.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def _url_host(host: str) -> str:
    if host in _WILDCARD_HOSTS:
        return "[::1]" if host == "::" else "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _start_accounts(store: Store, keys: int, credits: int, library: int) -> tuple[list[str], int]:
    """Keys for the first `keys` start accounts, creating what a fresh data dir lacks. A restarted sandbox
    issues new keys for the accounts it already has (only hashes were kept); their old keys still work."""
    accounts = store.accounts_by_origin("start")
    while len(accounts) < keys:
        account_id = store.create_account(credits, origin="start")
        store.add_library(account_id, library_items(library, now_ms()))
        accounts.append(account_id)
    return [store.issue_key(account_id, (REGISTER_SCOPE,)) for account_id in accounts[:keys]], accounts[0]


def start(
    credits: int = 1000,
    seed: int | None = None,
    *,
    keys: int = 1,
    data_dir: str | Path | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    cdn_port: int = 0,
    failure_rate: float = 0.1,
    processing_seconds: tuple[float, float] = (1.0, 4.0),
    worker_concurrency: int = 4,
    cdn_latency_ms: float = 0,
    library: int = 12,
    rate_limit: int | None = RATE_LIMIT_PER_MINUTE,
    api_error_rate: float = 0.0,
    api_latency_ms: float = 0,
) -> Sandbox:
    """Start a sandbox in a background thread; returns once both listeners accept connections.

    Accounts: `keys` API keys, each with an account of `credits` credits and `library` ready sceneries
    (so a gallery has content at once). `seed` fixes every item's duration
    and outcome (random when None). `data_dir` keeps the state across restarts (a temporary directory,
    removed on stop, by default). `host`, `port` and `cdn_port` are where the API and CDN origins listen
    (0: a free port). Generation: each item takes `processing_seconds` (min, max), fails with probability
    `failure_rate`, at most `worker_concurrency` at a time. `rate_limit` is requests per minute per key;
    None or 0 turns the limiter off. Injected faults (changeable later with `set_faults`):
    `api_error_rate` of API requests answer 500, `api_latency_ms` and `cdn_latency_ms` delay each answer.
    """
    _check(keys >= 1, "keys must be at least 1")
    _check(0 <= credits <= MAX_CREDITS, f"credits must be from 0 to {MAX_CREDITS}")
    _check(library >= 0, "library must not be negative")
    _check(0.0 <= failure_rate <= 1.0, "failure_rate must be between 0 and 1")
    low, high = processing_seconds
    _check(0 <= low <= high, "processing_seconds must be (min, max) with 0 <= min <= max")
    _check(worker_concurrency >= 1, "worker_concurrency must be at least 1")
    _check(rate_limit is None or rate_limit >= 0, "rate_limit must not be negative")
    faults = Faults()
    faults.update(api_error_rate=api_error_rate, api_latency_ms=api_latency_ms, cdn_latency_ms=cdn_latency_ms)

    owns_data_dir = data_dir is None
    directory = Path(tempfile.mkdtemp(prefix="qamera-sandbox-")) if data_dir is None else Path(data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    # Held before the database is opened: a second sandbox must not requeue the first one's items.
    data_dir_lock = DataDirLock(directory)
    try:
        store = Store(directory / "sandbox.sqlite3")
    except BaseException:
        data_dir_lock.release()
        if owns_data_dir:
            shutil.rmtree(directory, ignore_errors=True)
        raise
    sockets: list[socket.socket] = []
    try:
        requeued = store.requeue_unfinished()
        if requeued:
            log.info("requeued %d unfinished sceneries from %s", requeued, directory)
        api_keys, default_account = _start_accounts(store, keys, credits, library)
        sockets.append(_listen(host, port))
        sockets.append(_listen(host, cdn_port))
    except BaseException:
        for sock in sockets:
            sock.close()
        store.close()
        data_dir_lock.release()
        if owns_data_dir:
            shutil.rmtree(directory, ignore_errors=True)
        raise

    url_host = _url_host(host)
    run_seed = seed if seed is not None else secrets.randbits(32)
    state = SandboxState(
        store=store,
        settings=Settings(
            seed=run_seed,
            failure_rate=failure_rate,
            processing_seconds=(float(low), float(high)),
            worker_concurrency=worker_concurrency,
            data_dir=directory,
        ),
        admin_token=secrets.token_urlsafe(24),
        limiter=SlidingWindowLimiter(rate_limit or None),
        faults=faults,
        default_account_id=default_account,
        cdn_port=sockets[1].getsockname()[1],
        cdn_url=None if host in _WILDCARD_HOSTS else f"http://{url_host}:{sockets[1].getsockname()[1]}",
        fault_rng=random.Random(f"faults:{run_seed}"),
    )
    hide_dropped_connections()
    sandbox = Sandbox(
        state,
        api_keys=api_keys,
        api_socket=sockets[0],
        cdn_socket=sockets[1],
        url_host=url_host,
        owns_data_dir=owns_data_dir,
        data_dir_lock=data_dir_lock,
    )
    sandbox._start()
    return sandbox


__all__ = ["Sandbox", "is_loopback", "library_items", "start"]
