"""How long one poll of a 20,000-item scenery list holds the event loop (widgets freeze meanwhile).

Run: ``.venv/bin/python -m benchmarks.bench_list_loop`` (about half a minute; loopback only).

A sandbox in a child process (so its JSON encoding does not compete for this interpreter's lock) holds
20,000 sceneries. Two figures per poll:
- loop time: CPU time the loop's thread spends on the poll (`time.thread_time`, no other task running):
  what the poll itself costs the loop; parsing in a worker thread is not counted, it runs elsewhere;
- longest freeze: with a 1 ms ticker on the loop, the longest gap between ticks minus the tick: how long
  the loop could not run anything at all (a long C call holding the interpreter lock counts here).
Compared, in the same run, with the baseline of fetching the same list and parsing it on the loop (what
`list_sceneries` did before). Target: at most 50 ms of loop time per poll.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from qamera_widgets.client import AsyncQameraClient, Scenery
from qamera_widgets.contract import LIST_PATH

TICK = 0.001


async def loop_cpu_of(poll: Callable[[], Awaitable[Any]]) -> float:
    """CPU seconds this (the loop's) thread spends while `poll()` runs."""
    started = time.thread_time()
    await poll()
    return time.thread_time() - started


async def freeze_of(poll: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    """The longest stretch, in seconds, in which the loop ran nothing while `poll()` ran, and its result."""
    loop = asyncio.get_running_loop()
    gaps: list[float] = []
    running = True

    async def ticker() -> None:
        last = loop.time()
        while running:
            await asyncio.sleep(TICK)
            now = loop.time()
            gaps.append(now - last)
            last = now

    task = loop.create_task(ticker())
    await asyncio.sleep(0.02)
    gaps.clear()
    result = await poll()
    running = False
    await task
    return max(gaps, default=TICK) - TICK, result


def start_sandbox(items: int) -> tuple[subprocess.Popen[str], str, str]:
    command = [
        sys.executable,
        "-m",
        "qamera_widgets",
        "sandbox",
        "--library",
        str(items),
        "--rate-limit",
        "0",
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    assert process.stdout is not None
    values: dict[str, str] = {}
    deadline = time.monotonic() + 120
    for line in process.stdout:
        label, _, value = line.strip().partition(":")
        values.setdefault(label, value.strip())
        if ("API key" in values and "API" in values) or time.monotonic() > deadline:
            break
    return process, values["API"], values["API key"]


async def measure(base_url: str, key: str, rounds: int) -> dict[str, list[float]]:
    client = AsyncQameraClient(key, base_url, rate_limit_per_minute=None, timeout=120)
    raw = httpx.AsyncClient(base_url=base_url, headers={"X-Api-Key": key}, timeout=120)

    async def baseline() -> Any:
        response = await raw.get(LIST_PATH)
        return [Scenery.from_api(item) for item in response.json()["sceneries"]]

    figures: dict[str, list[float]] = {"baseline_freeze": [], "baseline_taken": [], "freeze": [], "taken": []}
    await client.list_sceneries()  # warm both connections and the server
    await baseline()
    for _ in range(rounds):
        figures["baseline_taken"].append(await loop_cpu_of(baseline))
        figures["taken"].append(await loop_cpu_of(client.list_sceneries))
        freeze, listed = await freeze_of(baseline)
        figures["baseline_freeze"].append(freeze)
        freeze, listed = await freeze_of(client.list_sceneries)
        figures["freeze"].append(freeze)
    figures["items"] = [float(len(listed))]
    await client.aclose()
    await raw.aclose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    process, base_url, key = start_sandbox(args.items)
    try:
        figures = asyncio.run(measure(base_url, key, args.rounds))
    finally:
        process.terminate()
        process.wait(30)
    ms = {name: statistics.median(values) * 1000 for name, values in figures.items() if name != "items"}
    print(f"scenery list of {int(figures['items'][0])} items, median of {args.rounds} polls each")
    print(f"{'':36}{'longest freeze':>16}{'loop time':>18}")
    for label, freeze, taken in (
        ("baseline: parse on the loop", ms["baseline_freeze"], ms["baseline_taken"]),
        ("list_sceneries (parse in a thread)", ms["freeze"], ms["taken"]),
    ):
        print(f"{label:36}{freeze:>13.1f} ms{taken:>15.1f} ms")
    print(
        f"ratio to the baseline: freeze {ms['freeze'] / ms['baseline_freeze']:.2f}, "
        f"loop time {ms['taken'] / ms['baseline_taken']:.2f}"
    )
    verdict = "met" if ms["taken"] <= 50 else "not met"
    print(f"target: at most 50 ms of loop time per poll: {verdict}")


if __name__ == "__main__":
    main()
