"""Jupyter servers for the browser tests and the benchmarks: an isolated environment whose kernels talk to
a sandbox, a tokenless Lab or Notebook 7 command line for Playwright to drive, and a context manager that
runs one. Kept out of the package on purpose: a no-auth server launcher has no place in what users
install. Waiting and stopping are `qamera_widgets.serving`'s, which the demo uses too.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from qamera_widgets.connect import env_for_sandbox
from qamera_widgets.engine.store import HOME_ENV
from qamera_widgets.serving import LOOPBACK, stop_server, wait_until_serving

if TYPE_CHECKING:
    from qamera_widgets.sandbox import Sandbox

VENV_BIN = Path(sys.executable).parent
QUIET_LAB = {"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True}
"""Lab's notification settings for servers we drive: no news or update checks (they would reach for
the internet) and no toasts covering the page under test."""
_APP_CLASSES = {"lab": "LabApp", "notebook": "JupyterNotebookApp"}


@contextlib.contextmanager
def running_server(
    command: Sequence[str],
    *,
    port: int,
    log: Path,
    env: Mapping[str, str],
    cwd: Path,
    ready_path: str | None = None,
) -> Iterator[str]:
    """Run a loopback server of ours with its output in `log`; yield its base URL once it is ready
    (`wait_until_serving`), and stop it and whatever it started afterwards, however the block ends."""
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
        try:
            wait_until_serving(process, port, path=ready_path)
            yield f"http://{LOOPBACK}:{port}"
        finally:
            stop_server(process)


def lab_settings_dir(root: Path) -> Path:
    """Where JupyterLab and Notebook 7 under `isolated_jupyter_env(root, ...)` keep user settings."""
    return root / "jcfg" / "lab" / "user-settings"


def isolated_jupyter_env(root: Path, sandbox: Sandbox) -> dict[str, str]:
    """The environment for Jupyter servers of ours whose kernels talk to `sandbox`: every Jupyter and
    home folder under `root`, so neither the user's Jupyter setup nor their data leaks into a test or
    benchmark and nothing of ours leaks out, and Lab's notifications quiet (`QUIET_LAB`)."""
    notifications = lab_settings_dir(root) / "@jupyterlab" / "apputils-extension"
    notifications.mkdir(parents=True, exist_ok=True)
    (notifications / "notification.jupyterlab-settings").write_text(json.dumps(QUIET_LAB))
    return {
        **os.environ,
        "HOME": str(root / "home"),
        "JUPYTER_CONFIG_DIR": str(root / "jcfg"),
        "JUPYTER_RUNTIME_DIR": str(root / "jrt"),
        "JUPYTER_DATA_DIR": str(root / "jdata"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "PYTHONUNBUFFERED": "1",
        HOME_ENV: str(root / "qw-home"),
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        **env_for_sandbox(sandbox),
    }


def open_jupyter_command(app: str, port: int, root: Path, notebooks: Path) -> list[str]:
    """JupyterLab (`app="lab"`) or Notebook 7 (`"notebook"`) on loopback with no token or password, for
    a browser that a test or benchmark drives, with the settings of `isolated_jupyter_env(root, ...)`;
    `expose_app_in_browser` lets the page run Lab's commands."""
    app_class = _APP_CLASSES[app]
    command = [
        str(VENV_BIN / "jupyter"),
        app,
        "--no-browser",
        "--allow-root",
        f"--ip={LOOPBACK}",
        f"--port={port}",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        f"--ServerApp.root_dir={notebooks}",
        f"--{app_class}.expose_app_in_browser=True",
        f"--{app_class}.user_settings_dir={lab_settings_dir(root)}",
    ]
    if app == "lab":
        command += ["--LabApp.news_url=None", f"--LabApp.workspaces_dir={root / 'ws'}"]
    return command
