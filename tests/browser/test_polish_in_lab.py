"""Issue 21 as a person sees it in JupyterLab: a comparison drawn as a matrix by its words, one price
beside Generate, and buttons and text that stay readable (computed colours, WCAG ratios) in both themes."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from ._canvas import CELLS_DONE, CONTRAST, OVERFLOWING, THEME, run_all_cells
from .conftest import ARTIFACTS

TEMPLATE = "{oak|marble} countertop, {warm|cold|soft} light"

MATRIX = """() => {
  const m = document.querySelector('.qw-canvas[data-mode=runs] .qw-compare .qw-matrix');
  if (!m) return null;
  const cells = [...m.querySelectorAll('.qw-matrix-cell')].map((c) => c.getBoundingClientRect());
  return {
    cols: [...m.querySelectorAll('.qw-col-label')].map((n) => n.textContent),
    rows: [...m.querySelectorAll('.qw-row-axis')].map((n) => n.textContent),
    cards: m.querySelectorAll('.qw-card').length,
    tops: [...new Set(cells.map((r) => Math.round(r.top)))].length,
    lefts: [...new Set(cells.map((r) => Math.round(r.left)))].length,
  };
}"""


def contrast(page: Page, selector: str) -> dict[str, float]:
    result: dict[str, float] = page.locator(selector).first.evaluate(CONTRAST)
    return result


def test_a_comparison_is_a_matrix_and_buttons_stay_readable(
    page: Page, lab_server: str, jupyter_env: dict[str, Any]
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    run_all_cells(page, f"{lab_server}/lab/tree/02_prompt_studio.ipynb?reset")
    expect(page.locator(".qw-studio")).to_be_visible(timeout=90_000)

    # Type once every cell has run (a later cell replaces the view): an execute queued behind them.
    page.evaluate(CELLS_DONE)
    box = page.locator(".qw-form .qw-prompt-box")
    box.click()
    box.fill(TEMPLATE)
    page.locator(".qw-form .qw-count-input").fill("1")
    page.locator(".qw-form .qw-count-input").press("Enter")  # the count is taken on Enter or on leaving it
    # One figure, the plan's, beside Generate: six jobs of one picture.
    cost = page.locator(".qw-form .qw-cost")
    expect(cost).to_have_text(
        "6 pictures in 6 jobs · 60 credits reserved now, refunded for any that fail", timeout=30_000
    )
    box.press("Control+Enter")
    page.locator(".qw-form .qw-confirm-yes").click()
    page.wait_for_function(f"() => {{ const m = ({MATRIX})(); return m && m.cards === 6; }}", timeout=120_000)
    # What the comparison registered is said in its run's header; the form's line is left for the next job.
    compared = page.locator(".qw-canvas[data-mode=runs] .qw-run.qw-compare").first
    expect(compared.locator(".qw-run-meta")).to_contain_text(
        "Comparison registered: 6 jobs, 6 pictures, 60 credits"
    )
    expect(page.locator(".qw-form .qw-form-status")).to_have_text("")

    # "Run again" asks beside the button pressed; the form keeps what is being written.
    box.fill("the next idea")
    run = page.locator(".qw-canvas[data-mode=runs] .qw-run.qw-compare").first
    run.locator(".qw-run-again").click()
    question = run.locator(".qw-run-question")
    expect(question).to_contain_text("Run this again: 6 prompts × 1 picture = 6 pictures, 60 credits?")
    expect(question.locator(".qw-run-again-yes")).to_be_in_viewport()
    assert box.input_value() == "the next idea"
    assert (
        page.locator(".qw-form .qw-confirm").count() == 0
        or not page.locator(".qw-form .qw-confirm").is_visible()
    )
    page.screenshot(path=str(ARTIFACTS / "polish-run-again-1400-light.png"))
    question.locator(".qw-run-again-no").click()
    expect(question).to_have_count(0)

    for theme in ("light", "dark"):
        if theme == "dark":
            page.evaluate(THEME, "JupyterLab Dark")
            page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=20_000)
        page.wait_for_timeout(500)
        for width in (700, 1400, 2000):
            page.set_viewport_size({"width": width, "height": 1000})
            page.wait_for_timeout(400)
            # In one step in the page: the run is redrawn as its pictures arrive, so a located element can
            # be replaced between finding and scrolling it.
            page.evaluate("() => document.querySelector('.qw-compare')?.scrollIntoView({block: 'nearest'})")
            matrix = page.evaluate(MATRIX)
            assert matrix["cols"] == ["warm", "cold", "soft"] and matrix["rows"] == ["oak", "marble"]
            if width >= 1400:
                assert (matrix["tops"], matrix["lefts"]) == (2, 3), f"a 2 x 3 grid at {width} px: {matrix}"
            assert page.evaluate(OVERFLOWING) == [], f"sideways scroll at {width} px ({theme})"
            page.screenshot(path=str(ARTIFACTS / f"polish-matrix-{width}-{theme}.png"))

        page.set_viewport_size({"width": 1400, "height": 1000})
        generate_button = ".qw-form .qw-generate"
        page.mouse.move(0, 0)
        normal = contrast(page, generate_button)
        page.locator(generate_button).hover()
        page.wait_for_timeout(300)  # past any transition
        hovered = contrast(page, generate_button)
        page.locator(".qw-form .qw-generate").screenshot(path=str(ARTIFACTS / f"polish-hover-{theme}.png"))
        assert normal["ratio"] >= 4.5 and hovered["ratio"] >= 4.5, (theme, normal, hovered)
        assert hovered["bg"] < normal["bg"], f"hover darkens the button ({theme}): {normal} -> {hovered}"
        assert hovered["opacity"] == 1
        page.mouse.move(0, 0)
        for body_text in (".qw-run-prompt", ".qw-run-meta span", ".qw-row-progress", ".qw-axis-label"):
            measured = contrast(page, f".qw-canvas[data-mode=runs] {body_text}")
            assert measured["ratio"] >= 4.5, (theme, body_text, measured)
