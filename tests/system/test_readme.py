"""The README's promises: its example runs as printed, and its test command is what CI runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()


def test_readme_example_runs_against_the_sandbox(tmp_path: Path) -> None:
    example = re.search(r"```python\n(.*?)```", README, re.S)
    assert example, "README has no python example"
    out = subprocess.run(
        [sys.executable, "-c", example.group(1)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert "40 credits reserved" in out.stdout
    assert "'reserved': 0" in out.stdout and "'consumed': " in out.stdout


def test_ci_runs_the_readme_test_command() -> None:
    assert "scripts/test" in README and "scripts/demo" in README
    assert "exec scripts/test" in (REPO / ".ci" / "run").read_text()
