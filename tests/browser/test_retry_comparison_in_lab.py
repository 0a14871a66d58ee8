"""Issue 21, "Failed pictures" in a comparison, as a person sees it in JupyterLab: a matrix cell whose
prompt had failures offers its own "Retry N failed", asks inside that cell with the cost, and the new
pictures appear in the same cell after its own, counted in the comparison's header."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from qamera_widgets.engine.wording import pictures

from ._canvas import ask_retry, generate_until_failed, open_studio, run_of, shoot_widths
from .conftest import ARTIFACTS


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
    open_studio(page, f"{lab_server}/lab/tree/02_prompt_studio.ipynb?reset")
    takes = (f"{{oak|marble}} table, {{warm|cool}} light, take {n + 1}" for n in range(6))
    template, _ = generate_until_failed(page, takes, 2, 8, confirm=True)
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
    ask_retry(
        page,
        question,
        words,
        failed,
        lambda name: shoot(page, key, name),
        "retry-cmp-question-{width}-light.png",
    )

    cell.locator(".qw-run-retry").click()
    cell.locator(".qw-retry-yes").click()
    expect(cell.locator(".qw-run-retry-line")).to_contain_text(f"Retry · {pictures(failed)}")
    # The cell's own 2 cards, then the retry's, each finished (in one step in the page: it is redrawn).
    page.wait_for_function(
        """([key, n]) => {
          const cell = document.querySelector(`.qw-matrix-cell[data-key='${key}']`);
          const cards = cell ? [...cell.querySelectorAll('.qw-card')] : [];
          const retried = cards.map((c) => Boolean(c.closest('.qw-run-retry-part')));
          return retried.join() === [...Array(2).fill(false), ...Array(n).fill(true)].join() &&
            cards.slice(2).every((c) => ['done', 'failed'].includes(c.dataset.state));
        }""",
        arg=[key, failed],
        timeout=120_000,
    )
    assert run.count() == 1 and run.locator(".qw-matrix").count() == 1, "the retry is part of the comparison"
    expect(run.locator(".qw-bar")).to_have_attribute("aria-valuemax", str(total + failed))
    expect(run.locator(".qw-run-meta")).to_contain_text("Comparison registered: 5 jobs")
    # The same failures are not offered again; the retry's own are (the sandbox fails a quarter).
    again = cell.locator(".qw-run-retry-part .qw-card[data-state='failed']").count()
    if again:
        expect(cell.locator(".qw-run-retry")).to_have_text(f"Retry {again} failed")
    else:
        expect(cell.locator(".qw-run-retry")).to_have_count(0)

    shoot_widths(page, lambda name: shoot(page, key, name), "retry-cmp-done-{width}-{theme}.png")
