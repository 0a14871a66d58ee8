"""The large view as a person uses it in JupyterLab and Voilà: it fills the window, zooms with the wheel
and Z, tiles with T, shows a product cutout composited, compares two pictures side by side (and picks
one with a key), and keeps its controls in sight at 700 px. Screenshots go to test-artifacts/."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image
from playwright.sync_api import FilePayload, Page, expect

from ._canvas import generate, run_all_cells, run_of, wait_run_finished
from .conftest import ARTIFACTS

OVERLAY = ".qw-overlay:not([hidden])"
SHARP = f"""() => {{ const img = document.querySelector('{OVERLAY} img.qw-large-img:not(.qw-large-low)');
  return Boolean(img && img.complete && img.naturalWidth > 0); }}"""
DARK = "window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})"
LIGHT = "window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})"


def cutout() -> FilePayload:
    img = Image.new("RGBA", (400, 300), (0, 0, 0, 0))
    img.paste((220, 40, 40, 255), (100, 60, 300, 300))
    out = io.BytesIO()
    img.save(out, "PNG")
    return FilePayload(name="chair.png", mimeType="image/png", buffer=out.getvalue())


def stage(page: Page) -> dict[str, Any]:
    info: dict[str, Any] = page.evaluate(
        f"""() => {{ const s = document.querySelector('{OVERLAY} .qw-stage');
        const r = s.getBoundingClientRect();
        return {{ zoom: Number(s.dataset.zoom), fit: s.dataset.fit, w: r.width, h: r.height,
                 imgs: s.querySelectorAll('.qw-layer img.qw-large-img').length }}; }}"""
    )
    return info


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def done_cards(page: Page, prompt: str) -> Any:
    return run_of(page, prompt).locator(".qw-card.qw-done")


def test_large_view_zooms_tiles_composites_and_compares_in_jupyterlab(page: Page, lab_server: str) -> None:
    page.set_viewport_size({"width": 1600, "height": 1000})
    run_all_cells(page, f"{lab_server}/lab/tree/02_prompt_studio.ipynb?reset")
    expect(page.locator(".qw-studio")).to_be_visible(timeout=90_000)
    prompt = "Travertine floor, soft noon light"
    generate(page, prompt, 4)
    cards = wait_run_finished(page, prompt, 4)
    assert sum(c["state"] == "done" for c in cards) >= 2, "the sandbox failed too many to compare"

    done_cards(page, prompt).first.click()
    expect(page.locator(OVERLAY)).to_be_visible(timeout=10_000)
    page.wait_for_function(SHARP, timeout=30_000)
    fitted = stage(page)
    assert fitted["fit"] == "yes" and fitted["w"] > 1000, f"the stage uses the window: {fitted}"
    box = page.locator(f"{OVERLAY} .qw-pane").first.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.4)
    page.mouse.wheel(0, -300)
    page.wait_for_function(f"() => document.querySelector('{OVERLAY} .qw-stage').dataset.fit === 'no'")
    assert stage(page)["zoom"] > fitted["zoom"], "the wheel zooms in"
    page.keyboard.press("z")
    page.wait_for_function(f"() => document.querySelector('{OVERLAY} .qw-stage').dataset.zoom === '1'")
    page.keyboard.press("z")
    page.wait_for_function(f"() => document.querySelector('{OVERLAY} .qw-stage').dataset.fit === 'yes'")
    page.keyboard.press("t")
    page.wait_for_function(
        f"() => {{ const t = document.querySelector('{OVERLAY} .qw-layer.qw-tiled');"
        " return Boolean(t) && t.dataset.tiles === '9' && t.style.backgroundImage.startsWith('url('); }"
    )
    shot(page, "large-tiled-1600-light.png")
    page.keyboard.press("t")

    page.locator(f"{OVERLAY} .qw-product-file").set_input_files(cutout())
    product = page.locator(f"{OVERLAY} img.qw-product-img")
    expect(product).to_be_visible(timeout=15_000)
    picture = page.locator(f"{OVERLAY} img.qw-large-img").first.bounding_box()
    placed = product.bounding_box()
    assert picture is not None and placed is not None
    assert abs((placed["x"] + placed["width"] / 2) - (picture["x"] + picture["width"] / 2)) < 3, "centred"
    assert abs((placed["y"] + placed["height"]) - (picture["y"] + picture["height"])) < 3, "at the bottom"
    shot(page, "large-product-1600-light.png")
    page.evaluate(DARK)
    page.wait_for_timeout(800)
    shot(page, "large-product-1600-dark.png")
    page.set_viewport_size({"width": 700, "height": 700})
    page.wait_for_timeout(500)
    for name in ("qw-large-prev", "qw-large-next", "qw-large-close"):
        b = page.locator(f"{OVERLAY} .{name}").bounding_box()
        assert b is not None and b["y"] + b["height"] <= 700, f"{name} in sight at 700 px"
    shot(page, "large-product-700-dark.png")
    page.evaluate(LIGHT)
    page.wait_for_timeout(800)
    shot(page, "large-product-700-light.png")
    page.keyboard.press("Escape")
    expect(page.locator(".qw-overlay")).to_have_count(0, timeout=10_000)
    page.set_viewport_size({"width": 1600, "height": 1000})

    two = done_cards(page, prompt)
    for i in range(2):
        two.nth(i).locator("input.qw-pick").check()
    two.first.focus()
    page.keyboard.press("c")
    panes = page.locator(f"{OVERLAY} .qw-stage-compare .qw-pane")
    expect(panes).to_have_count(2, timeout=10_000)
    page.wait_for_function(
        f"() => document.querySelectorAll('{OVERLAY} img.qw-large-img:not(.qw-large-low)').length === 2",
        timeout=30_000,
    )
    pane = panes.first.bounding_box()
    assert pane is not None
    page.mouse.move(pane["x"] + pane["width"] / 2, pane["y"] + pane["height"] / 2)
    page.mouse.wheel(0, -300)
    page.wait_for_timeout(200)
    transforms = page.evaluate(
        f"() => [...document.querySelectorAll('{OVERLAY} .qw-layer')].map(l => l.style.transform)"
    )
    assert len(set(transforms)) == 1, f"zoom and pan in step: {transforms}"
    page.keyboard.press("ArrowRight")
    expect(panes.nth(1)).to_have_class("qw-pane qw-pane-active", timeout=5_000)
    page.keyboard.press("Shift+P")  # pick the second, and stay
    expect(panes.nth(1).locator(".qw-mark-pick")).to_be_visible(timeout=10_000)
    shot(page, "large-compare-1600-light.png")
    page.keyboard.press("s")
    expect(page.locator(f"{OVERLAY} .qw-slider .qw-divider")).to_be_visible()
    page.evaluate(DARK)
    page.wait_for_timeout(800)
    shot(page, "large-slider-1600-dark.png")
    page.evaluate(LIGHT)
    page.keyboard.press("Escape")
    # This run's pictures only: marks are kept in the store, and earlier tests of the session pick theirs.
    picked = run_of(page, prompt).locator(".qw-card .qw-mark-pick")
    expect(picked).to_have_count(1, timeout=10_000)


def test_voila_at_700_keeps_the_large_view_controls_in_sight(page: Page, voila_server: str) -> None:
    page.set_viewport_size({"width": 700, "height": 700})
    page.goto(f"{voila_server}/", wait_until="domcontentloaded")
    expect(page.locator(".qw-studio")).to_be_visible(timeout=90_000)
    prompt = "Slate wall, evening lamp"
    generate(page, prompt, 2)
    wait_run_finished(page, prompt, 2)
    done_cards(page, prompt).first.click()
    expect(page.locator(OVERLAY)).to_be_visible(timeout=10_000)
    page.wait_for_function(SHARP, timeout=30_000)
    for name in ("qw-large-prev", "qw-large-next", "qw-large-close", "qw-zoom-full"):
        b = page.locator(f"{OVERLAY} .{name}").bounding_box()
        assert b is not None and b["y"] >= 0 and b["y"] + b["height"] <= 700, f"{name} in sight"
    assert stage(page)["h"] > 250, "the picture keeps most of the window"
    shot(page, "voila-large-700.png")
    page.keyboard.press("Escape")
