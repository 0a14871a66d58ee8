"""How fast SceneryGallery fills a 48-card page, against a naive loop, on a sandbox with a slow CDN.

Run from the repository root: ``.venv/bin/python -m benchmarks.bench_gallery`` (about half a minute;
loopback only).

Measures in one run, on the sandbox with 200 sceneries and 50 ms of CDN latency:
- seconds until the gallery holds the thumbnail of every card of a 48-card page (``thumbnail_of(id)``
  is loaded and the card's ``thumb`` version is set, which is what the browser pulls), for the gallery
  (fresh loader, empty cache) and for a baseline of sequential ``httpx.get`` + Pillow resize over the
  same URLs;
- bytes held per thumbnail (what crosses the comm once per view) against the bytes of the original;
- peak traced memory (tracemalloc) over 20 refreshes, and the live widget count (the ipywidgets
  registry, ``Widget.widgets``) before the gallery, after its first refresh and after the refreshes;
- the concurrency bound ceil(48 / max_concurrency) x latency + decode time, with decode time measured.

The CDN renders a picture the first time it is asked for it, so every URL is fetched once before any
timing; the sandbox runs in a thread of this process, as it does in the tests and notebooks. The store
folder (``QAMERA_WIDGETS_HOME``) is a temporary one, and each cold fill gets an empty disk picture cache
of its own: a fill that found the last fill's pictures on disk would not be cold.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import math
import os
import statistics
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import httpx
from ipywidgets.widgets.widget import _instances  # what the deprecated Widget.widgets returns
from PIL import Image

from qamera_widgets.client import AsyncQameraClient, Scenery
from qamera_widgets.engine.pictures.disk_cache import PictureCache
from qamera_widgets.engine.pictures.imaging import make_thumbnail
from qamera_widgets.engine.pictures.loader import ThumbnailLoader
from qamera_widgets.sandbox import Sandbox, start
from qamera_widgets.widgets.gallery import SceneryGallery, filter_and_sort
from tests.helpers.listing import listed_sceneries

PAGE = 48
THUMB_PX = 176
MAX_CONCURRENCY = 8


@dataclass
class Results:
    library: int
    latency_ms: float
    gallery_first_s: float
    gallery_s: float
    floor_s: float
    gallery_refresh_s: float
    baseline_s: float
    decode_mean_s: float
    decode_total_s: float
    widget_bytes_mean: float
    original_bytes_mean: float
    baseline_bytes_mean: float
    peak_bytes: int
    widgets_before: int
    widgets_first: int
    widgets_after: int
    refreshes: int
    runs: int


def page_urls(sceneries: list[Scenery]) -> list[str]:
    first = filter_and_sort(sceneries, state="all", search="", order="newest")[:PAGE]
    return [s.thumbnail for s in first if s.is_done and s.thumbnail]


def warm_cdn(urls: list[str]) -> None:
    """Make the sandbox render every picture once, so no measurement pays for rendering."""
    with httpx.Client(timeout=60) as http:
        for url in urls:
            http.get(url).raise_for_status()


def naive_baseline(urls: list[str]) -> tuple[float, int]:
    """What a first notebook cell would do: one plain GET and a full decode + resize per picture."""
    started = time.perf_counter()
    total = 0
    for url in urls:
        body = httpx.get(url, timeout=30).content
        with Image.open(io.BytesIO(body)) as img:
            small = img.convert("RGB").resize((THUMB_PX, THUMB_PX))
        out = io.BytesIO()
        small.save(out, "JPEG", quality=80)
        total += len(out.getvalue())
    return time.perf_counter() - started, total


def decode_times(urls: list[str]) -> list[float]:
    """The loader's own decode + resize + encode, timed on each original, one after another."""
    with httpx.Client(timeout=30) as http:
        bodies = [http.get(url).content for url in urls]
    times = []
    for body in bodies:
        started = time.perf_counter()
        make_thumbnail(body, THUMB_PX)
        times.append(time.perf_counter() - started)
    return times


async def fill_page(
    client: AsyncQameraClient, sceneries: list[Scenery], pictures: PictureCache
) -> tuple[float, list[int], list[int]]:
    """One cold fill: a fresh loader (empty caches, new connections) and a fresh gallery."""
    loader = ThumbnailLoader(max_concurrency=MAX_CONCURRENCY, size=THUMB_PX, pictures=pictures)
    gallery = SceneryGallery(client, thumb_px=THUMB_PX, page_size=PAGE, loader=loader, autoload=False)
    started = time.perf_counter()
    gallery.show_sceneries(sceneries)
    await gallery.wait_idle()
    elapsed = time.perf_counter() - started
    thumbs = [gallery.thumbnail_of(card["id"]) for card in gallery.cards]
    if len(thumbs) != PAGE or not all(card["thumb"] > 0 for card in gallery.cards):
        raise SystemExit("the gallery came back idle without a thumbnail version on every card")
    real = [t for t in thumbs if t is not None and t.placeholder is None]
    if len(real) != PAGE:
        raise SystemExit(f"only {len(real)} of {PAGE} cards hold a real thumbnail")
    held_bytes = [len(t.data) for t in real]
    # Only the load that downloaded a picture reports its size, and every URL on the page is distinct.
    originals = [t.source_bytes for t in real]
    if not all(originals):
        raise SystemExit("a thumbnail came from the cache: the fill was not cold")
    if gallery._prefetch is not None:
        await asyncio.wait({gallery._prefetch})  # keep the next page's prefetch out of the next timing
    gallery.close()
    await loader.aclose()
    pictures.close()
    return elapsed, held_bytes, originals


async def raw_floor(urls: list[str]) -> float:
    """The same GETs at the same concurrency with no decoding at all: what HTTP alone costs here."""
    semaphore = asyncio.Semaphore(MAX_CONCURRENCY)
    async with httpx.AsyncClient(timeout=30) as http:

        async def one(url: str) -> None:
            async with semaphore:
                (await http.get(url)).raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(one(url) for url in urls))
        return time.perf_counter() - started


async def measure_gallery(
    sandbox: Sandbox, urls: list[str], refreshes: int, runs: int, home: Path
) -> dict[str, float | int]:
    client = AsyncQameraClient(api_key=sandbox.api_key, base_url=sandbox.base_url, rate_limit_per_minute=None)
    sceneries = await client.list_sceneries()
    fills = [await fill_page(client, sceneries, PictureCache(home / f"fill-{n}")) for n in range(runs)]
    floors = [await raw_floor(urls) for _ in range(runs)]

    widgets_before = len(_instances)
    pictures = PictureCache(home / "refreshes")
    loader = ThumbnailLoader(max_concurrency=MAX_CONCURRENCY, size=THUMB_PX, pictures=pictures)
    gallery = SceneryGallery(client, thumb_px=THUMB_PX, page_size=PAGE, loader=loader, autoload=False)
    started = time.perf_counter()
    await gallery.refresh()
    refresh_s = time.perf_counter() - started
    if not all(card["thumb"] > 0 and gallery.thumbnail_of(card["id"]) for card in gallery.cards):
        raise SystemExit("refresh() returned before every card of the page held its thumbnail")

    widgets_first = len(_instances)
    tracemalloc.start()
    for turn in range(refreshes):
        await gallery.refresh()
        gallery.page = turn % 2
        await gallery.wait_idle()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    widgets_after = len(_instances)
    gallery.close()
    await loader.aclose()
    pictures.close()
    await client.aclose()
    first_s, widget_bytes, originals = fills[0]
    return {
        "gallery_first_s": first_s,
        "gallery_s": statistics.median(elapsed for elapsed, _, _ in fills[1:]) if runs > 1 else first_s,
        "floor_s": statistics.median(floors),
        "gallery_refresh_s": refresh_s,
        "widget_bytes_mean": statistics.fmean(widget_bytes),
        "original_bytes_mean": statistics.fmean(originals),
        "peak_bytes": peak,
        "widgets_before": widgets_before,
        "widgets_first": widgets_first,
        "widgets_after": widgets_after,
    }


def run(library: int, latency_ms: float, refreshes: int, runs: int) -> Results:
    with (
        tempfile.TemporaryDirectory() as home,
        start(library=library, cdn_latency_ms=0, rate_limit=None, seed=7, failure_rate=0.0) as sandbox,
    ):
        os.environ["QAMERA_WIDGETS_HOME"] = home  # this run's marks store, never the person's own
        sceneries = [Scenery.from_api(item) for item in listed_sceneries(sandbox)]
        urls = page_urls(sceneries)
        second_page = filter_and_sort(sceneries, state="all", search="", order="newest")[PAGE : 2 * PAGE]
        warm_cdn(urls + [s.thumbnail for s in second_page if s.thumbnail])
        decodes = decode_times(urls)
        sandbox.set_faults(cdn_latency_ms=latency_ms)

        baseline_s, baseline_bytes = naive_baseline(urls)
        measured = asyncio.run(measure_gallery(sandbox, urls, refreshes, runs, Path(home)))
        credentials = sandbox.stats().get("cdn_requests_with_credentials", 0)
        if credentials:
            raise SystemExit(f"the CDN saw credentials on {credentials} requests")
    return Results(
        library=library,
        latency_ms=latency_ms,
        baseline_s=baseline_s,
        decode_mean_s=statistics.fmean(decodes),
        decode_total_s=sum(decodes),
        baseline_bytes_mean=baseline_bytes / len(urls),
        refreshes=refreshes,
        runs=runs,
        **measured,  # type: ignore[arg-type]
    )


def report(r: Results) -> str:
    waves = math.ceil(PAGE / MAX_CONCURRENCY)
    bound = waves * r.latency_ms / 1000 + r.decode_mean_s
    bound_all = waves * r.latency_ms / 1000 + r.decode_total_s
    speedup = r.baseline_s / r.gallery_s
    rows = [
        (
            "sandbox",
            f"{r.library} sceneries, CDN latency {r.latency_ms:.0f} ms, page of {PAGE}, "
            f"{THUMB_PX} px, max_concurrency {MAX_CONCURRENCY}",
        ),
        ("naive baseline (sequential httpx.get + resize)", f"{r.baseline_s:8.3f} s"),
        ("gallery: 48 thumbnails held for their cards, first in process", f"{r.gallery_first_s:8.3f} s"),
        (f"gallery: same, median of {max(1, r.runs - 1)} more cold fills", f"{r.gallery_s:8.3f} s"),
        (f"floor: the 48 GETs alone, concurrency {MAX_CONCURRENCY}", f"{r.floor_s:8.3f} s"),
        ("gallery: refresh() incl. list request, cold cache", f"{r.gallery_refresh_s:8.3f} s"),
        ("speedup vs baseline (median)", f"{speedup:8.1f}x   (>= 8x: {'yes' if speedup >= 8 else 'NO'})"),
        ("speedup vs baseline (first fill)", f"{r.baseline_s / r.gallery_first_s:8.1f}x"),
        ("decode+resize+encode per thumbnail (mean)", f"{r.decode_mean_s * 1000:8.1f} ms"),
        ("decode for all 48, one after another", f"{r.decode_total_s * 1000:8.1f} ms"),
        (f"bound: ceil(48/{MAX_CONCURRENCY}) x latency + one decode", f"{bound:8.3f} s"),
        (
            "gallery / bound",
            f"{r.gallery_s / bound:8.2f}x   (<= 1.5x: {'yes' if r.gallery_s <= 1.5 * bound else 'NO'})",
        ),
        (f"bound: ceil(48/{MAX_CONCURRENCY}) x latency + all 48 decodes", f"{bound_all:8.3f} s"),
        (
            "gallery / that bound",
            f"{r.gallery_s / bound_all:8.2f}x   (<= 1.5x: "
            f"{'yes' if r.gallery_s <= 1.5 * bound_all else 'NO'})",
        ),
        ("floor / first bound (HTTP overhead the bound leaves out)", f"{r.floor_s / bound:8.2f}x"),
        ("original bytes per thumbnail (mean)", f"{r.original_bytes_mean:8.0f} B"),
        (
            "bytes held (and sent once per view) per thumbnail (mean)",
            f"{r.widget_bytes_mean:8.0f} B   "
            f"({r.widget_bytes_mean / r.original_bytes_mean:.1%} "
            "of the original)",
        ),
        ("baseline's resized JPEG per thumbnail (mean)", f"{r.baseline_bytes_mean:8.0f} B"),
        (f"peak traced memory over {r.refreshes} refreshes", f"{r.peak_bytes / 2**20:8.2f} MiB"),
        (
            "live widgets (ipywidgets registry): before / first refresh / after the refreshes",
            f"{r.widgets_before} / {r.widgets_first} / {r.widgets_after}",
        ),
    ]
    return table(rows)


def table(rows: list[tuple[str, str]]) -> str:
    """Two columns: each measure's name, padded to the longest, then its figures."""
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--refreshes", type=int, default=20)
    parser.add_argument("--runs", type=int, default=4, help="cold page fills; the first is reported apart")
    args = parser.parse_args()
    print(report(run(args.library, args.latency_ms, args.refreshes, max(1, args.runs))))


if __name__ == "__main__":
    main()
