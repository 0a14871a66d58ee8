"""The studio in Notebook 7, the classic-looking frontend many JupyterHub deployments serve."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from ._canvas import check_large_view, generate, run_all_cells, wait_run_finished, with_a_picture
from .conftest import ARTIFACTS


def test_studio_in_notebook7_runs_and_updates(page: Page, notebook7_server: str, service: Any) -> None:
    run_all_cells(page, f"{notebook7_server}/notebooks/02_prompt_studio.ipynb")
    expect(page.locator(".qw-studio")).to_be_visible(timeout=90_000)
    expect(page.locator(".qw-form .qw-badge-sandbox")).to_be_visible()
    prompt = "Sunlit white marble countertop, soft shadows"
    generate(page, prompt, 3)  # the notebook itself submits nothing
    # The sandbox fails a quarter of its pictures, so a run can have none to open (in a long session it
    # did): a person generates again; the newest run is drawn first, so its done card is the one opened.
    with_a_picture(page, prompt, 3, wait_run_finished(page, prompt, 3))
    check_large_view(page, prompt)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "notebook7-studio.png"), full_page=True)
