"""`qamera-widgets demo --no-browser` in a child process, as a newcomer starts it, for the tests that need
the real command: its whole output goes to a log file, and it is stopped with Ctrl+C (SIGINT) after."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from qamera_widgets.serving import Stopped, free_port, stop_server


@dataclass
class DemoRun:
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    url: str | None
    """What the demo printed after "Open "; None if it exited or took 90 s without printing it."""
    stopped: Stopped | None = None
    """How Ctrl+C stopped it, once the `with` block is left."""

    def said(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def demo_process(folder: Path, env: Mapping[str, str], *options: str) -> Iterator[DemoRun]:
    """Run the demo from `folder` until it prints its URL, yield it, then Ctrl+C it (30 s grace)."""
    port = free_port()
    log_path = folder / "demo.log"
    command = [sys.executable, "-m", "qamera_widgets", "demo", "--no-browser", "--port", str(port), *options]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, env=dict(env), stdout=log, stderr=subprocess.STDOUT, cwd=folder)
        run = DemoRun(proc, port, log_path, None)
        try:
            deadline = time.monotonic() + 90
            while proc.poll() is None and time.monotonic() < deadline:
                if url := re.search(r"^Open (\S+)", run.said(), re.M):
                    run.url = url.group(1)
                    break
                time.sleep(0.2)
            yield run
        finally:
            run.stopped = stop_server(proc, signal.SIGINT, grace=30)
