"""The studio as a user meets it: in JupyterLab and in Voilà, driven through Chromium."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from qamera_widgets import AsyncQameraClient
from qamera_widgets.engine.jobs.journal import Journal
from qamera_widgets.engine.store import LEGACY_JOURNAL

from ._canvas import (
    OVERFLOWING,
    RUN_CARDS,
    THEME,
    check_large_view,
    finished_run,
    generate,
    open_in_voila,
    run_all_cells,
    run_cards,
    wait_run_finished,
    with_a_picture,
)
from .conftest import ARTIFACTS


def test_studio_in_jupyterlab_runs_pictures_large_view_and_downloads(
    page: Page, lab_server: str, jupyter_env: dict[str, Any], service: Any
) -> None:
    run_all_cells(page, f"{lab_server}/lab/tree/02_prompt_studio.ipynb?reset")
    expect(page.locator(".qw-studio")).to_be_visible(timeout=90_000)
    expect(page.locator(".qw-form .qw-badge-sandbox")).to_have_text("Sandbox: no real credits are spent")

    prompt = "Pastel marble podium with soft shadow"
    generate(page, prompt, 3)
    # The run is there at once, as live placeholders, before any picture exists.
    page.wait_for_function(
        f"(p) => {{ const c = ({RUN_CARDS})(p); return c !== null && c.length === 3; }}",
        arg=prompt,
        timeout=10_000,
    )
    cards = wait_run_finished(page, prompt, 3)
    failed = [c for c in cards if c["state"] == "failed"]
    assert all("refunded" in c["label"] for c in failed), failed
    with_a_picture(page, prompt, 3, cards)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "jupyterlab-studio-1400-light.png"))

    check_large_view(page, prompt, keyboard=True)

    run = page.locator(".qw-canvas[data-mode=runs] .qw-run", has=page.get_by_text(prompt, exact=True))
    done = run.locator(".qw-card.qw-done")
    for index in range(min(2, done.count())):
        done.nth(index).locator("input.qw-pick").check()
    board = page.locator(".qw-canvas[data-mode=runs]")
    expect(board.locator(".qw-selected-count")).to_have_text(f"{min(2, done.count())} selected")
    board.locator(".qw-selection button.qw-download-menu").click()
    with page.expect_download(timeout=30_000) as download_info:
        board.locator("button.qw-download-sheet").click()
    download = download_info.value
    assert download.suggested_filename == "contact-sheet.png"
    sheet = Path(download.path()).read_bytes()
    assert sheet.startswith(b"\x89PNG\r\n\x1a\n") and len(sheet) > 1000
    board.locator(".qw-selection button.qw-download-menu").click()
    with page.expect_download(timeout=30_000) as pdf_info:
        board.locator("button.qw-download-pdf").click()
    assert pdf_info.value.suggested_filename == "contact-sheet.pdf"
    assert Path(pdf_info.value.path()).read_bytes().startswith(b"%PDF")
    board.locator("button.qw-clear").click()
    expect(board.locator(".qw-selection")).to_be_hidden()  # no row for an empty selection

    page.evaluate(THEME, "JupyterLab Dark")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=20_000)
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "jupyterlab-studio-1400-dark.png"))

    for theme in ("dark", "light"):
        if theme == "light":
            page.evaluate(THEME, "JupyterLab Light")
            page.wait_for_function("() => document.body.dataset.jpThemeLight === 'true'", timeout=20_000)
        for width in (700, 1600, 2000):
            page.set_viewport_size({"width": width, "height": 1000})
            page.wait_for_timeout(500)
            assert page.evaluate(OVERFLOWING) == [], f"horizontal overflow at {width} px ({theme})"
            page.screenshot(path=str(ARTIFACTS / f"jupyterlab-studio-{width}-{theme}.png"))
    page.set_viewport_size({"width": 1400, "height": 1000})

    page.keyboard.press("Control+s")
    saved = Path(jupyter_env["nbdir"]) / "02_prompt_studio.ipynb"
    page.wait_for_timeout(1500)
    text = saved.read_text()
    assert "application/vnd.jupyter.widget-view+json" in text, "the saved notebook has no widget output"
    secret = service.api_key.split(".", 1)[1]
    assert service.api_key not in text and secret not in text


def test_studio_height_stays_bounded_after_30_batches(
    page: Page, lab_server: str, jupyter_env: dict[str, Any], service: Any
) -> None:
    # The studio also shows, as history, the jobs earlier tests journaled on this key.
    journal = Journal(Path(jupyter_env["env"]["QAMERA_WIDGETS_HOME"]) / LEGACY_JOURNAL)
    key_id = AsyncQameraClient(service.api_key, service.base_url).key_id
    # A comparison's jobs are one run, as the board counts them, and so are a run (or a comparison's
    # cell) and its retries: a retry names the run it belongs to, which may be a comparison's.
    batches = journal.batches(base_url=service.base_url, key_id=key_id)
    run_of_job = {b.key: b.comparison or b.key for b in batches}
    earlier = len({run_of_job.get(b.retry_of or b.key, b.retry_of) for b in batches})
    run_all_cells(page, f"{lab_server}/lab/tree/02_prompt_studio.ipynb?reset")
    expect(page.locator(".qw-studio")).to_be_visible(timeout=90_000)
    height = "() => document.querySelector('.qw-studio').getBoundingClientRect().height"
    views = "() => document.querySelectorAll('.jp-OutputArea-output .jupyter-widgets').length"
    heights = []
    for n in range(1, 31):
        prompt = f"Batch {n}: linen backdrop, warm light"
        finished_run(page, prompt, 2)
        if n in (4, 30):
            heights.append((page.evaluate(height), page.evaluate(views)))
    (after_4, views_4), (after_30, views_30) = heights
    folded = page.locator(".qw-canvas[data-mode=runs] .qw-folded")
    expect(folded).to_contain_text(f"{earlier + 30 - 4} earlier runs")
    # One fold line more than after 4 runs, nothing else: the studio does not grow per batch.
    assert after_30 <= after_4 + 80, (after_4, after_30)
    assert views_30 == views_4
    viewport = page.viewport_size
    assert viewport is not None and after_30 < viewport["height"] * 4
    page.screenshot(path=str(ARTIFACTS / "jupyterlab-studio-after-30-batches.png"))


def test_studio_in_voila_renders_runs_and_large_view(page: Page, voila_server: str) -> None:
    open_in_voila(page, voila_server)
    prompt = "Birch plywood shelf, morning haze"
    with_a_picture(page, prompt, 2, finished_run(page, prompt, 2))
    check_large_view(page, prompt)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "voila-studio.png"))
    assert run_cards(page, prompt) is not None


def test_a_template_becomes_a_comparison_whose_rows_fill_in(page: Page, lab_server: str) -> None:
    run_all_cells(page, f"{lab_server}/lab/tree/02_prompt_studio.ipynb?reset")
    expect(page.locator(".qw-studio")).to_be_visible(timeout=90_000)
    box = page.locator(".qw-form .qw-prompt-box")
    box.click()
    box.fill("{oak|marble|concrete} countertop, soft window light")
    page.locator(".qw-form .qw-count-input").fill("2")
    expect(page.locator(".qw-form .qw-plan-item")).to_have_count(3)
    expect(page.locator(".qw-form .qw-plan-item mark.qw-varies").nth(1)).to_have_text("marble")
    box.press("Control+Enter")
    confirm = page.locator(".qw-form .qw-confirm")
    expect(confirm).to_contain_text("3 prompts × 2 pictures = 6 pictures, 60 credits")
    confirm.locator("button.qw-confirm-yes").click()

    comparison = page.locator(".qw-canvas[data-mode=runs] .qw-run.qw-compare").first
    # One varying group: one row of columns, the words as the column labels (issue 21).
    rows = comparison.locator(".qw-matrix-cell")
    expect(rows).to_have_count(3, timeout=30_000)
    expect(comparison.locator(".qw-col-label")).to_have_text(["oak", "marble", "concrete"])
    page.wait_for_function(
        """() => { const rows = document.querySelectorAll('.qw-run.qw-compare .qw-matrix-cell');
            const finished = (c) => c.dataset.state === 'failed' ||
              (c.dataset.state === 'done' && c.querySelector('img.qw-thumb-real')?.naturalWidth > 0);
            return rows.length === 3 && [...rows].every(row => {
              const cards = [...row.querySelectorAll('.qw-card')];
              return cards.length === 2 && cards.every(finished); }); }""",
        timeout=120_000,
    )
    ARTIFACTS.mkdir(exist_ok=True)
    comparison.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "jupyterlab-comparison.png"))

    # A failed picture's large view says its prompt too, so row 2's first card will do either way.
    rows.nth(1).locator(".qw-card").first.click()
    overlay = page.locator(".qw-overlay:not([hidden])")
    expect(overlay.locator(".qw-large-prompt")).to_have_text("marble countertop, soft window light")
    page.screenshot(path=str(ARTIFACTS / "jupyterlab-comparison-large.png"))
    page.keyboard.press("Escape")
    expect(page.locator(".qw-overlay")).to_have_count(0, timeout=10_000)
