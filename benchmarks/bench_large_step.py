"""→ in the large view until the next picture is painted at the shown size, in JupyterLab and Chromium,
on the sandbox CDN with 50 ms latency: the neighbours are prefetched, so a step should not wait on it.

    PYTHONPATH=$PWD .venv/bin/python -m benchmarks.bench_large_step --steps 50 --runs 2

The same run measures a baseline: opening a picture whose large version was never asked for (a click
on a card far down the page, Esc between), which pays the CDN round trip and the kernel's resize. The
step is reported as a median in ms and as a ratio to that baseline. A person looks at each picture for
a moment, so the benchmark waits `--dwell` ms (default 400) on each before pressing → again.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import Any

from qamera_widgets.sandbox import start
from tests.browser.conftest import CHROMIUM

from .bench_canvas import lab_page, run_first_cell, save_notebook, warm_cdn

LIBRARY = 60
LATENCY_MS = 50.0
OVERLAY = ".qw-overlay:not([hidden])"

CELL = """\
from qamera_widgets.client import AsyncQameraClient
from qamera_widgets.widgets import SceneryGallery
client = AsyncQameraClient(rate_limit_per_minute=None)
gallery = SceneryGallery(client, page_size=60)
gallery
"""

# t0 at the → keydown (capture phase), t1 at the first frame where the overlay shows another id with
# its large picture (not the thumbnail stand-in) decoded and laid out.
ARM = """(overlay) => {
  const id = () => { const n = document.querySelector(overlay + ' .qw-id'); return n ? n.textContent : ''; };
  const before = id();
  window.__t0 = null; window.__t1 = null;
  const onKey = (e) => { if (window.__t0 === null) window.__t0 = performance.now(); };
  document.addEventListener('keydown', onKey, { capture: true, once: true });
  const tick = () => {
    const img = document.querySelector(overlay + ' img.qw-large-img:not(.qw-large-low)');
    const box = img && img.getBoundingClientRect();
    if (window.__t0 !== null && id() !== before && img && img.complete && img.naturalWidth > 0 &&
        box.width > 0) { window.__t1 = performance.now(); return; }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""

ARM_CLICK = """(overlay) => {
  window.__t0 = performance.now(); window.__t1 = null;
  const tick = () => {
    const img = document.querySelector(overlay + ' img.qw-large-img:not(.qw-large-low)');
    if (img && img.complete && img.naturalWidth > 0) { window.__t1 = performance.now(); return; }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""


def elapsed(page: Any) -> float:
    page.wait_for_function("() => window.__t1 !== null", timeout=60_000, polling=10)
    ms: float = page.evaluate("() => window.__t1 - window.__t0")
    return ms


def measure(steps: int, dwell: int, cold: int) -> tuple[list[float], list[float]]:
    with (
        start(library=LIBRARY, cdn_latency_ms=0, rate_limit=None, seed=5, failure_rate=0.0) as sandbox,
        tempfile.TemporaryDirectory(prefix="qw-bench-large-", ignore_cleanup_errors=True) as scratch,
    ):
        root = Path(scratch)
        warm_cdn(sandbox)
        sandbox.set_faults(cdn_latency_ms=LATENCY_MS)
        (root / "nb").mkdir()
        save_notebook(root / "nb" / "large.ipynb", [CELL])
        with lab_page(root, sandbox, "large.ipynb", width=1600) as page:
            run_first_cell(page)
            page.wait_for_function(
                f"() => document.querySelectorAll('.qw-card img.qw-thumb-real').length >= {LIBRARY}",
                timeout=120_000,
            )
            cards = page.locator(".qw-canvas .qw-card")
            opened: list[float] = []
            for i in range(cold):  # the baseline: large pictures never asked for (every third card)
                page.evaluate(ARM_CLICK, OVERLAY)
                cards.nth(LIBRARY - 1 - 3 * i).click()
                opened.append(elapsed(page))
                page.keyboard.press("Escape")
                page.wait_for_timeout(dwell)
            cards.first.click()
            page.wait_for_function(
                f"() => document.querySelector('{OVERLAY} img.qw-large-img:not(.qw-large-low)')",
                timeout=30_000,
            )
            stepped: list[float] = []
            for _ in range(steps):
                page.wait_for_timeout(dwell)
                page.evaluate(ARM, OVERLAY)
                page.keyboard.press("ArrowRight")
                stepped.append(elapsed(page))
        return stepped, opened


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--dwell", type=int, default=400, help="ms on each picture before →")
    parser.add_argument("--cold", type=int, default=10, help="baseline opens of never-fetched pictures")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit("Debian's chromium is not installed: apt-get install -y chromium")
    for run in range(1, args.runs + 1):
        stepped, opened = measure(args.steps, args.dwell, args.cold)
        step, cold = statistics.median(stepped), statistics.median(opened)
        print(
            f"run {run}: → to the next picture painted at the shown size: median {step:.0f} ms over "
            f"{len(stepped)} steps (p90 {sorted(stepped)[int(len(stepped) * 0.9) - 1]:.0f} ms, max "
            f"{max(stepped):.0f} ms); baseline, a picture never fetched: median {cold:.0f} ms over "
            f"{len(opened)} opens; ratio {step / cold:.2f}; target median <= 100 ms: "
            f"{'PASS' if step <= 100 else 'FAIL'}"
        )


if __name__ == "__main__":
    main()
