"""The studio as a user meets it: in JupyterLab and in Voilà, driven through Chromium."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from .conftest import ARTIFACTS

pytestmark = pytest.mark.browser

KERNEL_STATUS = """() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return k ? k.status : null; }"""

# DONE cards in the gallery showing a downloaded thumbnail (the gallery marks those, never a
# placeholder tile, with qw-thumb-real), decoded by the browser.
DONE_CARDS_WITH_IMAGES = """() => Array.from(document.querySelectorAll('.qw-gallery .qw-card'))
  .filter(c => c.offsetParent !== null &&
    Array.from(c.querySelectorAll('.qw-badge')).some(b => b.textContent.trim() === 'DONE'))
  .filter(c => { const img = c.querySelector('img.qw-thumb-real');
    return img && img.complete && img.naturalWidth > 0; })
  .length"""

RECORD_STATUSES = """() => Array.from(document.querySelectorAll('.qw-record-status'))
  .map(e => e.textContent.trim())"""


def generate(page: Page, prompt: str, count: int) -> None:
    page.locator(".qw-prompt textarea").fill(prompt)
    count_input = page.locator(".qw-form .qw-count input")
    count_input.fill(str(count))
    count_input.press("Enter")
    expect(page.locator(".qw-cost")).to_contain_text(f"{count} sceneries", timeout=10_000)
    page.locator("button.qw-generate").click()


def wait_for_finished_records(page: Page, count: int) -> list[str]:
    page.wait_for_function(
        f"""() => {{ const s = ({RECORD_STATUSES})();
            return s.length >= {count} && s.every(t => /DONE|FAILED/.test(t)); }}""",
        timeout=120_000,
    )
    return page.evaluate(RECORD_STATUSES)


def done_on_first_page(service: Any, page_size: int = 24) -> int:
    """What the gallery's first page (newest first) must show as DONE, from the sandbox's own list."""
    listed = httpx.get(
        f"{service.base_url}/api/external/sceneries", headers={"X-Api-Key": service.api_key}, timeout=10
    ).json()["sceneries"]
    newest = sorted(listed, key=lambda s: s["createdAt"], reverse=True)[:page_size]
    return sum(s["status"] == "DONE" for s in newest)


def check_studio_round_trip(page: Page, service: Any, name: str) -> None:
    expect(page.locator(".qw-studio")).to_be_visible(timeout=90_000)
    expect(page.locator(".qw-sandbox-badge")).to_be_visible()
    # The notebook itself submits a small batch on the sandbox; let it finish first.
    before = wait_for_finished_records(page, 3)

    generate(page, "Pastel marble podium with soft shadow", 3)
    statuses = wait_for_finished_records(page, len(before) + 3)
    assert len(statuses) == len(before) + 3, statuses
    expected = done_on_first_page(service)
    page.wait_for_function(f"({DONE_CARDS_WITH_IMAGES})() === {expected}", timeout=60_000)
    expect(page.locator(".qw-account")).to_contain_text(re.compile(r"[1-9]\d* consumed"))
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_studio_in_jupyterlab_generates_and_shows_results(
    page: Page, lab_server: str, jupyter_env: dict[str, Any], service: Any
) -> None:
    page.goto(f"{lab_server}/lab/tree/02_prompt_studio.ipynb?reset", wait_until="domcontentloaded")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
    page.wait_for_function(f"({KERNEL_STATUS})() === 'idle'", timeout=90_000)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.locator("li[data-command='runmenu:run-all']").click()
    check_studio_round_trip(page, service, "jupyterlab-studio")

    page.keyboard.press("Control+s")
    saved = Path(jupyter_env["nbdir"]) / "02_prompt_studio.ipynb"
    page.wait_for_timeout(1500)
    text = saved.read_text()
    assert "application/vnd.jupyter.widget-view+json" in text, "the saved notebook has no widget output"
    secret = service.api_key.split(".", 1)[1]
    assert service.api_key not in text and secret not in text


def test_studio_in_voila_renders_and_updates(page: Page, voila_server: str, service: Any) -> None:
    page.goto(f"{voila_server}/", wait_until="domcontentloaded")
    check_studio_round_trip(page, service, "voila-studio")
