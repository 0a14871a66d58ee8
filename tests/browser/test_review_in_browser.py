"""Review in the browser: marks set with keys on focused cards, drawn on the cards, kept by Python (the
review CSV the browser downloads is Python's `review_rows`), the library filtered to picks, in JupyterLab
(notebook 04) and in Voilà (the studio), with screenshots at 700 and 1600 px, light and dark."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from playwright.sync_api import Page, expect

from ._canvas import OVERFLOWING, THEME, finished_run, open_in_voila, run_all_cells, with_a_picture
from .conftest import ARTIFACTS

BOARD = ".qw-canvas[data-mode=runs]"
LIBRARY = ".qw-canvas[data-mode=library]"


def run_ids(page: Page, prompt: str) -> list[str]:
    ids: list[str] = page.evaluate(
        """(prompt) => { const run = [...document.querySelectorAll('.qw-canvas[data-mode=runs] .qw-run')]
             .find(r => r.querySelector('.qw-run-prompt').textContent === prompt);
           return [...run.querySelectorAll('.qw-card.qw-done')].map(c => c.dataset.id); }""",
        prompt,
    )
    return ids


def mark_with_keys(page: Page, prompt: str) -> dict[str, tuple[str, int]]:
    """P on the first picture, X on the second, 3 on the third: each drawn on its card at once (a failed
    tile takes no mark, so these are the run's pictures that did not fail)."""
    first, second, third = run_ids(page, prompt)[:3]
    expected = {first: ("pick", 0), second: ("reject", 0), third: ("", 3)}
    for card_id, key in ((first, "p"), (second, "x"), (third, "3")):
        page.locator(f"{BOARD} .qw-card[data-id='{card_id}']").focus()
        page.keyboard.press(key)
    expect(page.locator(f"{BOARD} .qw-card[data-id='{first}'] .qw-mark-pick")).to_be_visible()
    expect(page.locator(f"{BOARD} .qw-card[data-id='{second}'] .qw-mark-reject")).to_be_visible()
    expect(page.locator(f"{BOARD} .qw-card[data-id='{third}'] .qw-mark-stars")).to_have_text("★★★")
    return expected


def exported_review(page: Page, view: str) -> dict[str, tuple[str, int]]:
    """Choose "Review as CSV" in the Export menu of `view`; the downloaded CSV's marks by id."""
    page.locator(f"{view} .qw-head button.qw-export-menu").click()
    with page.expect_download(timeout=30_000) as download_info:
        page.locator(f"{view} .qw-head button.qw-export-review").click()
    download = download_info.value
    assert download.suggested_filename == "review.csv"
    rows = csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8")))
    return {r["id"]: (r["flag"], int(r["stars"])) for r in rows}


def check_picks_filter(page: Page, picked: str) -> None:
    """The library's Your marks group set to Picks: only picked cards, this one among them."""
    # A studio's library starts folded to one line (its pictures are in Runs): open it as a person would.
    if page.locator(".qw-lib-collapsed").count():
        page.locator(f"{LIBRARY} .qw-lib-fold").click()
        expect(page.locator(".qw-lib-collapsed")).to_have_count(0, timeout=10_000)
    expect(page.locator(f"{LIBRARY} .qw-card[data-id='{picked}'] .qw-mark-pick")).to_be_visible(
        timeout=30_000
    )
    page.locator(f"{LIBRARY} select.qw-mark-filter").select_option("picks")
    expect(page.locator(f"{LIBRARY} .qw-card[data-id='{picked}']")).to_be_visible(timeout=10_000)
    expect(page.locator(f"{LIBRARY} .qw-card:not(:has(.qw-mark-pick))")).to_have_count(0, timeout=10_000)
    expect(page.locator(f"{LIBRARY} .qw-card[data-id='{picked}']")).to_be_visible()
    page.locator(f"{LIBRARY} select.qw-mark-filter").select_option("all")


Marks = dict[str, tuple[str, int]]


def marked_and_exported(page: Page, prompt: str) -> tuple[Marks, Marks]:
    """A finished run with three pictures, marked with keys; the marks set and the review CSV the browser
    downloads."""
    with_a_picture(page, prompt, 4, finished_run(page, prompt, 4), need=3)
    expected = mark_with_keys(page, prompt)
    return expected, exported_review(page, BOARD)


def test_marks_with_keys_in_jupyterlab_show_on_cards_filter_and_export(page: Page, lab_server: str) -> None:
    run_all_cells(page, f"{lab_server}/lab/tree/04_visual_review.ipynb?reset")
    expect(page.locator(".qw-studio")).to_be_visible(timeout=90_000)
    # Marks are kept in the store, so earlier tests' picks make the notebook filter the runs to picks,
    # which hides the new run: wait for the last cell, then show every mark, as a person would.
    expect(page.locator(".jp-OutputArea-output", has_text="review.csv with")).to_be_visible(timeout=90_000)
    page.locator(f"{BOARD} select.qw-mark-filter").select_option("all")
    expected, exported = marked_and_exported(page, "Travertine plinth under a skylight")
    assert {i: exported[i] for i in expected} == expected, "the CSV (Python's marks) matches the keys"
    page.keyboard.press("Escape")
    check_picks_filter(page, next(iter(expected)))

    # Space ticks the focused card, Shift+click ticks a range, Esc clears; the bar counts them.
    # A failed picture cannot be selected (the sandbox fails a quarter): the range runs over the others.
    selectable = [
        i for i in expected if page.locator(f"{BOARD} .qw-card[data-id='{i}'] input.qw-pick").count()
    ]
    assert len(selectable) >= 2, "the run needs two pictures that did not fail for a range"
    first, third = selectable[0], selectable[-1]
    count = page.locator(f"{BOARD} .qw-selected-count")
    page.locator(f"{BOARD} .qw-card[data-id='{first}']").focus()
    page.keyboard.press("Space")
    expect(count).to_have_text("1 selected")
    page.locator(f"{BOARD} .qw-card[data-id='{third}'] input.qw-pick").click(modifiers=["Shift"])
    expect(count).to_have_text(f"{len(selectable)} selected")
    selection_bar = page.locator(f"{BOARD} .qw-selection")
    assert selection_bar.evaluate("(el) => getComputedStyle(el).position") == "sticky"
    page.locator(f"{BOARD} .qw-card[data-id='{first}']").focus()
    page.keyboard.press("Escape")
    expect(selection_bar).to_be_hidden()  # no row for an empty selection

    # ? shows every key, from Python's table.
    page.locator(f"{BOARD} .qw-card").first.focus()
    page.keyboard.press("?")
    expect(page.locator(f"{BOARD} .qw-keys-help")).to_contain_text("Pick")
    page.keyboard.press("Escape")
    expect(page.locator(f"{BOARD} .qw-keys-help")).to_have_count(0)

    ARTIFACTS.mkdir(exist_ok=True)
    board = page.locator(BOARD)
    for theme, name in (("light", "JupyterLab Light"), ("dark", "JupyterLab Dark")):
        page.evaluate(THEME, name)
        light = "true" if theme == "light" else "false"
        page.wait_for_function(f"() => document.body.dataset.jpThemeLight === '{light}'", timeout=20_000)
        for width in (700, 1600):
            page.set_viewport_size({"width": width, "height": 1000})
            page.wait_for_timeout(500)
            board.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / f"review-lab-{width}-{theme}.png"))
            assert page.evaluate(OVERFLOWING) == [], f"horizontal overflow at {width} px ({theme})"
    page.evaluate(THEME, "JupyterLab Light")


def test_marks_with_keys_in_voila(page: Page, voila_server: str) -> None:
    open_in_voila(page, voila_server)
    expected, exported = marked_and_exported(page, "Terrazzo bench by a window")
    assert {i: exported[i] for i in expected} == expected
    check_picks_filter(page, next(iter(expected)))
    ARTIFACTS.mkdir(exist_ok=True)
    for width in (700, 1600):
        page.set_viewport_size({"width": width, "height": 1000})
        page.wait_for_timeout(500)
        page.locator(BOARD).scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"review-voila-{width}.png"))
