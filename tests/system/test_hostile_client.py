"""One sync client shared by a notebook's loop and worker threads, in a child process."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from qamera_widgets.sandbox import Sandbox


def test_one_sync_client_shared_by_a_notebook_loop_and_worker_threads_loses_nothing(
    sandbox: Sandbox,
) -> None:
    # A fresh interpreter: the "notebook" thread's loop gets nest-asyncio2, which must not leak into others.
    script = textwrap.dedent(
        """
        import asyncio, gc, json, sys, threading
        import psutil
        from qamera_widgets import QameraClient

        base_url, key = sys.argv[1], sys.argv[2]
        port = int(base_url.rsplit(":", 1)[1])
        client = QameraClient(key, base_url, rate_limit_per_minute=None)
        errors, confirmed = [], []

        def calls(tag):
            for i in range(12):
                try:
                    client.list_sceneries()
                    confirmed.append(client.register_ideas(f"{tag} idea {i}", count=1).batch_id)
                except Exception as exc:
                    errors.append(f"{tag}: {type(exc).__name__}: {exc}")

        async def cell():  # a sync call from a cell blocks on the kernel's running loop
            calls("notebook")

        threads = [threading.Thread(target=asyncio.run, args=(cell(),))]
        threads += [threading.Thread(target=calls, args=(f"worker{n}",)) for n in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        client.close()
        gc.collect()
        open_sockets = [
            c for c in psutil.Process().net_connections("tcp") if c.raddr and c.raddr.port == port
        ]
        print(json.dumps({"errors": errors, "confirmed": len(set(confirmed)),
                          "open_sockets": len(open_sockets)}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script, sandbox.base_url, sandbox.api_key],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["errors"] == []
    assert result["confirmed"] == 48
    assert sandbox.stats()["registered_batches"] == 48
    assert result["open_sockets"] == 0
