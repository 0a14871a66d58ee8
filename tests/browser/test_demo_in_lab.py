"""`qamera-widgets demo` opened in Chromium as a newcomer opens it: the studio notebook is not already
marked unsaved, and no "official Jupyter news?" toast covers it."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.system.test_demo_command import STUDIO, demo

from .conftest import ARTIFACTS


def test_the_studio_opens_clean_and_uncovered(page: Page, tmp_path: Path) -> None:
    with demo(tmp_path, "--workdir", str(tmp_path / "work")) as (_, said, _):
        url = re.search(r"Open (\S+)", said)
        assert url, said
        page.goto(url.group(1))
        tab = page.locator(".lm-TabBar-tab", has_text=STUDIO)
        expect(tab).to_be_visible(timeout=60_000)
        expect(page.locator("#jp-main-statusbar")).to_contain_text("Idle", timeout=60_000)
        page.wait_for_timeout(3000)  # Lab writes the kernel's language_info, and asks its question, by then
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "demo-lab-first-open-1400-light.png"))
        assert "jp-mod-dirty" not in (tab.get_attribute("class") or ""), "opened already marked unsaved"
        toasts = page.locator(".Toastify__toast")
        assert toasts.count() == 0, toasts.all_inner_texts()
