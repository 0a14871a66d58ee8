"""A throwaway redis-server on a free loopback port, for the class-mode tests and benchmark.

Debian's `redis-server` package (scripts/test installs it). No persistence, its files in a temporary
directory, stopped on exit.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from qamera_widgets.serving import free_port, stop_server

START_TIMEOUT = 10.0


class RedisServer:
    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.process = process
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.log = log

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)

    def stop(self) -> None:
        stop_server(self.process, grace=10)


def _started(directory: Path) -> RedisServer:
    executable = shutil.which("redis-server")
    if executable is None:
        raise RuntimeError("redis-server is not installed: apt-get install redis-server (scripts/test does).")
    port = free_port()
    log = directory / f"redis-{port}.log"
    process = subprocess.Popen(
        [
            executable,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(directory),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--logfile",
            str(log),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = RedisServer(process, port, log)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with server.client() as probe:
                if probe.ping():
                    return server
        except redis.ConnectionError:
            time.sleep(0.02)
    server.stop()
    text = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    raise RuntimeError(f"redis-server on port {port} did not start: {text}")


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    """A running redis-server; a port taken between probing and binding gets another try."""
    with tempfile.TemporaryDirectory(prefix="qamera-redis-") as directory:
        for attempt in range(3):
            try:
                server = _started(Path(directory))
                break
            except RuntimeError:
                if attempt == 2:
                    raise
        try:
            yield server
        finally:
            server.stop()
