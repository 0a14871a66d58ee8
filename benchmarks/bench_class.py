"""A class on one key: N student processes against one sandbox at 60 requests a minute, with and without
Redis coordination (QAMERA_REDIS_URL), side by side in one run.

Run from the repository root: ``.venv/bin/python -m benchmarks.bench_class`` (a few minutes; loopback
only; needs Debian's ``redis-server``, which ``scripts/test`` installs).

Each student is a separate Python process on the same key (as kernels of a class are): it registers one
job of 2 sceneries and waits for them with ``AsyncQameraClient.wait_for`` at the default poll rhythm.
All students of a run start at once, after every one of them has imported everything. Each run gets a
fresh sandbox (so no run inherits another's rate-limit window) and, with Redis, a fresh redis-server.
The sandbox worker takes every item at once, so what is measured is the traffic, not a queue.

Reported per run: students finished, the median time from start to done, the API requests the sandbox
counted and how many of them it answered 429. Targets (issue 13), with Redis at the largest N: at most
5% of requests answered 429, and the median within 2 poll intervals of the single student's median.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from qamera_widgets.client.rules import API_KEY_ENV, POLL_MAX_INTERVAL, POLL_MIN_INTERVAL
from qamera_widgets.runtime.coordination import REDIS_URL_ENV
from qamera_widgets.sandbox import start
from qamera_widgets.sandbox.cli import add_processing_range
from tests.helpers.class_student import run_class
from tests.helpers.redis_server import redis_server

RATE_LIMIT = 60
MAX_429_SHARE = 0.05


@dataclass
class Run:
    students: int
    redis: bool
    finished: int
    median_s: float
    api_requests: int
    list_requests: int
    rate_limited: int

    @property
    def share_429(self) -> float:
        return self.rate_limited / self.api_requests if self.api_requests else 0.0

    def row(self) -> str:
        return (
            f"| {self.students} | {'Redis' if self.redis else 'per process'} "
            f"| {self.finished}/{self.students} "
            f"| {self.median_s:.1f} s | {self.api_requests} | {self.list_requests} "
            f"| {self.rate_limited} ({self.share_429:.0%}) |"
        )


def measure(students: int, redis: bool, processing: tuple[float, float], work: Path) -> Run:
    with ExitStack() as stack:
        sandbox = stack.enter_context(
            start(
                rate_limit=RATE_LIMIT,
                processing_seconds=processing,
                failure_rate=0.0,
                worker_concurrency=max(4, 2 * students),
                seed=13,
            )
        )
        url = stack.enter_context(redis_server()).url if redis else None
        run = run_class(
            students,
            ["wait", "--base-url", sandbox.base_url, "--count", "2"],
            work / f"{students}-{'redis' if redis else 'alone'}",
            env={API_KEY_ENV: sandbox.api_key, REDIS_URL_ENV: url},
        )
        stats = sandbox.stats()
    return Run(
        students=students,
        redis=redis,
        finished=sum(1 for r in run.results if r["finished"]),
        median_s=statistics.median(r["seconds"] for r in run.results),
        api_requests=stats["api_requests"],
        list_requests=stats["list_requests"],
        rate_limited=stats["rate_limited"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, nargs="+", default=[1, 10, 30], metavar="N")
    add_processing_range(parser, "--processing", (2.0, 6.0))
    args = parser.parse_args()
    processing = (args.processing[0], args.processing[1])
    runs: list[Run] = []
    header = (
        "| students on one key | coordination | finished | median time to done | API requests "
        "| list calls | answered 429 |\n|---|---|---|---|---|---|---|"
    )
    print(
        f"{RATE_LIMIT} requests/minute per key, processing {processing[0]:g}-{processing[1]:g} s, "
        "each student registers 2 sceneries and waits with wait_for\n"
    )
    print(header, flush=True)
    with tempfile.TemporaryDirectory(prefix="qamera-bench-class-") as work:
        for students in args.students:
            for redis in (False, True):
                runs.append(measure(students, redis, processing, Path(work)))
                print(runs[-1].row(), flush=True)

    single = min(args.students)
    largest = max(args.students)
    baseline = next(r for r in runs if r.students == single and not r.redis)
    target = next(r for r in runs if r.students == largest and r.redis)
    lag = target.median_s - baseline.median_s
    print()
    met = target.share_429 <= MAX_429_SHARE
    print(
        f"With Redis at N = {largest}: {target.share_429:.1%} of requests answered 429 "
        f"(target at most {MAX_429_SHARE:.0%}): {'met' if met else 'NOT met'}"
    )
    for interval, what in ((POLL_MAX_INTERVAL, "longest"), (POLL_MIN_INTERVAL, "shortest")):
        verdict = "met" if lag <= 2 * interval else "NOT met"
        print(
            f"Median {target.median_s:.1f} s vs one student alone {baseline.median_s:.1f} s: {lag:+.1f} s; "
            f"2 x the {what} poll interval is {2 * interval:.0f} s: {verdict}"
        )


if __name__ == "__main__":
    main()
