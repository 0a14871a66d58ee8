"""Real JupyterLab and Voilà servers, Debian's Chromium through Playwright, and a sandbox they share.

The sandbox runs in the test process (as `qamera-widgets demo` runs it) and reaches the kernels through
their environment, so the tests know its key and can scan everything saved for it.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from qamera_widgets import sandbox
from qamera_widgets.demo import STUDIO_NOTEBOOK, TEACHING_NOTEBOOK, voila_command
from qamera_widgets.serving import free_port
from tests.helpers.jupyter import isolated_jupyter_env, open_jupyter_command, running_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"


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
    shutil.copytree(
        REPO / "qamera_widgets" / "notebooks", nbdir, ignore=shutil.ignore_patterns(".ipynb_checkpoints")
    )
    return {"root": root, "nbdir": nbdir, "env": isolated_jupyter_env(root, service)}


@contextlib.contextmanager
def serving(
    name: str, command: list[str], jupyter_env: dict[str, Any], port: int, ready_path: str | None = None
) -> Iterator[str]:
    """One Jupyter server of ours with its log in the temp root, stopped (with its kernels) after."""
    with running_server(
        command,
        port=port,
        log=jupyter_env["root"] / f"{name}-{port}.log",
        env=jupyter_env["env"],
        cwd=jupyter_env["nbdir"],
        ready_path=ready_path,
    ) as url:
        yield url


def open_server(app: str, jupyter_env: dict[str, Any], ready_path: str | None = None) -> Iterator[str]:
    """JupyterLab or Notebook 7 for the page to drive: no token, Lab's commands exposed to the page."""
    port = free_port()
    command = open_jupyter_command(app, port, jupyter_env["root"], jupyter_env["nbdir"])
    with serving(app, command, jupyter_env, port, ready_path=ready_path) as url:
        yield url


@pytest.fixture(scope="session")
def lab_process(jupyter_env: dict[str, Any]) -> Iterator[str]:
    """One JupyterLab for the session: a start takes seconds that every module would pay again."""
    yield from open_server("lab", jupyter_env, ready_path="/api/status")


@pytest.fixture(scope="module")
def lab_server(lab_process: str) -> Iterator[str]:
    """The session's JupyterLab for one module's tests; afterwards its kernels are shut down, as a server of
    the module's own would take them down (every studio left open would otherwise go on polling)."""
    yield lab_process
    shut_down_kernels(lab_process)


def shut_down_kernels(url: str) -> None:
    with httpx.Client(base_url=url, timeout=30) as api:
        for session in api.get("/api/sessions").json():
            api.delete(f"/api/sessions/{session['id']}")
        for kernel in api.get("/api/kernels").json():
            api.delete(f"/api/kernels/{kernel['id']}")


@pytest.fixture(scope="module")
def notebook7_server(jupyter_env: dict[str, Any]) -> Iterator[str]:
    yield from open_server("notebook", jupyter_env)


@pytest.fixture(scope="module")
def voila_server(jupyter_env: dict[str, Any]) -> Iterator[str]:
    """Voilà on the studio notebook, started as `qamera-widgets demo --voila` starts it; only its port is
    awaited: a GET of its page would already start a kernel."""
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
            args=[
                "--no-sandbox",
                "--disable-dev-shm-usage",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
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
