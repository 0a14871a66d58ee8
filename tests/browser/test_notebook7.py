"""The studio in Notebook 7, the classic-looking frontend many JupyterHub deployments serve."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .conftest import ARTIFACTS

pytestmark = pytest.mark.browser

KERNEL_STATUS = """() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return k ? k.status : null; }"""
RECORD_STATUSES = """() => Array.from(document.querySelectorAll('.qw-record-status'))
  .map(e => e.textContent.trim())"""


def test_studio_in_notebook7_runs_and_updates(page: Page, notebook7_server: str, service: Any) -> None:
    page.goto(f"{notebook7_server}/notebooks/02_prompt_studio.ipynb", wait_until="domcontentloaded")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
    page.wait_for_function(f"({KERNEL_STATUS})() === 'idle'", timeout=90_000)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.locator("li[data-command='runmenu:run-all']").click()
    expect(page.locator(".qw-studio")).to_be_visible(timeout=90_000)
    expect(page.locator(".qw-sandbox-badge")).to_be_visible()
    # The notebook's own sandbox batch: its status cells go live and end DONE or FAILED.
    page.wait_for_function(
        f"""() => {{ const s = ({RECORD_STATUSES})();
            return s.length >= 3 && s.every(t => /DONE|FAILED/.test(t)); }}""",
        timeout=120_000,
    )
    # Every DONE card on the page ends up with a real (not placeholder) thumbnail, decoded by the browser.
    page.wait_for_function(
        """() => { const done = Array.from(document.querySelectorAll('.qw-gallery .qw-card'))
              .filter(c => c.offsetParent !== null && Array.from(c.querySelectorAll('.qw-badge'))
                .some(b => b.textContent.trim() === 'DONE'));
            return done.length > 0 && done.every(c => { const i = c.querySelector('img.qw-thumb-real');
              return i && i.complete && i.naturalWidth > 0; }); }""",
        timeout=60_000,
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "notebook7-studio.png"), full_page=True)
