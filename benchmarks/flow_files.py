"""Which of the package's files a mark and a Generate pass through, traced as they run (issue 27).

    PYTHONPATH=$PWD .venv/bin/python -m benchmarks.flow_files

A profiler hook (`sys.setprofile`, and `threading.setprofile` for the store's and the loader's threads)
records every package file in which a function is called, from the browser's message until the work it
starts is over; the sandbox's own files are left out (it stands in for the service). "mark" is one
`{"kind": "mark"}` message on a loaded gallery until its `marked` reply; "generate" is the form's
`{"kind": "generate"}` in a Studio until the job is registered (sent, confirmed, journaled) and its run is
drawn on the board, and then until its pictures are done and the library has them. The browser's files
are counted by reading js/ (see docs/architecture.md); this counts the Python half.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import FrameType
from typing import Any

import qamera_widgets
from qamera_widgets.client import AsyncQameraClient
from qamera_widgets.sandbox import Sandbox, start
from qamera_widgets.widgets.gallery import SceneryGallery
from qamera_widgets.widgets.studio import Studio
from tests._widget_support import from_browser

PACKAGE = str(Path(qamera_widgets.__file__).parent)


class Trace:
    """The package files called into while it is on."""

    def __init__(self) -> None:
        self.files: set[str] = set()

    def _hook(self, frame: FrameType, event: str, _arg: Any) -> None:
        name = frame.f_code.co_filename
        if event == "call" and name.startswith(PACKAGE) and "/sandbox/" not in name:
            self.files.add(name[len(PACKAGE) + 1 :])

    def __enter__(self) -> Trace:
        self.files.clear()
        sys.setprofile(self._hook)
        threading.setprofile(self._hook)
        # A thread's hook is set when it starts: a fresh default executor, so `to_thread` work is seen.
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor())
        return self

    def __exit__(self, *_exc: object) -> None:
        sys.setprofile(None)
        threading.setprofile(None)

    def report(self, what: str) -> str:
        return f"{what}: {len(self.files)} files\n" + "\n".join(f"  {name}" for name in sorted(self.files))


def _registered_and_drawn(sandbox: Sandbox, studio: Studio, registered_before: int) -> bool:
    """The job is registered (sent, confirmed and journaled: the form is no longer submitting) and its
    run's header and a card per picture are in the board's state."""
    state = studio.board.get_state()
    return (
        sandbox.stats()["register_requests"] > registered_before
        and not studio.form.submitting
        and bool(state["runs"])
        and len(state["cards"]) >= len(state["runs"][0].get("ids", [None]))
    )


async def main() -> None:
    sandbox = start(seed=1, processing_seconds=(0.05, 0.1), failure_rate=0.0, rate_limit=None, library=6)
    try:
        client = AsyncQameraClient(sandbox.api_key, sandbox.base_url, max_retries=0)
        gallery = SceneryGallery(client, thumb_px=64, autoload=False)
        await gallery.refresh()
        await gallery.wait_pictures()
        first = gallery.sceneries[0].id
        with Trace() as trace:
            from_browser(gallery, {"kind": "mark", "ids": [first], "flag": "pick", "stars": None})
            for _ in range(20):
                await asyncio.sleep(0.01)
        print(trace.report("mark"))
        gallery.close()
        await gallery.loader.aclose()

        studio = Studio(client=client, sandbox=sandbox)
        await studio.wait_idle(timeout=10)
        before = sandbox.stats()["register_requests"]
        generate = {"kind": "generate", "prompt": "oak countertop, soft light", "count": 2}
        with Trace() as trace:
            from_browser(studio.form, generate)
            for _ in range(1000):
                if _registered_and_drawn(sandbox, studio, before):
                    break
                await asyncio.sleep(0.005)
        print(trace.report("generate, until the job is registered, journaled and its run drawn"))
        with Trace() as trace:
            await studio.wait_idle(timeout=20)
            await studio.gallery.wait_pictures()
        print(trace.report("generate, then until its pictures are done and in the library"))
        studio.close()
        await client.aclose()
    finally:
        sandbox.stop()


if __name__ == "__main__":
    asyncio.run(main())
