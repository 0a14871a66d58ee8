"""The synchronous facade: in a plain thread, and inside a running loop as in a Jupyter cell."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import httpx

from qamera_widgets import QameraClient

KEY = "mk_live_key42.topsecretvalue"


def handler(request: httpx.Request) -> httpx.Response:
    if request.method == "POST":
        return httpx.Response(
            200,
            json={
                "createdRecordIds": ["r1"],
                "batchId": "b",
                "orderId": "o",
                "reservationId": "v",
                "creditsReserved": 10,
            },
        )
    return httpx.Response(200, json={"sceneries": [{"id": "r1", "status": "DONE"}], "count": 1})


def test_sync_client_works_in_a_plain_thread() -> None:
    results: dict[str, object] = {}

    def work() -> None:
        with QameraClient(
            KEY, "http://api.test", transport=httpx.MockTransport(handler), rate_limit_per_minute=None
        ) as client:
            first = client.list_sceneries()
            registration = client.register_ideas("Concrete loft", count=1)
            done = client.wait_for(registration, timeout=5)
            snapshots = list(client.watch(["r1"]))
            results.update(first=first, done=done, snapshots=snapshots)
        results["closed"] = True

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(30)
    assert [s.id for s in results["first"]] == ["r1"]  # type: ignore[attr-defined]
    assert [s.status for s in results["done"]] == ["DONE"]  # type: ignore[attr-defined]
    assert len(results["snapshots"]) == 1  # type: ignore[arg-type]
    assert results["closed"] is True


def test_sync_call_inside_a_running_loop_does_not_freeze_other_tasks() -> None:
    # Run in a fresh interpreter: nest-asyncio2 patches the loop, which must not leak into other tests.
    script = textwrap.dedent(
        """
        import asyncio, httpx
        from qamera_widgets import QameraClient

        async def slow(request):
            await asyncio.sleep(0.5)
            return httpx.Response(200, json={"sceneries": [], "count": 0})

        async def cell():
            ticks = 0
            async def ticker():
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.01)
                    ticks += 1
            task = asyncio.get_running_loop().create_task(ticker())
            await asyncio.sleep(0)
            client = QameraClient(KEY, "http://api.test", transport=httpx.MockTransport(slow),
                                  rate_limit_per_minute=None)
            assert client.list_sceneries() == []     # blocks this cell, like a sync call in Jupyter
            assert client.list_sceneries() == []
            task.cancel()
            print("TICKS", ticks)

        asyncio.run(cell())
        """
    ).replace("KEY", repr(KEY))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    ticks = int(out.stdout.split("TICKS")[1])
    assert ticks >= 20, f"the background task only ticked {ticks} times while the sync call blocked"


def test_nest_asyncio_is_not_applied_at_import() -> None:
    script = (
        "import asyncio, qamera_widgets, sys;"
        "print('nest_asyncio2' in sys.modules, hasattr(asyncio, '_nest_patched'))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["False", "False"], out.stderr
