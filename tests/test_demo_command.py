"""`qamera-widgets demo` as a newcomer runs it: sandbox and server up, a URL printed, Ctrl+C stops all."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("mode", [[], ["--voila"]], ids=["lab", "voila"])
def test_demo_serves_the_studio_and_stops_everything_on_ctrl_c(mode: list[str], tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QAMERA_")}
    env.update(HOME=str(tmp_path), JUPYTER_CONFIG_DIR=str(tmp_path / "jc"), QAMERA_WIDGETS_HOME=str(tmp_path))
    proc = subprocess.Popen(
        [sys.executable, "-m", "qamera_widgets", "demo", "--no-browser", "--port", str(port), *mode],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = proc.stdout.readline() if proc.stdout else ""
            lines.append(line)
            if line.startswith("Open http") or proc.poll() is not None:
                break
        said = "".join(lines)
        url = re.search(r"Open (\S+)", said)
        assert url, said
        assert "Sandbox API at http://127.0.0.1:" in said
        sandbox_port = int(re.search(r"Sandbox API at http://127.0.0.1:(\d+)", said).group(1))
        if not mode:
            page = httpx.get(url.group(1), timeout=30, follow_redirects=True)
            assert page.status_code == 200 and "JupyterLab" in page.text
        children = psutil.Process(proc.pid).children(recursive=True)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail("the demo did not stop on Ctrl+C")
    assert proc.returncode == 0
    assert not any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{sandbox_port}/", timeout=2)
