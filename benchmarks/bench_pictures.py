"""Pictures after a kernel restart: a fresh process loading a studio's pictures with the disk cache warm,
against the same fresh process with an empty cache (same run, same sandbox CDN).

Run: ``.venv/bin/python benchmarks/bench_pictures.py`` (about a minute; temporary folders only).

The pictures are those a Studio with 50 earlier runs of 2 and a 48-card library page shows: 148 distinct
thumbnails at 176 px, loaded by one `ThumbnailLoader` (24 connections, as the canvas's) from the sandbox
CDN with 50 ms latency. Each figure is the median of 3 fresh processes. This is the kernel's side only:
the Chromium measure of the issue (every picture painted in the browser) is not done here.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from qamera_widgets.sandbox import start
from tests.helpers.listing import thumbnail_urls

ROOT = Path(__file__).resolve().parent.parent
PICTURES = 148

KERNEL = """
    import asyncio, json, sys, time
    from qamera_widgets.engine.pictures.loader import ThumbnailLoader

    async def main() -> None:
        urls = json.loads(sys.argv[1])
        loader = ThumbnailLoader(max_concurrency=24)
        started = time.perf_counter()
        tiles = await asyncio.gather(*(loader.load(u) for u in urls))
        took = time.perf_counter() - started
        await loader.aclose()
        failed = sum(1 for t in tiles if t.placeholder)
        stats = loader.stats
        figures = {"s": took, "requests": stats["requests"], "disk_hits": stats["disk_hits"]}
        figures["failed"] = failed
        print(json.dumps(figures))

    asyncio.run(main())
"""


def kernel(home: Path, urls: list[str]) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QAMERA_WIDGETS_HOME": str(home)}
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(KERNEL), json.dumps(urls)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return dict(json.loads(out.stdout))


def main() -> None:
    with start(library=PICTURES, cdn_latency_ms=0, rate_limit=None, seed=7, failure_rate=0.0) as sandbox:
        urls = thumbnail_urls(sandbox)[:PICTURES]
        with tempfile.TemporaryDirectory() as scratch:
            kernel(Path(scratch) / "warm-up", urls)  # the sandbox renders each picture once
            sandbox.set_faults(cdn_latency_ms=50)
            empty, warm, cdn = [], [], []
            for n in range(3):
                home = Path(scratch) / f"home-{n}"
                empty.append(kernel(home, urls))
                before = sandbox.stats()["cdn_requests"]
                warm.append(kernel(home, urls))
                cdn.append(sandbox.stats()["cdn_requests"] - before)
    empty_s = statistics.median(r["s"] for r in empty)
    warm_s = statistics.median(r["s"] for r in warm)
    print(f"{len(urls)} pictures, CDN latency 50 ms, median of 3 fresh processes")
    requests = statistics.median(r["requests"] for r in empty)
    print(f"  empty cache: {empty_s * 1000:7.1f} ms, {requests:.0f} requests")
    print(
        f"  warm cache:  {warm_s * 1000:7.1f} ms, {max(r['requests'] for r in warm):.0f} requests "
        f"(CDN saw {max(cdn)}), {min(r['disk_hits'] for r in warm):.0f} from disk, "
        f"{max(r['failed'] for r in warm):.0f} failed"
    )
    print(f"  warm / empty: {warm_s / empty_s:.2f}x")


if __name__ == "__main__":
    main()
