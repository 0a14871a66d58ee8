"""Review (issue 20): a key press to the mark painted on the card, and marks across kernels.

    PYTHONPATH=$PWD .venv/bin/python -m benchmarks.bench_review                  # both, ~60 s
    PYTHONPATH=$PWD .venv/bin/python -m benchmarks.bench_review --only kernels   # no browser, ~20 s

`paint`: JupyterLab in a temp dir, Chromium 1400x1000, a `SceneryGallery` of 24 pictures; 50 presses
alternating P and U on focused cards (each changes what the card shows). Timed in the page, from the
keydown (capture phase, before the canvas sees it) to the frame after the card shows the new mark: what a
person sees, drawn ahead of Python's answer. The same-run baseline is the page's own frame: keydown to the
next animation frame on the same page, with no work at all.

`kernels`: kernel A (nbclient) opens a Studio, marks three pictures and ends; kernel B, a new kernel on the
same QAMERA_WIDGETS_HOME, opens a Studio and reads its marks; the sandbox counts B's API requests.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.bench_canvas import KERNEL_IDLE, lab_page, run_first_cell, save_notebook
from qamera_widgets.sandbox import start

PRESSES = 50
PICTURES = 24

SETUP = f"""
import os
from qamera_widgets import SceneryGallery
from qamera_widgets.client import AsyncQameraClient
client = AsyncQameraClient(os.environ["QAMERA_API_KEY"], os.environ["QAMERA_BASE_URL"])
gallery = SceneryGallery(client, page_size={PICTURES})
display(gallery)
await gallery.wait_idle()
print("ready", len(gallery.cards))
"""

ARM = """([id, want]) => {
  window.__t0 = null; window.__t1 = null;
  const card = () => document.querySelector(`.qw-canvas .qw-card[data-id="${id}"]`);
  const shows = () => want === 'pick' ? Boolean(card()?.querySelector('.qw-mark-pick'))
                                      : !card()?.querySelector('.qw-mark');
  const onKey = () => { window.__t0 = performance.now(); document.removeEventListener('keydown', onKey, true);
    requestAnimationFrame(tick); };
  const tick = () => {
    if (shows()) { requestAnimationFrame(() => { window.__t1 = performance.now(); }); return; }
    requestAnimationFrame(tick);
  };
  document.addEventListener('keydown', onKey, true);
}"""

FRAME = """() => new Promise((resolve) => {
  const t0 = performance.now();
  requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now() - t0)));
})"""


def paint() -> tuple[list[float], list[float]]:
    with (
        start(library=PICTURES, rate_limit=None, seed=7, failure_rate=0.0) as sandbox,
        tempfile.TemporaryDirectory(prefix="qw-bench-review-", ignore_cleanup_errors=True) as scratch,
    ):
        root = Path(scratch)
        (root / "nb").mkdir()
        save_notebook(root / "nb" / "bench.ipynb", [SETUP])
        with lab_page(root, sandbox, "bench.ipynb", width=1400) as page:
            run_first_cell(page)
            page.get_by_text(f"ready {PICTURES}").wait_for(timeout=90_000)
            page.wait_for_function(KERNEL_IDLE, timeout=60_000)
            ids: list[str] = page.evaluate(
                "() => [...document.querySelectorAll('.qw-canvas .qw-card')].map(c => c.dataset.id)"
            )
            times: list[float] = []
            frames: list[float] = []
            for press in range(PRESSES + 2):  # the first two warm up
                card_id = ids[(press // 2) % len(ids)]
                key, want = ("p", "pick") if press % 2 == 0 else ("u", "none")
                page.locator(f".qw-canvas .qw-card[data-id='{card_id}']").focus()
                page.evaluate(ARM, [card_id, want])
                page.keyboard.press(key)
                page.wait_for_function("() => window.__t1 !== null", timeout=10_000, polling=10)
                elapsed = page.evaluate("() => window.__t1 - window.__t0")
                frames_ms = page.evaluate(FRAME)
                page.wait_for_timeout(60)  # Python's answer lands before the next press
                if press >= 2:
                    times.append(elapsed)
                    frames.append(frames_ms)
        return times, frames


KERNEL_A = """
import os
from qamera_widgets import Studio
from qamera_widgets.client import QameraClient
studio = Studio(QameraClient(os.environ["QAMERA_API_KEY"], os.environ["QAMERA_BASE_URL"]))
await studio.gallery.refresh()
ids = [s.id for s in studio.gallery.sceneries[:3]]
studio.mark(ids[0], flag="pick", stars=5)
studio.mark(ids[1], flag="reject")
studio.mark(ids[2], stars=3)
studio.close()
"""
KERNEL_B = """
import json, os, time
from qamera_widgets import Studio
from qamera_widgets.client import QameraClient
t0 = time.perf_counter()
studio = Studio(QameraClient(os.environ["QAMERA_API_KEY"], os.environ["QAMERA_BASE_URL"]))
seen = {i: m.as_dict() for i, m in studio.board.mark_book.marks().items()}
elapsed = time.perf_counter() - t0
studio.close()  # before the loop runs: nothing this kernel started has reached the API
print(json.dumps({"marks": seen, "seconds": elapsed}))
"""


def kernels() -> dict[str, Any]:
    import nbformat
    from nbclient import NotebookClient

    with (
        start(library=6, rate_limit=None, seed=3, failure_rate=0.0) as sandbox,
        tempfile.TemporaryDirectory(prefix="qw-bench-home-", ignore_cleanup_errors=True) as home,
    ):
        env = dict(
            os.environ,
            QAMERA_API_KEY=sandbox.api_key,
            QAMERA_BASE_URL=sandbox.base_url,
            QAMERA_WIDGETS_HOME=str(home),
        )

        def run(source: str) -> list[str]:
            notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
            NotebookClient(notebook, timeout=120, kernel_name="python3").execute(env=env)
            return [
                o.get("text", "")
                for o in notebook.cells[0].get("outputs", [])
                if o["output_type"] == "stream"
            ]

        run(KERNEL_A)
        before = sandbox.stats()
        [line] = [t for t in run(KERNEL_B) if t.strip()]
        after = sandbox.stats()
        result: dict[str, Any] = json.loads(line)
        result["api_requests"] = after["api_requests"] - before["api_requests"]
        return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="paint,kernels")
    chosen = set(parser.parse_args().only.split(","))
    if "paint" in chosen:
        times, frames = paint()
        median, frame = statistics.median(times), statistics.median(frames)
        print(
            f"key press to mark painted, median of {len(times)}: {median:.1f} ms "
            f"(p90 {sorted(times)[int(len(times) * 0.9)]:.1f} ms, max {max(times):.1f} ms); "
            f"the page's own frame (baseline, two rAFs): {frame:.1f} ms; ratio {median / frame:.2f}x; "
            f"target <= 50 ms: {'met' if median <= 50 else 'NOT met'}"
        )
    if "kernels" in chosen:
        result = kernels()
        print(
            f"new kernel's Studio: {len(result['marks'])} marks seen in {result['seconds'] * 1000:.1f} ms "
            f"with {result['api_requests']} API requests "
            f"(target 0: {'met' if result['api_requests'] == 0 else 'NOT met'})"
        )


if __name__ == "__main__":
    main()
