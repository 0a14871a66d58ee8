"""Real JupyterLab and Voilà servers, Debian's Chromium through Playwright, and a sandbox they share.

The sandbox runs in the test process (as `qamera-widgets demo` runs it) and reaches the kernels through
their environment, so the tests know its key and can scan everything saved for it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from qamera_widgets import sandbox
from qamera_widgets.demo import STUDIO_NOTEBOOK, TEACHING_NOTEBOOK, voila_command

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
VENV_BIN = Path(sys.executable).parent

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[Any], timeout: float = 90.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with code {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.2)
    raise TimeoutError(f"port {port} did not open")


def stop(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM our own server (it shuts its kernels down), then kill whatever of its children is left."""
    if proc.poll() is not None:
        return
    children = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.kill()


@pytest.fixture(scope="session")
def service() -> Iterator[Any]:
    with sandbox.start(
        credits=1_000_000, seed=11, processing_seconds=(0.5, 2.5), failure_rate=0.25, rate_limit=None
    ) as handle:
        yield handle


@pytest.fixture(scope="session")
def jupyter_env(tmp_path_factory: pytest.TempPathFactory, service: Any) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("jupyter")
    nbdir = root / "notebooks"
    shutil.copytree(REPO / "notebooks", nbdir, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    settings = root / "labsettings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True})
    )
    env = dict(
        os.environ,
        HOME=str(root / "home"),
        JUPYTER_CONFIG_DIR=str(root / "jcfg"),
        JUPYTER_RUNTIME_DIR=str(root / "jrt"),
        JUPYTER_DATA_DIR=str(root / "jdata"),
        JUPYTER_PLATFORM_DIRS="1",
        PYTHONUNBUFFERED="1",
        QAMERA_API_KEY=service.api_key,
        QAMERA_BASE_URL=service.base_url,
        QAMERA_SANDBOX_ADMIN_TOKEN=service.admin_token,
        QAMERA_WIDGETS_HOME=str(root / "qw-home"),
        PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return {"root": root, "nbdir": nbdir, "env": env}


@contextlib.contextmanager
def serving(name: str, command: list[str], jupyter_env: dict[str, Any], port: int) -> Iterator[str]:
    """Run one Jupyter server of ours with its log in the temp root; stop it (and its kernels) after."""
    log = open(jupyter_env["root"] / f"{name}-{port}.log", "w")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(
        command, env=jupyter_env["env"], stdout=log, stderr=subprocess.STDOUT, cwd=jupyter_env["nbdir"]
    )
    try:
        wait_port(port, proc)  # only the port: a GET of Voila's / would already start a kernel
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)
        log.close()


def jupyter_server_args(app: str, port: int, jupyter_env: dict[str, Any]) -> list[str]:
    return [
        str(VENV_BIN / "jupyter"), app, "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
        "--IdentityProvider.token=", "--ServerApp.password=", f"--ServerApp.root_dir={jupyter_env['nbdir']}",
    ]


@pytest.fixture(scope="module")
def lab_server(jupyter_env: dict[str, Any]) -> Iterator[str]:
    port = free_port()
    command = [
        *jupyter_server_args("lab", port, jupyter_env), "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=None", f"--LabApp.user_settings_dir={jupyter_env['root'] / 'labsettings'}",
        f"--LabApp.workspaces_dir={jupyter_env['root'] / 'ws'}",
    ]
    with serving("lab", command, jupyter_env, port) as url:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/api/status", timeout=2).status_code == 200:
                    break
            time.sleep(0.3)
        yield url


@pytest.fixture(scope="module")
def notebook7_server(jupyter_env: dict[str, Any]) -> Iterator[str]:
    port = free_port()
    command = [
        *jupyter_server_args("notebook", port, jupyter_env),
        "--JupyterNotebookApp.expose_app_in_browser=True",
        f"--JupyterNotebookApp.user_settings_dir={jupyter_env['root'] / 'labsettings'}",
    ]
    with serving("notebook", command, jupyter_env, port) as url:
        yield url


@pytest.fixture(scope="module")
def voila_server(jupyter_env: dict[str, Any]) -> Iterator[str]:
    """Voilà on the studio notebook, started as `qamera-widgets demo --voila` starts it."""
    port = free_port()
    with serving("voila", voila_command(STUDIO_NOTEBOOK, port), jupyter_env, port) as url:
        yield url


@pytest.fixture(scope="module")
def lesson_server(jupyter_env: dict[str, Any]) -> Iterator[str]:
    """Voilà on the teaching notebook, exactly as `qamera-widgets demo --voila` serves it."""
    port = free_port()
    with serving("lesson", voila_command(TEACHING_NOTEBOOK, port), jupyter_env, port) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Module-scoped: Playwright's sync API keeps an event loop running while it is open, which would
    break every asyncio test collected after this folder."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: scripts/test installs it with apt-get")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update", "--no-first-run"],
        )
        yield b
        b.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A page that can only reach loopback; saves a screenshot as a test artifact when the test fails."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.route(
        lambda url: not url.startswith(("http://127.0.0.1", "file:", "data:", "blob:")),
        lambda route: route.abort(),
    )
    yield pg
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        with contextlib.suppress(Exception):
            pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}-failure.png"), full_page=True)
    context.close()
