"""The Runs toolbar in JupyterLab leaves the screen to the pictures: one row of controls at 1400 and 2000 px,
at most two at 700 px, the first picture above the fold after one run; the exports sit in a real menu that
works from the keyboard and reads well in both themes; the selection row shows only while something is
selected."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, expect

from ._canvas import (
    CELLS_DONE,
    CONTRAST,
    OVERFLOWING,
    THEME,
    finished_run,
    run_all_cells,
    run_of,
    with_a_picture,
)
from .conftest import ARTIFACTS

BOARD = ".qw-canvas[data-mode=runs]"
HEIGHT = 900

# Rows of controls above the runs (the head and the selection row): the controls' vertical centres,
# grouped when closer than half a control's height; and the toolbar's height against one control's.
TOOLBAR_ROWS = """(sel) => {
  const root = document.querySelector(sel);
  const parts = [root.querySelector('.qw-head'), root.querySelector('.qw-selection')]
    .filter((n) => n && n.getBoundingClientRect().height > 0);
  const rects = [];
  for (const part of parts) {
    for (const n of part.querySelectorAll('button, select, input, .qw-title, .qw-selected-count')) {
      if (n.closest('[role=menu]')) continue;
      const r = n.getBoundingClientRect();
      if (r.width > 0 && r.height > 0) rects.push(r);
    }
  }
  const control = Math.max(...rects.map((r) => r.height));
  const centres = rects.map((r) => r.top + r.height / 2).sort((a, b) => a - b);
  let rows = 0, first = -Infinity;
  for (const c of centres) if (c - first > control / 2) { rows += 1; first = c; }
  const top = Math.min(...parts.map((p) => p.getBoundingClientRect().top));
  const bottom = Math.max(...parts.map((p) => p.getBoundingClientRect().bottom));
  return { rows, height: bottom - top, control, controls: rects.length };
}"""

FIRST_CARD_TOP = """(sel) => {
  document.querySelector('.qw-studio').scrollIntoView({block: 'start'});
  const card = document.querySelector(`${sel} .qw-run .qw-card`);
  return card.getBoundingClientRect().top;
}"""


# Whether the item is what a click at its centre reaches (the open menu is drawn over the pictures).
ON_TOP = """(item) => { const r = item.getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return hit !== null && item.contains(hit); }"""


def toolbar_rows(page: Page) -> dict[str, float]:
    measured: dict[str, float] = page.evaluate(TOOLBAR_ROWS, BOARD)
    return measured


def focused_class(page: Page) -> str:
    name: str = page.evaluate("() => document.activeElement ? document.activeElement.className : ''")
    return name


def check_menu_keys(page: Page, menu_button: Locator) -> None:
    """The WAI-ARIA menu button: ArrowDown opens on the first item, arrows move, Escape closes back."""
    menu_button.focus()
    expect(menu_button).to_have_attribute("aria-haspopup", "menu")
    expect(menu_button).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("ArrowDown")
    expect(menu_button).to_have_attribute("aria-expanded", "true")
    assert "qw-export-review" in focused_class(page)
    page.keyboard.press("ArrowDown")
    assert "qw-picks-sheet" in focused_class(page)
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    assert "qw-picks-zip" in focused_class(page), "ArrowUp from the first item wraps to the last"
    page.keyboard.press("Escape")
    expect(menu_button).to_have_attribute("aria-expanded", "false")
    assert "qw-export-menu" in focused_class(page), "Escape returns the focus to the menu's button"
    page.mouse.click(5, HEIGHT - 5)


def check_export_from_menu(page: Page, menu_button: Locator) -> None:
    """Enter on "Export review" in the menu downloads the review CSV that Python writes."""
    menu_button.focus()
    page.keyboard.press("Enter")
    expect(page.locator(f"{BOARD} [role=menu]")).to_be_visible()
    with page.expect_download(timeout=30_000) as download_info:
        page.keyboard.press("Enter")  # the first item has the focus
    download = download_info.value
    assert download.suggested_filename == "review.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert rows and {"id", "flag", "stars"} <= set(rows[0])
    expect(menu_button).to_have_attribute("aria-expanded", "false")


def test_runs_toolbar_is_one_row_and_pictures_stay_above_the_fold(
    page: Page, lab_server: str, jupyter_env: dict[str, Any]
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1400, "height": HEIGHT})
    run_all_cells(page, f"{lab_server}/lab/tree/02_prompt_studio.ipynb?reset")
    expect(page.locator(".qw-studio")).to_be_visible(timeout=90_000)
    page.evaluate(CELLS_DONE)
    prompt = "Walnut shelf against a limewash wall"
    with_a_picture(page, prompt, 4, finished_run(page, prompt, 4))
    board = page.locator(BOARD)
    menu_button = board.locator(".qw-head button.qw-export-menu")
    # Nothing is selected: no selection row.
    expect(board.locator(".qw-selection")).to_be_hidden()

    check_menu_keys(page, menu_button)
    check_export_from_menu(page, menu_button)

    measured: dict[tuple[int, str], dict[str, float]] = {}
    for theme, name in (("light", "JupyterLab Light"), ("dark", "JupyterLab Dark")):
        page.evaluate(THEME, name)
        light = "true" if theme == "light" else "false"
        page.wait_for_function(f"() => document.body.dataset.jpThemeLight === '{light}'", timeout=20_000)
        for width in (700, 1400, 2000):
            page.set_viewport_size({"width": width, "height": HEIGHT})
            page.wait_for_timeout(500)
            rows = toolbar_rows(page)
            measured[(width, theme)] = rows
            allowed = 2 if width < 1400 else 1
            assert rows["rows"] <= allowed, f"{rows} at {width} px ({theme})"
            assert rows["height"] < (allowed + 1) * rows["control"], f"{rows} at {width} px ({theme})"
            top = page.evaluate(FIRST_CARD_TOP, BOARD)
            if width == 700:
                assert top < HEIGHT - 100, f"the first picture starts at {top} px of {HEIGHT} ({theme})"
            assert page.evaluate(OVERFLOWING) == [], f"sideways scroll at {width} px ({theme})"
            page.screenshot(path=str(ARTIFACTS / f"toolbar-{width}-{theme}.png"))
        # The open menu: readable in this theme (computed colours), drawn over the pictures.
        page.set_viewport_size({"width": 1400, "height": HEIGHT})
        board.locator(".qw-head").scroll_into_view_if_needed()
        menu_button.click()
        menu = board.locator(".qw-head [role=menu]")
        expect(menu).to_be_visible()
        for item in ("qw-export-review", "qw-picks-sheet", "qw-picks-zip"):
            ratio = menu.locator(f".{item}").evaluate(CONTRAST)["ratio"]
            assert ratio >= 4.5, (theme, item, ratio)
            assert menu.locator(f".{item}").evaluate(ON_TOP), f"{item} is covered ({theme})"
        assert page.evaluate(OVERFLOWING) == [], f"the open menu scrolls sideways ({theme})"
        page.screenshot(path=str(ARTIFACTS / f"toolbar-menu-1400-{theme}.png"))
        page.mouse.click(5, HEIGHT - 5)  # a click outside closes it
        expect(menu).to_be_hidden()
        expect(menu_button).to_have_attribute("aria-expanded", "false")
    print("toolbar rows:", {f"{w}-{t}": (m["rows"], round(m["height"])) for (w, t), m in measured.items()})
    page.evaluate(THEME, "JupyterLab Light")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'true'", timeout=20_000)

    # Selected: the count, Compare and the downloads in one row that goes away again with Clear.
    page.set_viewport_size({"width": 1400, "height": HEIGHT})
    done = run_of(page, prompt).locator(".qw-card.qw-done")
    assert done.count() >= 1, "the sandbox failed every picture of the run"
    done.first.locator("input.qw-pick").check()
    selection = board.locator(".qw-selection")
    expect(selection).to_be_visible()
    expect(selection.locator(".qw-selected-count")).to_have_text("1 selected")
    rows = toolbar_rows(page)
    assert rows["rows"] <= 2, f"the head and the selection row: {rows}"
    page.screenshot(path=str(ARTIFACTS / "toolbar-selected-1400-light.png"))
    selection.locator("button.qw-download-menu").click()
    sheet = selection.locator("button.qw-download-sheet")
    assert sheet.evaluate(ON_TOP), "the Download menu is drawn over the pictures"
    assert sheet.evaluate(CONTRAST)["ratio"] >= 4.5
    page.screenshot(path=str(ARTIFACTS / "toolbar-download-menu-1400-light.png"))
    with page.expect_download(timeout=30_000) as sheet_info:
        sheet.click()
    assert sheet_info.value.suggested_filename == "contact-sheet.png"
    selection.locator("button.qw-clear").click()
    expect(selection).to_be_hidden()
