"""The thread hang of issue 23 (item 15): one sync `QameraClient` shared by four threads, two of them inside
running event loops, left a thread in `select()` forever.

The cause: `nest_asyncio2.apply(loop)` patches the loop's *class*, so every loop of every thread, and it
installs the new `_run_once` before it sets the `curr_tasks` that method reads. A loop running in another
thread that enters `_run_once` in that window takes a handle off its ready queue and loses it on a
NameError; a task whose step was lost never ends, and `asyncio.run`'s shutdown (cancelling it) then waits
in `select()` forever. The window is a few bytecodes, so plain stress rarely hits it; the second test
widens it (nest_asyncio2 calls `loop.is_running()` inside it) and shows the lost handle at once. The fix
makes only the nesting loop re-entrant, as an instance of a subclass patched while it is that class's only
instance, under a lock, and leaves asyncio and every other loop as they are.

Each test runs in a fresh interpreter: what is checked is what nesting does to a process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qamera_widgets.client.rules import API_KEY_ENV
from qamera_widgets.sandbox import Sandbox
from tests.helpers import child

ROOT = Path(__file__).resolve().parents[2]
STRESS_ROUNDS = int(os.environ.get("QAMERA_STRESS_ROUNDS", "30"))
"""Rounds of the stress test in the suite; QAMERA_STRESS_ROUNDS=500 for a long run by hand."""
WATCHDOG_SECONDS = 20.0


def run_python(script: str, *args: str, timeout: float = 120, env: dict[str, str] | None = None) -> str:
    out = child.run_python(script, *args, timeout=timeout, env=env)
    assert out.returncode == 0, f"exit {out.returncode}; stderr (stacks if the watchdog fired):\n{out.stderr}"
    return out.stdout.strip().splitlines()[-1]


def test_nesting_one_loop_changes_neither_asyncio_nor_the_loops_of_other_threads() -> None:
    result = run_python(
        """
        import asyncio, json, threading
        from asyncio.base_events import BaseEventLoop
        from qamera_widgets.runtime import loops

        original_run, original_task = asyncio.run, asyncio.Task
        other = asyncio.new_event_loop()
        started = threading.Event()
        other.call_soon(started.set)
        threading.Thread(target=other.run_forever, daemon=True).start()
        started.wait(10)

        async def cell():
            loops.allow_nesting(asyncio.get_running_loop())
            inner = asyncio.get_running_loop().run_until_complete(asyncio.sleep(0, "nested"))
            return inner, type(asyncio.get_running_loop())

        mine = asyncio.new_event_loop()
        inner, nesting_class = mine.run_until_complete(cell())
        fresh = asyncio.new_event_loop()
        print(json.dumps({
            "nested": inner,
            "nesting loop is a subclass": issubclass(nesting_class, type(other))
            and nesting_class is not type(other),
            "other thread's loop untouched": type(other)._run_once is BaseEventLoop._run_once,
            "new loops untouched": type(fresh)._run_once is BaseEventLoop._run_once,
            "asyncio.run untouched": asyncio.run is original_run,
            "asyncio.Task untouched": asyncio.Task is original_task,
            "asyncio not marked patched": not hasattr(asyncio, "_nest_patched"),
        }))
        """
    )
    checks = json.loads(result)
    assert checks.pop("nested") == "nested"
    assert checks == dict.fromkeys(checks, True)


def test_a_loop_in_another_thread_never_runs_a_half_installed_patch() -> None:
    """The window made wide: while the nesting thread is inside nest_asyncio2's patching, another thread's
    loop keeps stepping a task. Before the fix that loop ran the half-installed `_run_once`, lost its
    task's step on a NameError, and the shutdown that cancels what is left waited in `select()` forever
    (the watchdog prints its stack: selectors.select in nest_asyncio2's _run_once); now its class is
    never touched."""
    result = run_python(
        """
        import asyncio, faulthandler, json, sys, threading, time
        from qamera_widgets.runtime import loops

        faulthandler.dump_traceback_later(float(sys.argv[1]), exit=True)

        patching, nested = threading.Event(), threading.Event()

        class SlowCheckLoop(asyncio.SelectorEventLoop):
            def is_running(self):
                # nest_asyncio2 asks this between installing `_run_once` and setting what it reads.
                if patching.is_set() and threading.current_thread().name == "nesting":
                    time.sleep(0.3)
                return super().is_running()

        asyncio.get_event_loop_policy()._loop_factory = SlowCheckLoop
        outcome = {}

        async def busy():  # steps until the other thread's nesting is in place
            steps = 0
            while not nested.is_set() or steps < 10:
                await asyncio.sleep(0)
                steps += 1
            return steps

        async def notebook():  # a cell's loop with a background task
            outcome["steps"] = await asyncio.ensure_future(busy())

        def other():
            loop = SlowCheckLoop()
            try:
                loop.run_until_complete(notebook())
            except BaseException as exc:
                outcome["error"] = repr(exc)
            nested.wait()
            # What asyncio.run does last: cancel what is left and wait for it. A task whose step was lost
            # never ends, so this waited in select() forever.
            left = asyncio.all_tasks(loop)
            for task in left:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
            loop.close()

        async def nesting_cell():
            await asyncio.sleep(0.1)
            patching.set()
            try:
                loops.allow_nesting(asyncio.get_running_loop())
            finally:
                nested.set()

        thread = threading.Thread(target=other)
        thread.start()
        nesting = threading.Thread(target=lambda: asyncio.run(nesting_cell()), name="nesting")
        nesting.start()
        nesting.join()
        thread.join()
        faulthandler.cancel_dump_traceback_later()
        print(json.dumps(outcome))
        """,
        str(WATCHDOG_SECONDS),
    )
    outcome = json.loads(result)
    assert "error" not in outcome, outcome["error"]
    assert outcome["steps"] > 0


@pytest.mark.timeout(300)
def test_four_threads_on_one_sync_client_two_in_running_loops_never_hang(sandbox: Sandbox) -> None:
    """Rounds of four threads (two inside running loops) on one client, each round on loops of a class of
    its own so every round is a first nested call, under a watchdog that prints every thread's stack."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests._thread_stress",
            sandbox.base_url,
            str(STRESS_ROUNDS),
            str(WATCHDOG_SECONDS),
        ],
        capture_output=True,
        text=True,
        timeout=280,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), API_KEY_ENV: sandbox.api_key},
    )
    assert out.returncode == 0, f"a round hung (exit {out.returncode}); every thread's stack:\n{out.stderr}"
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"rounds": STRESS_ROUNDS, "errors": [], "error_count": 0}
