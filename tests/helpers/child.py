"""Python code run in a fresh interpreter, for what one process cannot show: a second kernel, a kill -9,
a start from cold. The repository comes first on the child's import path, so `qamera_widgets` and
`tests.helpers` resolve to this checkout whatever is installed."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_python(
    code: str,
    *args: str,
    timeout: float = 300,
    env: Mapping[str, str] | None = None,
    path: Sequence[Path] = (),
) -> subprocess.CompletedProcess[str]:
    """Run `code` (dedented) with `args` as its argv; `env` is added to this process's environment and
    `path` to the import path after the repository."""
    search = os.pathsep.join(str(p) for p in (ROOT, *path))
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, **(env or {}), "PYTHONPATH": search},
    )
