"""A "student": one Python process on the class's key, and the launcher that starts many at once.

`python -m tests.helpers.class_student wait ...` registers sceneries and waits for them with
`AsyncQameraClient.wait_for`; `book ...` books request slots in the class's shared window. Both start
on a common "go" (a file) once every student has imported everything, and print one JSON line.
The key comes from QAMERA_API_KEY and class mode from QAMERA_REDIS_URL, as in a classroom kernel.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qamera_widgets.client import AsyncQameraClient, QameraError
from qamera_widgets.runtime import coordination

REPO = Path(__file__).resolve().parents[2]
STEP = 0.01


def _wait_for_file(path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"no {path.name} after {timeout:.0f} s")
        time.sleep(STEP)


def _warm_up() -> None:
    """Import what the first request imports lazily: a classroom kernel is long warm when its student
    clicks, and 30 cold Python start-ups on two cores are not what the class measurements are about."""
    import anyio._backends._asyncio  # noqa: F401
    import h11  # noqa: F401
    import httpcore  # noqa: F401

    if os.environ.get(coordination.REDIS_URL_ENV):
        import redis  # noqa: F401


async def _wait(args: argparse.Namespace, sync: Path) -> dict[str, Any]:
    _warm_up()
    client = AsyncQameraClient(base_url=args.base_url)
    polls = 0
    shared_list = coordination.shared_list

    async def counted(*arguments: Any, **options: Any) -> bytes:
        nonlocal polls
        polls += 1
        return await shared_list(*arguments, **options)

    coordination.shared_list = counted  # every list this process reads, fetched or shared
    (sync / f"ready-{args.name}").touch()
    _wait_for_file(sync / "go", args.timeout)
    started = time.monotonic()
    error = ""
    registered = None
    try:
        registration = await client.register_ideas("white marble studio, soft light", count=args.count)
        registered = time.monotonic() - started
        (sync / f"registered-{args.name}").touch()
        await client.wait_for(registration, timeout=args.timeout)
    except QameraError as exc:
        error = f"{type(exc).__name__}: {exc}"
    finally:
        await client.aclose()
    return {
        "finished": not error,
        "seconds": time.monotonic() - started,
        "registered_seconds": registered,
        "polls": polls,
        "error": error,
    }


def _book(args: argparse.Namespace, sync: Path) -> dict[str, Any]:
    (sync / f"ready-{args.name}").touch()
    _wait_for_file(sync / "go", args.timeout)
    times: list[float] = []
    for _ in range(args.slots):
        delay = coordination.reserve_slot(args.origin, args.key_id, args.limit, args.window)
        if delay is None:
            return {"error": "class mode is off", "times": times}
        times.append(time.time() + delay)
    return {"error": "", "times": times}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.helpers.class_student")
    parser.add_argument("mode", choices=["wait", "book"])
    parser.add_argument("--sync-dir", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--base-url")
    parser.add_argument("--count", type=int, default=2)
    parser.add_argument("--origin")
    parser.add_argument("--key-id")
    parser.add_argument("--limit", type=int, default=60)
    parser.add_argument("--slots", type=int, default=1)
    parser.add_argument("--window", type=float, default=61.0)
    args = parser.parse_args(argv)
    sync = Path(args.sync_dir)
    result = asyncio.run(_wait(args, sync)) if args.mode == "wait" else _book(args, sync)
    print(json.dumps(result), flush=True)


@dataclass
class ClassRun:
    results: list[dict[str, Any]]
    stderr: list[str]
    seconds: float  # from "go" until the last student exited


def run_class(
    students: int,
    arguments: list[str],
    sync_dir: Path,
    *,
    env: Mapping[str, str | None],
    once_registered: Callable[[], None] | None = None,
    timeout: float = 600.0,
) -> ClassRun:
    """Start the students, let them all go at once, and collect each one's JSON line and stderr.

    `env` entries override the environment (None removes a variable). `once_registered` runs as soon
    as every "wait" student has registered its job (e.g. to stop Redis in the middle).
    """
    sync_dir.mkdir(parents=True, exist_ok=True)
    environment = dict(os.environ)
    for name, value in env.items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    processes = []
    for i in range(students):
        out = (sync_dir / f"out-{i}").open("wb")
        err = (sync_dir / f"err-{i}").open("wb")
        with out, err:
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "tests.helpers.class_student",
                        *arguments,
                        "--sync-dir",
                        str(sync_dir),
                        "--name",
                        str(i),
                    ],
                    cwd=REPO,
                    env=environment,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                )
            )
    try:
        deadline = time.monotonic() + timeout
        for i in range(students):
            while not (sync_dir / f"ready-{i}").exists():
                if processes[i].poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"student {i} never got ready: {(sync_dir / f'err-{i}').read_text()}")
                time.sleep(STEP)
        (sync_dir / "go").touch()
        started = time.monotonic()
        if once_registered is not None:
            for i in range(students):
                while not (sync_dir / f"registered-{i}").exists() and processes[i].poll() is None:
                    time.sleep(STEP)
            once_registered()
        for process in processes:
            process.wait(max(1.0, deadline - time.monotonic()))
        seconds = time.monotonic() - started
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    results = []
    for i in range(students):
        lines = (sync_dir / f"out-{i}").read_text().strip().splitlines()
        if processes[i].returncode != 0 or not lines:
            raise RuntimeError(f"student {i} failed: {(sync_dir / f'err-{i}').read_text()[-2000:]}")
        results.append(json.loads(lines[-1]))
    stderr = [(sync_dir / f"err-{i}").read_text() for i in range(students)]
    return ClassRun(results, stderr, seconds)


if __name__ == "__main__":
    main()
