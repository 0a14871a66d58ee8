"""Rounds of one sync `QameraClient` shared by four threads, two of them inside running event loops (the
pattern of a notebook cell calling the sync client), under a watchdog that dumps every thread's stack.

Run as ``python -m tests._thread_stress BASE_URL ROUNDS WATCHDOG_SECONDS`` with the key in QAMERA_API_KEY;
prints one JSON line. A round that does not end within the watchdog's time makes faulthandler print every
thread's stack (the stuck one sits in ``select()``) and exit with status 1.

Re-entrancy is installed by the first nested call on a loop, so each round uses loops of a class of its
own (made by the event loop policy): every round is "the first nested call in this process", the moment
the hang needed, instead of only the first of hundreds.
"""

from __future__ import annotations

import asyncio
import faulthandler
import json
import os
import sys
import threading
from typing import Any

from qamera_widgets import QameraClient
from qamera_widgets.client.rules import API_KEY_ENV

WORKER_CALLS = 3
CELL_CALLS = 2


def main() -> None:
    base_url, rounds, watchdog = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    sys.setswitchinterval(1e-4)  # switch threads often, so unlucky interleavings come sooner
    client = QameraClient(os.environ[API_KEY_ENV], base_url, rate_limit_per_minute=None)
    errors: list[str] = []
    policy = asyncio.get_event_loop_policy()

    def calls(tag: str, count: int) -> None:
        for _ in range(count):
            try:
                client.list_sceneries()
            except Exception as exc:  # reported, not raised: the round must still end
                errors.append(f"{tag}: {type(exc).__name__}: {exc}")

    async def cell(tag: str) -> None:
        calls(tag, CELL_CALLS)

    def notebook(tag: str) -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(cell(tag))
        finally:
            loop.close()

    for number in range(rounds):
        fresh: Any = type(f"RoundLoop{number}", (asyncio.SelectorEventLoop,), {})
        policy._loop_factory = fresh  # type: ignore[attr-defined]
        faulthandler.dump_traceback_later(watchdog, exit=True)
        threads = [threading.Thread(target=calls, args=(f"worker{n}", WORKER_CALLS)) for n in range(2)]
        threads += [threading.Thread(target=notebook, args=(f"cell{n}",)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        faulthandler.cancel_dump_traceback_later()
        client.close()  # the private loops are of this round's class: the next round makes new ones
    print(json.dumps({"rounds": rounds, "errors": errors[:5], "error_count": len(errors)}))


if __name__ == "__main__":
    main()
