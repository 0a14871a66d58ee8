"""Issue 21, "Failed pictures" in a comparison, as a person sees it in JupyterLab: a matrix cell whose
prompt had failures offers its own "Retry N failed", asks inside that cell with the cost, and the new
pictures appear in the same cell after its own, counted in the comparison's header."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from qamera_widgets.engine.wording import excerpt

from ._canvas import CELLS_DONE, OVERFLOWING, THEME, run_all_cells, run_of, wait_run_finished
from .conftest import ARTIFACTS

pytestmark = pytest.mark.browser

FOCUSED = "() => document.activeElement ? document.activeElement.className : ''"


def shoot(page: Page, key: str, name: str) -> None:
    """The cell in view (found again in the page: the matrix is redrawn as pictures arrive)."""
    page.evaluate(
        "(key) => document.querySelector(`.qw-matrix-cell[data-key='${key}']`)"
        "?.closest('.qw-run')?.scrollIntoView({block: 'start'})",
        key,
    )
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / name))


def test_a_comparison_cell_with_failures_retries_them_in_the_same_cell(page: Page, lab_server: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    run_all_cells(page, f"{lab_server}/lab/tree/02_prompt_studio.ipynb?reset")
    expect(page.locator(".qw-studio")).to_be_visible(timeout=90_000)
    page.evaluate(CELLS_DONE)

    # The sandbox fails about one picture in four: compare until a cell has failures.
    template, offered = "", 0
    for attempt in range(6):
        template = f"{{oak|marble}} table, {{warm|cool}} light, take {attempt + 1}"
        box = page.locator(".qw-form .qw-prompt-box")
        box.click()
        box.fill(template)
        page.locator(".qw-form .qw-count-input").fill("2")
        page.locator(".qw-form .qw-count-input").press("Enter")
        box.press("Control+Enter")
        page.locator(".qw-form .qw-confirm-yes").click()
        cards = wait_run_finished(page, template, 8)
        offered = sum(card["state"] == "failed" for card in cards)
        if offered:
            break
    assert offered, "the sandbox failed no picture in 6 comparisons of 8"
    run = run_of(page, template)
    expect(run.locator(".qw-matrix")).to_have_count(1)
    retry = run.locator(".qw-matrix-cell .qw-run-retry").first
    expect(retry).to_be_visible(timeout=30_000)
    key = str(retry.evaluate("(b) => b.closest('.qw-matrix-cell').dataset.key"))
    cell = run.locator(f".qw-matrix-cell[data-key='{key}']")
    failed = cell.locator(".qw-card[data-state='failed']").count()
    assert failed and retry.text_content() == f"Retry {failed} failed"
    words = str(cell.get_attribute("title"))
    total = int(str(run.locator(".qw-bar").get_attribute("aria-valuemax")))

    retry.click()
    question = cell.locator(".qw-retry-question")
    what = "picture" if failed == 1 else "pictures"
    expect(question).to_contain_text(
        f"Retry {failed} failed {what} of \u201c{excerpt(words, 40)}\u201d? "
        f"{failed * 10} credits will be reserved."
    )
    page.wait_for_function(f"() => ({FOCUSED})().includes('qw-retry-yes')", timeout=10_000)
    shoot(page, key, "retry-cmp-question-1400-light.png")
    page.set_viewport_size({"width": 700, "height": 1000})
    page.wait_for_timeout(400)
    assert page.evaluate(OVERFLOWING) == [], "sideways scroll at 700 px with the question open"
    shoot(page, key, "retry-cmp-question-700-light.png")
    page.set_viewport_size({"width": 1400, "height": 1000})
    question.locator(".qw-retry-yes").focus()
    page.keyboard.press("Escape")
    expect(question).to_have_count(0)

    cell.locator(".qw-run-retry").click()
    cell.locator(".qw-retry-yes").click()
    expect(cell.locator(".qw-run-retry-line")).to_contain_text(f"Retry · {failed} {what}")
    page.wait_for_function(
        """([key, n]) => {
          const cell = document.querySelector(`.qw-matrix-cell[data-key='${key}']`);
          const cards = cell ? [...cell.querySelectorAll('.qw-run-retry-part .qw-card')] : [];
          return cards.length === n && cards.every((c) => ['done', 'failed'].includes(c.dataset.state));
        }""",
        arg=[key, failed],
        timeout=120_000,
    )
    order = cell.evaluate(
        "(c) => [...c.querySelectorAll('.qw-card')].map((n) => Boolean(n.closest('.qw-run-retry-part')))"
    )
    assert order == [False] * 2 + [True] * failed, "the retry's cards come after the cell's own"
    assert run.count() == 1 and run.locator(".qw-matrix").count() == 1, "the retry is part of the comparison"
    expect(run.locator(".qw-bar")).to_have_attribute("aria-valuemax", str(total + failed))
    expect(run.locator(".qw-run-meta")).to_contain_text("Comparison registered: 5 jobs")
    expect(cell.locator(".qw-run-retry")).to_have_count(0)

    for theme, widths in (("light", (1400, 700)), ("dark", (1400,))):
        if theme == "dark":
            page.evaluate(THEME, "JupyterLab Dark")
            page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=20_000)
            page.wait_for_timeout(500)
        for width in widths:
            page.set_viewport_size({"width": width, "height": 1000})
            page.wait_for_timeout(400)
            assert page.evaluate(OVERFLOWING) == [], f"sideways scroll at {width} px ({theme})"
            shoot(page, key, f"retry-cmp-done-{width}-{theme}.png")
    page.evaluate(THEME, "JupyterLab Light")
