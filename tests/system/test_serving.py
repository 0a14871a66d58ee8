"""Starting, awaiting and stopping our servers (`qamera_widgets.serving`), with real child processes.

psutil is the independent witness here: the demo's tests trust `stop_server` to report what a server
left running, so these check that it finds such processes and kills them.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from qamera_widgets import sandbox
from qamera_widgets.connect import sandbox_in_env
from qamera_widgets.serving import ServerNotReady, free_port, stop_server, wait_until_serving
from tests.helpers.jupyter import isolated_jupyter_env

# Like Jupyter with a kernel: the child runs in a session of its own, which a process group would miss,
# and the parent exits on SIGTERM without stopping it.
LEAVES_A_CHILD = textwrap.dedent("""
    import subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
    print(child.pid, flush=True)
    time.sleep(600)
""")
IGNORES_SIGTERM = textwrap.dedent("""
    import signal, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("ready", flush=True)
    time.sleep(600)
""")


def python(script: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_stopping_a_server_kills_the_processes_it_left_running() -> None:
    server = python(LEAVES_A_CHILD)
    assert server.stdout is not None
    child = int(server.stdout.readline())
    try:
        stopped = stop_server(server)
        assert stopped.returncode == -signal.SIGTERM and not stopped.forced
        assert stopped.leftovers == (child,)
        deadline = time.monotonic() + 30  # SIGKILL lands asynchronously
        while running(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not running(child)
    finally:
        if running(child):
            psutil.Process(child).kill()


def test_a_server_that_ignores_the_signal_is_killed_after_the_grace_period() -> None:
    server = python(IGNORES_SIGTERM)
    assert server.stdout is not None and server.stdout.readline().strip() == "ready"
    stopped = stop_server(server, grace=0.5)
    assert stopped.forced and stopped.returncode == -signal.SIGKILL


def test_stopping_a_server_that_already_exited_changes_nothing() -> None:
    server = python("raise SystemExit(4)")
    server.wait(30)
    assert stop_server(server) == stop_server(server)
    assert stop_server(server).returncode == 4 and not stop_server(server).leftovers


def test_waiting_for_a_server_that_exits_fails_with_its_exit_code_at_once() -> None:
    server = python("raise SystemExit(3)")
    with pytest.raises(ServerNotReady, match="exited early with code 3"):
        wait_until_serving(server, free_port(), timeout=300)


def test_waiting_returns_once_the_server_answers_the_path(tmp_path: Path) -> None:
    (tmp_path / "status").write_text("ok")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_serving(server, port, path="/status")
        assert server.poll() is None
    finally:
        stop_server(server)


def test_the_isolated_jupyter_env_keeps_jupyter_in_its_folder_and_names_the_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with sandbox.start(credits=10) as handle:
        env = isolated_jupyter_env(tmp_path, handle)
        for name in ("HOME", "JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR"):
            assert Path(env[name]).parent == tmp_path, name
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        attached = sandbox_in_env()  # what a kernel under this environment finds
        assert attached is not None and attached.base_url == handle.base_url
        assert attached.account() == handle.account()
