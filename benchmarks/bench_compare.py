"""A 6-variant comparison with 2 pictures each: requests per minute and time to done, in one run.

Run: ``.venv/bin/python -m benchmarks.bench_compare [--runs 2]`` (about half a minute per run; loopback only).

What it measures, on a sandbox with the service's real limit of 60 requests a minute per key and
2-6 s of processing per picture, for ``Studio.compare("{a|b|c|d|e|f} ...", count=2)``:
- every API request the sandbox saw for the key (the six POSTs and every poll), and how many it
  refused with 429: the target is that the whole comparison stays under 60 a minute;
- when the sandbox settled the last picture (read from its ledger in a thread, outside the API and
  its limit) against when the studio showed every picture as finished: the target is that the studio
  lags by at most two poll intervals (the tracker's longest interval is the bound).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any

from qamera_widgets.client import AsyncQameraClient
from qamera_widgets.client.rules import POLL_MAX_INTERVAL
from qamera_widgets.sandbox import start
from qamera_widgets.widgets import Studio

TEMPLATE = "{oak|marble|concrete|terrazzo|walnut|slate} countertop, soft morning light"
PER_VARIANT = 2
PROCESSING = (2.0, 6.0)


@dataclass
class Run:
    requests: int
    refused: int
    submitted_s: float
    server_done_s: float
    studio_done_s: float

    @property
    def lag_s(self) -> float:
        return self.studio_done_s - self.server_done_s

    @property
    def per_minute(self) -> float:
        return self.requests * 60 / max(self.studio_done_s, 60.0)


def watch_ledger(
    sandbox: object, api_key: str, expected: int, started: float, done: list[float], stop: threading.Event
) -> None:
    """The moment the sandbox's ledger has nothing reserved and every credit settled."""
    while not stop.is_set():
        ledger = sandbox.account(api_key)  # type: ignore[attr-defined]
        if ledger["reserved"] == 0 and ledger["consumed"] + ledger["refunded"] >= expected:
            done.append(time.perf_counter() - started)
            return
        time.sleep(0.02)


async def one_run(seed: int) -> Run:
    options: dict[str, Any] = {
        "processing_seconds": PROCESSING,
        "failure_rate": 0.1,
        "rate_limit": 60,
        "library": 0,
    }
    with start(seed=seed, **options) as sandbox:
        client = AsyncQameraClient(sandbox.api_key, sandbox.base_url)  # default pacing and polling
        studio = Studio(client, sandbox=None, refresh_debounce=0.5)
        try:
            await studio.wait_idle()
            sandbox.reset_stats()
            server_done: list[float] = []
            stop = threading.Event()
            started = time.perf_counter()
            expected = 6 * PER_VARIANT * 10
            watcher = threading.Thread(
                target=watch_ledger, args=(sandbox, sandbox.api_key, expected, started, server_done, stop)
            )
            watcher.start()
            registrations = await studio.compare(TEMPLATE, count=PER_VARIANT)
            submitted = time.perf_counter() - started
            assert len(registrations) == 6, studio.form.status
            await studio.board.wait(timeout=120)
            studio_done = time.perf_counter() - started
            watcher.join(10)
            stop.set()
            stats = sandbox.stats()
            return Run(stats["api_requests"], stats["rate_limited"], submitted, server_done[0], studio_done)
        finally:
            studio.close()
            await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("QAMERA_WIDGETS_HOME", tempfile.mkdtemp(prefix="bench-compare-"))
    runs = [asyncio.run(one_run(seed)) for seed in range(1, args.runs + 1)]
    print(f"bench_compare {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores")
    low, high = PROCESSING
    print(f"  {TEMPLATE!r}: 6 prompts x {PER_VARIANT} pictures, processing {low:g}-{high:g} s each,")
    print("  the service's limit of 60 requests a minute per key, 10% of pictures failing")
    for n, r in enumerate(runs, 1):
        print(
            f"  run {n}: {r.requests} API requests ({r.refused} answered 429) in {r.studio_done_s:.1f} s; "
            f"6 POSTs answered by {r.submitted_s:.2f} s; sandbox settled at {r.server_done_s:.1f} s, "
            f"studio showed all at {r.studio_done_s:.1f} s (lag {r.lag_s:.2f} s)"
        )
    worst_rate = max(r.requests for r in runs)
    lag = statistics.median(r.lag_s for r in runs)
    bound = 2 * POLL_MAX_INTERVAL
    ok_rate = worst_rate < 60 and all(r.refused == 0 for r in runs)
    print(
        f"  requests for the whole comparison (target: under 60 a minute): at most {worst_rate} "
        f"-> {'met' if ok_rate else 'NOT MET'}"
    )
    print(
        f"  median lag behind the sandbox (target: at most 2 poll intervals = {bound:g} s): {lag:.2f} s "
        f"-> {'met' if lag <= bound else 'NOT MET'}"
    )


if __name__ == "__main__":
    main()
