"""Wait for and stop the servers we run as child processes: JupyterLab and Voilà for the demo, and the
same for the browser tests and benchmarks (whose isolated, tokenless Jupyter setup lives in
tests/_jupyter.py, never in the package).

One home, because each copy of this had drifted: one forgot to check that the server was still alive
while waiting, another left the kernels running when the server had to be killed. Stopping needs psutil,
which the [demo] extra installs with the servers themselves.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from typing import Any

import httpx

LOOPBACK = "127.0.0.1"


class ServerNotReady(RuntimeError):
    """The server exited, or did not answer, before it was ready; the message says which."""


@dataclass(frozen=True)
class Stopped:
    """How a server we started ended: the tests check that it stopped on its own and left nothing."""

    returncode: int | None
    forced: bool
    """It outlived the grace period after the signal and was killed."""
    leftovers: tuple[int, ...]
    """Process ids of its descendants still running once it had exited (killed since)."""


def free_port(host: str = LOOPBACK) -> int:
    """A port nobody listens on now; the server binds it a moment later (a race we accept)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_until_serving(
    process: subprocess.Popen[Any],
    port: int,
    *,
    host: str = LOOPBACK,
    path: str | None = None,
    timeout: float = 90.0,
) -> None:
    """Return once `process` accepts connections on `port` and, given `path`, answers a GET of it with 200.

    Only the port by default: a GET of Voilà's page would already start a kernel. A server that exits
    while we wait fails at once with its exit code instead of after the whole timeout.
    """
    probe = LOOPBACK if host in ("0.0.0.0", "::", "") else host  # a wildcard also listens on loopback
    url = f"http://{f'[{probe}]' if ':' in probe else probe}:{port}{path or ''}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerNotReady(f"The server exited early with code {process.returncode}")
        if _answers(probe, port) and (path is None or _answers_ok(url)):
            return
        time.sleep(0.2)
    raise ServerNotReady(f"The server did not answer {url} within {timeout:.0f} s")


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _answers_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def stop_server(
    process: subprocess.Popen[Any], sig: signal.Signals = signal.SIGTERM, grace: float = 20.0
) -> Stopped:
    """Send `sig` to a server we started, wait `grace` seconds, then kill it; then kill its descendants.

    `sig` is the caller's: SIGTERM makes Jupyter shut its kernels down; SIGINT is Ctrl+C for the demo.
    Jupyter starts each kernel in a session of its own, so a process group cannot reach them: the
    descendants are listed before the signal (orphans lose their parent id), and psutil kills each only
    if it is still the same process afterwards (it compares start times, so a reused pid is spared).
    """
    import psutil  # in the [demo] extra: only the demo, the tests and the benchmarks run servers

    if process.poll() is not None:
        return Stopped(process.returncode, forced=False, leftovers=())
    try:
        before = psutil.Process(process.pid).children(recursive=True)
    except psutil.Error:  # exited between the poll and now
        before = []
    process.send_signal(sig)
    forced = False
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        forced = True
        process.kill()
        process.wait(5)
    leftovers: list[int] = []
    for child in before:
        with contextlib.suppress(psutil.Error):
            if child.is_running() and child.status() != psutil.STATUS_ZOMBIE:
                leftovers.append(child.pid)
                child.kill()
    return Stopped(process.returncode, forced=forced, leftovers=tuple(leftovers))
