"""The first gallery in a fresh kernel, imports included, against a plain sequential loop (issue 27).

Run from the repository root: ``PYTHONPATH=$PWD .venv/bin/python -m benchmarks.bench_first_gallery``
(about half a minute; loopback and temporary folders only).

`bench_gallery` times fills in a warm process, so it never sees what a person meets on the first
Shift+Enter: the widgets' imports and a fill that starts with nothing loaded. Here every figure comes
from a fresh child Python process:

- gallery: ``import qamera_widgets``, ``AsyncQameraClient(...)``, ``SceneryGallery(client, page_size=48)``
  (which imports the widgets) inside a running loop, as in a kernel's cell, until the 48 cards of the
  first page hold their thumbnails (``thumbnail_of(id)`` is a real picture and the card's ``thumb``
  version is set, as `bench_gallery` defines it), with an empty store folder (``QAMERA_WIDGETS_HOME``),
  so every picture comes from the CDN;
- baseline: ``import httpx`` and Pillow, then one ``httpx.get`` + decode + resize + JPEG encode after
  another for the same 48 thumbnails (their URLs handed over, no list request).

The sandbox (200 sceneries, 50 ms of CDN latency) runs in a thread of this process; it renders every
picture of the first two pages (the second is what the gallery prefetches) before any timing. Runs
alternate baseline and gallery so both meet the same load on a shared machine; the child processes import
only ``asyncio``, ``hashlib``, ``json``, ``sys`` and ``time`` before their clocks start, which a kernel
has loaded anyway.

Bytecode: a person's Python compiles a module once and reads its ``__pycache__`` from then on, but this
machine sets ``PYTHONDONTWRITEBYTECODE=1``, so every process here compiles every module from source
(which more than doubles the imports). The children therefore write and read their bytecode under a
temporary ``PYTHONPYCACHEPREFIX`` (nothing lands in the tree or the venv), filled by one untimed run of
each kind first; ``--compile-each-time`` keeps the machine's setting instead.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

from benchmarks.bench_gallery import PAGE, THUMB_PX, page_urls, table, warm_cdn
from qamera_widgets.client import Scenery
from qamera_widgets.sandbox import start
from qamera_widgets.widgets.gallery import filter_and_sort
from tests.helpers.listing import listed_sceneries

ROOT = Path(__file__).resolve().parent.parent
TARGET = 5.0
"""The first gallery at least this many times faster than the sequential loop (issue 27)."""

GALLERY = """
    import asyncio, hashlib, json, sys, time

    async def main(api_key: str, base_url: str, page: int) -> None:
        started = time.perf_counter()
        import qamera_widgets

        client = qamera_widgets.AsyncQameraClient(api_key=api_key, base_url=base_url)
        with_client = time.perf_counter()
        gallery_class = qamera_widgets.SceneryGallery  # the widgets' first import (lazy)
        imported = time.perf_counter()
        gallery = gallery_class(client, page_size=page)
        built = time.perf_counter()
        await gallery.wait_idle()
        held = time.perf_counter()
        thumbs = [gallery.thumbnail_of(card["id"]) for card in gallery.cards]
        real = [t for t in thumbs if t is not None and t.placeholder is None]
        by_id = {s.id: s for s in gallery.sceneries}
        figures = {
            "package_s": with_client - started,
            "widgets_s": imported - with_client,
            "build_s": built - imported,
            "fill_s": held - built,
            "s": held - started,
            "cards": len(gallery.cards),
            "versions_set": sum(card["thumb"] > 0 for card in gallery.cards),
            "real": len(real),
            "downloaded": sum(t.source_bytes > 0 for t in real),
            "distinct": len({hashlib.sha256(t.data).hexdigest() for t in real}),
            "largest_side": max((max(t.width, t.height) for t in real), default=0),
            "urls": [by_id[card["id"]].thumbnail for card in gallery.cards],
            "message": gallery.message,
        }
        if gallery._prefetch is not None:
            await asyncio.wait({gallery._prefetch})  # the process ends cleanly, outside the timing
        gallery.close()
        await client.aclose()
        print(json.dumps(figures))

    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""

BASELINE = """
    import hashlib, json, sys, time

    def main(urls: list[str], px: int) -> None:
        started = time.perf_counter()
        import io

        import httpx
        from PIL import Image

        digests = set()
        sides = set()
        for url in urls:
            response = httpx.get(url, timeout=30)
            response.raise_for_status()
            with Image.open(io.BytesIO(response.content)) as img:
                small = img.convert("RGB").resize((px, px))
            out = io.BytesIO()
            small.save(out, "JPEG", quality=80)
            digests.add(hashlib.sha256(out.getvalue()).hexdigest())
            sides.add(small.size)
        took = time.perf_counter() - started
        print(json.dumps({"s": took, "distinct": len(digests), "sizes": sorted(sides)}))

    main(json.loads(sys.argv[1]), int(sys.argv[2]))
"""


def child(script: str, args: list[str], home: Path, pycache: Path | None) -> dict[str, Any]:
    """Run `script` in a fresh interpreter with an empty store folder, its bytecode under `pycache` (None:
    as this machine's environment says); its last stdout line is JSON."""
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QAMERA_")}
    env.update(PYTHONPATH=str(ROOT), QAMERA_WIDGETS_HOME=str(home))
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        cwd=home,
    )
    if out.returncode != 0:
        raise SystemExit(f"a child process failed:\n{out.stderr}")
    return dict(json.loads(out.stdout.splitlines()[-1]))


def check_gallery(run: dict[str, Any], urls: list[str]) -> None:
    """The gallery's figure counts only if it held 48 distinct real thumbnails, downloaded, of the page."""
    problems = []
    if run["cards"] != PAGE or run["versions_set"] != PAGE:
        problems.append(f"{run['cards']} cards, {run['versions_set']} with a thumbnail version")
    if run["real"] != PAGE or run["downloaded"] != PAGE or run["distinct"] != PAGE:
        problems.append(f"{run['real']} real, {run['downloaded']} downloaded, {run['distinct']} distinct")
    if not 0 < run["largest_side"] <= THUMB_PX:
        problems.append(f"a thumbnail of {run['largest_side']} px")
    if sorted(run["urls"]) != sorted(urls):
        problems.append("its cards are not the page the baseline loads")
    if problems:
        raise SystemExit(f"the gallery's run does not count ({'; '.join(problems)}; {run['message']!r})")


def check_baseline(run: dict[str, Any]) -> None:
    if run["distinct"] != PAGE or run["sizes"] != [[THUMB_PX, THUMB_PX]]:
        raise SystemExit(f"the baseline made {run['distinct']} distinct thumbnails of sizes {run['sizes']}")


def measure(
    runs: int, library: int, latency_ms: float, cache_bytecode: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with start(library=library, cdn_latency_ms=0, rate_limit=None, seed=7, failure_rate=0.0) as sandbox:
        sceneries = [Scenery.from_api(item) for item in listed_sceneries(sandbox)]
        urls = page_urls(sceneries)
        if len(urls) != PAGE:
            raise SystemExit(f"the sandbox's first page has {len(urls)} thumbnails, not {PAGE}")
        second_page = filter_and_sort(sceneries, state="all", search="", order="newest")[PAGE : 2 * PAGE]
        warm_cdn(urls + [s.thumbnail for s in second_page if s.thumbnail])
        sandbox.set_faults(cdn_latency_ms=latency_ms)
        baselines, galleries = [], []
        with tempfile.TemporaryDirectory() as scratch:
            pycache = Path(scratch) / "pycache" if cache_bytecode else None
            baseline_args = [json.dumps(urls), str(THUMB_PX)]
            gallery_args = [sandbox.api_key, sandbox.base_url, str(PAGE)]
            if pycache is not None:  # untimed: compiles what the timed runs then read
                child(BASELINE, baseline_args, Path(scratch) / "baseline-warm-up", pycache)
                child(GALLERY, gallery_args, Path(scratch) / "gallery-warm-up", pycache)
            for n in range(runs):
                baselines.append(child(BASELINE, baseline_args, Path(scratch) / f"baseline-{n}", pycache))
                check_baseline(baselines[-1])
                galleries.append(child(GALLERY, gallery_args, Path(scratch) / f"gallery-{n}", pycache))
                check_gallery(galleries[-1], urls)
        credentials = sandbox.stats().get("cdn_requests_with_credentials", 0)
        if credentials:
            raise SystemExit(f"the CDN saw credentials on {credentials} requests")
    return baselines, galleries


def report(
    baselines: list[dict[str, Any]], galleries: list[dict[str, Any]], latency_ms: float, cache_bytecode: bool
) -> str:
    def ms(runs: list[dict[str, Any]], key: str) -> str:
        median = statistics.median(r[key] for r in runs)
        each = ", ".join(f"{r[key] * 1000:.0f}" for r in runs)
        return f"{median * 1000:7.0f} ms  ({each})"

    baseline_s = statistics.median(r["s"] for r in baselines)
    gallery_s = statistics.median(r["s"] for r in galleries)
    ratio = baseline_s / gallery_s
    rows = [
        (
            "setup",
            f"fresh process each, {PAGE} thumbnails of {THUMB_PX} px, CDN latency {latency_ms:.0f} ms, "
            f"median of {len(galleries)}, "
            + ("bytecode cached" if cache_bytecode else "every module compiled in every process"),
        ),
        ("baseline: imports + sequential httpx.get + Pillow resize", ms(baselines, "s")),
        ("gallery: imports + SceneryGallery until 48 thumbnails held", ms(galleries, "s")),
        ("  of which: import qamera_widgets + AsyncQameraClient(...)", ms(galleries, "package_s")),
        ("  of which: the widgets' first import (lazy)", ms(galleries, "widgets_s")),
        ("  of which: SceneryGallery(...) returns", ms(galleries, "build_s")),
        ("  of which: list + fill until held", ms(galleries, "fill_s")),
        (
            "baseline / gallery",
            f"{ratio:7.1f}x     (target >= {TARGET:.0f}x: {'met' if ratio >= TARGET else 'NOT met'})",
        ),
    ]
    return table(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh processes of each kind")
    parser.add_argument("--library", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument(
        "--compile-each-time",
        action="store_true",
        help="no bytecode cache: every child compiles every module (this machine's PYTHONDONTWRITEBYTECODE)",
    )
    args = parser.parse_args()
    cache_bytecode = not args.compile_each_time
    baselines, galleries = measure(max(1, args.runs), args.library, args.latency_ms, cache_bytecode)
    print(report(baselines, galleries, args.latency_ms, cache_bytecode))


if __name__ == "__main__":
    main()
