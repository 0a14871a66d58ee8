"""The studio in marimo, as a user meets it: `marimo run` on the shipped example, driven through Chromium.

marimo draws anywidgets but no ipywidgets containers; a studio built as a box showed "Jupyter widgets
are not supported" there. The studio hosts its views through anywidget's widget composition, so the
same notebook code works. marimo may draw widgets inside shadow roots, so everything here goes through
Playwright locators (which pierce them) rather than `document.querySelector`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from qamera_widgets.serving import free_port

from ._canvas import generate, open_large_view, run_of, step_and_close
from .conftest import ARTIFACTS, serving

MARIMO_NOTEBOOK = "marimo_studio.py"
PAINTED = """(cards) => cards.map(c => {
  const img = c.querySelector('img.qw-thumb-real');
  const box = img && img.getBoundingClientRect();
  return { state: c.dataset.state,
           painted: Boolean(img && img.complete && img.naturalWidth > 0 && box.width > 0) };
})"""


@pytest.fixture(scope="module")
def marimo_server(jupyter_env: dict[str, Any]) -> Iterator[str]:
    """`marimo run` on the example as the notebook's own text says to start it; its kernel reaches the
    suite's sandbox through the environment, as the Jupyter servers' kernels do."""
    port = free_port()
    marimo = str(Path(sys.executable).parent / "marimo")
    command = [marimo, "-q", "run", MARIMO_NOTEBOOK, "--headless", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--no-token"]
    with serving("marimo", command, jupyter_env, port, ready_path="/health") as url:
        yield url


def wait_pictures(page: Page, prompt: str, count: int, timeout: float = 120) -> list[dict[str, Any]]:
    """Until the run shows `count` cards, each a painted picture or a card that says it failed."""
    cards = run_of(page, prompt).locator(".qw-card")
    deadline = time.monotonic() + timeout
    while True:
        states: list[dict[str, Any]] = cards.evaluate_all(PAINTED) if cards.count() else []
        finished = [s for s in states if (s["state"] == "done" and s["painted"]) or s["state"] == "failed"]
        if len(states) == count and len(finished) == count:
            return states
        assert time.monotonic() < deadline, f"the run never finished painting: {states}"
        page.wait_for_timeout(250)


def test_studio_in_marimo_generates_shows_pictures_and_opens_the_large_view(
    page: Page, marimo_server: str
) -> None:
    page.goto(f"{marimo_server}/", wait_until="domcontentloaded")
    studio = page.locator(".qw-studio")
    expect(studio).to_be_visible(timeout=90_000)
    expect(page.get_by_text("Jupyter widgets are not supported")).to_have_count(0)
    expect(page.locator(".qw-form .qw-badge-sandbox")).to_have_text("Sandbox: no real credits are spent")
    # The three views sit inside the studio, in the order the box had them.
    for part in ("form", "board", "gallery"):
        expect(studio.locator(f".qw-studio-{part} > *").first).to_be_visible()

    prompt = "Terracotta tiles under a linen sofa, marimo"
    generate(page, prompt, 3)
    states = wait_pictures(page, prompt, 3)
    assert any(s["state"] == "done" for s in states) or len(states) == 3, states
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "marimo-studio.png"))
    # The Export menu works where marimo draws (a shadow root): a click on its item is not a press outside.
    board = page.locator(".qw-canvas[data-mode=runs]")
    board.locator(".qw-head button.qw-export-menu").click()
    with page.expect_download(timeout=30_000) as download_info:
        board.locator(".qw-head button.qw-export-review").click()
    assert download_info.value.suggested_filename == "review.csv"

    done = run_of(page, prompt).locator(".qw-card.qw-done")
    if done.count() == 0:  # every picture of this run failed (the suite's sandbox fails a quarter)
        generate(page, prompt + " again", 3)
        prompt += " again"
        wait_pictures(page, prompt, 3)
        done = run_of(page, prompt).locator(".qw-card.qw-done")
    overlay = open_large_view(page, prompt)
    large = overlay.locator("img.qw-large-img:not(.qw-large-low)")
    page.screenshot(path=str(ARTIFACTS / "marimo-studio-large-view.png"))
    # It covers the page and the picture fits in it: the large view's own styles reached it.
    viewport = page.viewport_size
    assert viewport is not None
    cover = overlay.bounding_box()
    assert cover is not None and cover["x"] <= 1 and cover["y"] <= 1, cover
    assert cover["width"] >= viewport["width"] - 1 and cover["height"] >= viewport["height"] - 1, cover
    picture = large.bounding_box()
    assert picture is not None and picture["y"] + picture["height"] <= viewport["height"] + 1, picture
    step_and_close(page, overlay, step=done.count() > 1)

    # The library below the runs received the finished pictures from the same loop.
    library = page.locator(".qw-canvas[data-mode=library]")
    expect(library.get_by_text(prompt).first).to_be_attached(timeout=60_000)
