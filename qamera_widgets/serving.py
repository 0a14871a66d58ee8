"""Start, wait for and stop the servers we run as child processes: JupyterLab, Notebook 7 and Voilà for
the demo, the browser tests and the benchmarks (and the demo itself, which the tests run).

One home, because each copy of this had drifted: one forgot to check that the server was still alive
while waiting, another left the kernels running when the server had to be killed. Stopping needs psutil,
which the [demo] extra installs with the servers themselves.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from .connect import env_for_sandbox
from .engine.journal import HOME_ENV

if TYPE_CHECKING:
    from .sandbox import Sandbox

LOOPBACK = "127.0.0.1"
VENV_BIN = Path(sys.executable).parent
QUIET_LAB = {"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True}
"""Lab's notification settings for servers we drive: no news or update checks (they would reach for
the internet) and no toasts covering the page under test."""
_APP_CLASSES = {"lab": "LabApp", "notebook": "JupyterNotebookApp"}


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


@contextlib.contextmanager
def running_server(
    command: Sequence[str],
    *,
    port: int,
    log: Path,
    env: Mapping[str, str],
    cwd: Path,
    ready_path: str | None = None,
) -> Iterator[str]:
    """Run a loopback server of ours with its output in `log`; yield its base URL once it is ready
    (`wait_until_serving`), and stop it and whatever it started afterwards, however the block ends."""
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
        try:
            wait_until_serving(process, port, path=ready_path)
            yield f"http://{LOOPBACK}:{port}"
        finally:
            stop_server(process)


def lab_settings_dir(root: Path) -> Path:
    """Where JupyterLab and Notebook 7 under `isolated_jupyter_env(root, ...)` keep user settings."""
    return root / "jcfg" / "lab" / "user-settings"


def isolated_jupyter_env(root: Path, sandbox: Sandbox) -> dict[str, str]:
    """The environment for Jupyter servers of ours whose kernels talk to `sandbox`: every Jupyter and
    home folder under `root`, so neither the user's Jupyter setup nor their data leaks into a test or
    benchmark and nothing of ours leaks out, and Lab's notifications quiet (`QUIET_LAB`)."""
    notifications = lab_settings_dir(root) / "@jupyterlab" / "apputils-extension"
    notifications.mkdir(parents=True, exist_ok=True)
    (notifications / "notification.jupyterlab-settings").write_text(json.dumps(QUIET_LAB))
    return {
        **os.environ,
        "HOME": str(root / "home"),
        "JUPYTER_CONFIG_DIR": str(root / "jcfg"),
        "JUPYTER_RUNTIME_DIR": str(root / "jrt"),
        "JUPYTER_DATA_DIR": str(root / "jdata"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "PYTHONUNBUFFERED": "1",
        HOME_ENV: str(root / "qw-home"),
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        **env_for_sandbox(sandbox),
    }


def open_jupyter_command(app: str, port: int, root: Path, notebooks: Path) -> list[str]:
    """JupyterLab (`app="lab"`) or Notebook 7 (`"notebook"`) on loopback with no token or password, for
    a browser that a test or benchmark drives, with the settings of `isolated_jupyter_env(root, ...)`;
    `expose_app_in_browser` lets the page run Lab's commands."""
    app_class = _APP_CLASSES[app]
    command = [
        str(VENV_BIN / "jupyter"), app, "--no-browser", "--allow-root", f"--ip={LOOPBACK}", f"--port={port}",
        "--IdentityProvider.token=", "--ServerApp.password=", f"--ServerApp.root_dir={notebooks}",
        f"--{app_class}.expose_app_in_browser=True",
        f"--{app_class}.user_settings_dir={lab_settings_dir(root)}",
    ]
    if app == "lab":
        command += ["--LabApp.news_url=None", f"--LabApp.workspaces_dir={root / 'ws'}"]
    return command
