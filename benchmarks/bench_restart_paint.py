"""After a kernel restart (issue 19): a Studio's pictures painted in Chromium, picture cache warm or empty.

    PYTHONPATH=$PWD .venv/bin/python -m benchmarks.bench_restart_paint      # about 2 min

A sandbox of this process (48 library sceneries, 50 ms CDN latency once set up) and a local store folder
(QAMERA_WIDGETS_HOME) holding 50 earlier runs of 2 pictures, registered on the sandbox and recorded through
the Journal as the Studio records them. In JupyterLab (Chromium 1400x1000) one cell opens
`Studio(client, page_size=48)` with the library unfolded. Each measured run is a fresh kernel (restarted
from the page); t0 is the Shift+Enter keydown, t1 the first frame in which every picture the priming run
drew is painted (`img.complete`, `naturalWidth > 0`, a non-zero box). "warm" keeps <home>/pictures/ from
the runs before; "empty" deletes it first. CDN requests are the sandbox's `cdn_requests` over the run,
until the CDN is quiet for 1.5 s.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.bench_canvas import KERNEL_IDLE, lab_page, run_cell
from qamera_widgets.client import QameraClient
from qamera_widgets.engine.jobs.journal import Journal
from qamera_widgets.engine.pictures.disk_cache import CACHE_FOLDER
from qamera_widgets.sandbox import Sandbox, start

RUNS = 50
LIBRARY = 48

CELL = f"""
import os
from qamera_widgets import Studio
from qamera_widgets.client import QameraClient
client = QameraClient(os.environ["QAMERA_API_KEY"], os.environ["QAMERA_BASE_URL"])
studio = Studio(client, page_size={LIBRARY})
studio.gallery.collapsed = False
display(studio)
await studio.wait_idle()
print("studio", "ready")
"""

PAINTED = """() => [...document.querySelectorAll('.jp-OutputArea img.qw-thumb-real')].filter(img => {
  const box = img.getBoundingClientRect();
  return img.complete && img.naturalWidth > 0 && box.width > 0 && box.height > 0; }).length"""

RESTART = """async () => { const w = window.jupyterapp.shell.currentWidget;
  await w.sessionContext.session.kernel.restart(); }"""


def write_notebook(path: Path) -> None:
    cell: dict[str, Any] = {
        "cell_type": "code",
        "execution_count": None,
        "id": "c0",
        "metadata": {},
        "outputs": [],
    }
    notebook = {
        "cells": [{**cell, "source": CELL}],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook, indent=1))


def earlier_runs(sandbox: Sandbox, home: Path) -> None:
    """50 finished runs on the sandbox, in the store of `home` as the Studio writes them."""
    journal = Journal(home / "store.sqlite3")
    with QameraClient(sandbox.api_key, sandbox.base_url) as client:
        for n in range(RUNS):
            registration = client.register_ideas(f"Earlier run {n}: oak floor, morning light", 2)
            journal.record_registration(registration, base_url=client.base_url, key_id=client.key_id)
            done = client.wait_for(registration, poll_interval=0.05)
            journal.record_final(client.base_url, {s.id: s.status for s in done})


def settle(sandbox: Sandbox) -> None:
    """Until the CDN has seen no request for 1.5 s (at most 30 s)."""
    last, quiet_since, started = sandbox.stats()["cdn_requests"], time.monotonic(), time.monotonic()
    while time.monotonic() - quiet_since < 1.5 and time.monotonic() - started < 30:
        time.sleep(0.1)
        now = sandbox.stats()["cdn_requests"]
        if now != last:
            last, quiet_since = now, time.monotonic()


def measure(rounds: int) -> dict[str, Any]:

    figures: dict[str, Any] = {"warm": [], "empty": [], "warm_cdn": [], "empty_cdn": [], "warm_drawn": []}
    figures["empty_drawn"] = []
    with (
        start(
            library=LIBRARY,
            credits=100_000,
            rate_limit=None,
            seed=11,
            failure_rate=0.0,
            processing_seconds=(0.0, 0.0),
        ) as sandbox,
        tempfile.TemporaryDirectory(prefix="qw-bench-restart-", ignore_cleanup_errors=True) as scratch,
    ):
        root = Path(scratch)
        (root / "nb").mkdir()
        write_notebook(root / "nb" / "bench.ipynb")
        home = root / "qw-home"  # isolated_jupyter_env's QAMERA_WIDGETS_HOME

        def prepare() -> None:
            home.mkdir(exist_ok=True)
            earlier_runs(sandbox, home)
            sandbox.set_faults(cdn_latency_ms=50)

        with lab_page(root, sandbox, "bench.ipynb", width=1400, setup=prepare) as page:

            def fresh_kernel() -> None:
                page.evaluate(RESTART)
                page.wait_for_function(KERNEL_IDLE, timeout=90_000)

            # Priming: fills pictures/ (and lets the sandbox render each picture once); counts what
            # a Studio on this store draws.
            run_cell(page, 0, None)
            page.locator(".jp-OutputArea-output", has_text="studio ready").wait_for(timeout=120_000)
            settle(sandbox)
            figures["pictures"] = count = int(page.evaluate(PAINTED))
            figures["cards"] = int(page.evaluate("() => document.querySelectorAll('.qw-card').length"))
            for _ in range(rounds):
                for name in ("warm", "empty"):
                    fresh_kernel()
                    if name == "empty":
                        shutil.rmtree(home / CACHE_FOLDER, ignore_errors=True)
                    before = sandbox.stats()["cdn_requests"]
                    timing = run_cell(page, 0, "img.qw-thumb-real", ".qw-card", count)
                    assert timing is not None
                    page.locator(".jp-OutputArea-output", has_text="studio ready").wait_for(timeout=120_000)
                    page.wait_for_function(KERNEL_IDLE, timeout=60_000)
                    settle(sandbox)  # the run's late fetches are its own, not the next run's
                    figures[name].append(timing.last)
                    figures[f"{name}_drawn"].append(timing.drawn)
                    figures[f"{name}_cdn"].append(sandbox.stats()["cdn_requests"] - before)
        return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3, help="warm/empty pairs, alternating")
    figures = measure(parser.parse_args().rounds)
    warm, empty = statistics.median(figures["warm"]), statistics.median(figures["empty"])
    ratio = warm / empty
    cdn = max(figures["warm_cdn"])
    print(
        f"{figures['pictures']} pictures drawn ({figures['cards']} cards), median of {len(figures['warm'])}"
    )
    print(f"  warm cache:  {warm:.3f} s  {figures['warm']}  CDN requests {figures['warm_cdn']}")
    print(f"  empty cache: {empty:.3f} s  {figures['empty']}  CDN requests {figures['empty_cdn']}")
    drawn = statistics.median(figures["warm_drawn"]), statistics.median(figures["empty_drawn"])
    print(f"  every card placed (pictures or not): warm {drawn[0]:.3f} s, empty {drawn[1]:.3f} s")
    met = cdn == 0 and ratio <= 0.5
    print(f"  warm / empty: {ratio:.2f}x; target 0 CDN requests and <= 0.5x: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
