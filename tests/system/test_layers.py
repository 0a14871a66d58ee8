"""Importing the package in a fresh interpreter configures no logging."""

from __future__ import annotations

import os
import subprocess
import sys


def test_importing_the_package_configures_no_logging_until_asked() -> None:
    script = """
import logging
import qamera_widgets, qamera_widgets.sandbox, qamera_widgets.widgets, qamera_widgets.engine.jobs.tracking
print(len(logging.getLogger("qamera_widgets").handlers), len(logging.getLogger("uvicorn.error").filters))
qamera_widgets.AsyncQameraClient("mk_live_abc.secret", "http://127.0.0.1:9")
print(len(logging.getLogger("qamera_widgets").handlers))
"""
    env = {**os.environ, "QAMERA_LOG": "info"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0", "0", "1"], "nothing at import; QAMERA_LOG applies to a new client"
