"""A tab closes in the middle of a batch while the kernel keeps streaming to it: `qamera-widgets demo`'s
JupyterLab log stays small, and the batch still finishes and is journaled.

Before `QuietKernelWebsocketConnection`, each kernel message still queued for the closed tab ended as
one "Task exception was never retrieved ... WebSocketClosedError" traceback (hundreds here, about
29,000 in the session that found it). The queue only builds up when a tab cannot keep up, so the
notebook below streams 100 KB pictures beside the studio, as a studio showing many results does.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from playwright.sync_api import expect

from qamera_widgets import sandbox
from qamera_widgets.engine.jobs.journal import Journal
from tests.helpers.demo_process import demo_process
from tests.helpers.jupyter import isolated_jupyter_env

from .conftest import ARTIFACTS

NOTEBOOK = "tab_closes_mid_batch.ipynb"
CELL = """
import asyncio, os
import ipywidgets as widgets
from qamera_widgets import Studio

studio = Studio.from_env()
stream = widgets.Image(format="png")
stream.add_class("qw-test-stream")
display(studio, stream)

async def stream_pictures():
    # Stands in for a studio sending pictures faster than the tab takes them in.
    while not finished.done():
        stream.value = os.urandom(100_000)
        await asyncio.sleep(0.002)

async def batch():
    try:
        studio.form.prompt = "Sunlit white marble countertop, soft shadows"
        studio.form.count = 6
        await studio.form.submit()
        await studio.wait_idle(timeout=180)
    finally:
        finished.set_result(None)

finished = asyncio.get_running_loop().create_future()
tasks = [asyncio.ensure_future(batch()), asyncio.ensure_future(stream_pictures())]
""".strip()
RECORD_STATUSES = """() => Array.from(
  document.querySelectorAll('.qw-canvas[data-mode=runs] .qw-run .qw-card')).map(c => c.dataset.state)"""


@pytest.fixture
def service() -> Iterator[Any]:
    with sandbox.start(
        credits=100_000, seed=21, processing_seconds=(4.0, 8.0), failure_rate=0.25, rate_limit=None
    ) as handle:
        yield handle


@pytest.fixture
def demo(tmp_path: Path, service: Any) -> Iterator[dict[str, Any]]:
    """`qamera-widgets demo` (JupyterLab) on the test's sandbox, its whole output in one log file."""
    work = tmp_path / "work"
    env = isolated_jupyter_env(tmp_path, service)  # the demo's Lab finds its settings there too
    with demo_process(tmp_path, env, "--workdir", str(work)) as run:
        assert run.url, run.said()
        notebook = nbformat.v4.new_notebook()
        notebook.cells = [nbformat.v4.new_code_cell(CELL)]
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
        nbformat.write(notebook, work / NOTEBOOK)
        token_match = re.search(r"token=(\w+)", run.url)
        assert token_match, run.url
        token = token_match.group(1)
        yield {
            "url": f"http://127.0.0.1:{run.port}/lab/tree/{NOTEBOOK}?reset&token={token}",
            "log": run.log,
            "journal": tmp_path / "qw-home" / "journal.jsonl",
        }


def test_closing_the_tab_mid_batch_keeps_the_log_small_and_the_batch_finishes(
    browser: Any, demo: dict[str, Any], service: Any
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.route(lambda url: not url.startswith(("http://127.0.0.1", "data:", "blob:")), lambda r: r.abort())
    page.goto(demo["url"], wait_until="domcontentloaded")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
    expect(page.locator("#jp-main-statusbar")).to_contain_text("Idle", timeout=90_000)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.locator("li[data-command='runmenu:run-all']").click()
    expect(page.locator(".qw-test-stream")).to_be_attached(timeout=60_000)
    page.wait_for_function(f"({RECORD_STATUSES})().length === 6", timeout=60_000)
    statuses = page.evaluate(RECORD_STATUSES)
    assert not all(s in ("done", "failed") for s in statuses), f"ended before the tab closed: {statuses}"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "tab-closes-mid-batch.png"))
    log_at_close = demo["log"].stat().st_size
    context.close()

    journal = Journal(demo["journal"])
    deadline = time.monotonic() + 120
    while not (batches := journal.batches()) or journal.pending():
        assert time.monotonic() < deadline, f"the batch did not finish in the journal: {batches}"
        time.sleep(0.5)
    time.sleep(3)  # the picture stream stops with the batch; let the last queued messages fail now
    [batch] = batches
    listed = {s["id"]: s["status"] for s in service_listing(service)}
    assert {i: listed[i] for i in batch.record_ids} == batch.final
    assert all(status in ("DONE", "FAILED") for status in batch.final.values())
    assert service.account()["reserved"] == 0

    grown = demo["log"].read_text()[log_at_close:]
    assert "WebSocketClosedError" not in grown and "Traceback" not in grown, grown[-3000:]
    assert len(grown) < 5_000, grown[-3000:]


def service_listing(service: Any) -> list[dict[str, Any]]:
    import httpx

    response = httpx.get(
        f"{service.base_url}/api/external/sceneries", headers={"X-Api-Key": service.api_key}, timeout=10
    )
    return list(response.json()["sceneries"])
