"""A leading underscore means private: no layer reaches into another through a private module."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import qamera_widgets

PACKAGE = Path(qamera_widgets.__file__).parent
ROOT = PACKAGE.parent


def _imported_modules(path: Path) -> list[str]:
    """Every module `path` imports, as absolute dotted names (relative imports resolved)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names.append(base)
            names.extend(f"{base}.{alias.name}" for alias in node.names)
    return names


def test_no_private_client_module_is_imported_outside_the_client() -> None:
    sources = [*PACKAGE.rglob("*.py"), *(ROOT / "benchmarks").glob("*.py")]
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sources
        if PACKAGE / "client" not in path.parents
        for name in _imported_modules(path)
        if name.startswith("qamera_widgets.client._") and not name.startswith("qamera_widgets.client.__")
    ]
    assert offenders == []


def test_importing_the_package_configures_no_logging_until_asked() -> None:
    script = """
import logging
import qamera_widgets, qamera_widgets.sandbox, qamera_widgets.widgets, qamera_widgets.engine.tracking
print(len(logging.getLogger("qamera_widgets").handlers), len(logging.getLogger("uvicorn.error").filters))
qamera_widgets.AsyncQameraClient("mk_live_abc.secret", "http://127.0.0.1:9")
print(len(logging.getLogger("qamera_widgets").handlers))
"""
    env = {**os.environ, "QAMERA_LOG": "info"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0", "0", "1"], "nothing at import; QAMERA_LOG applies to a new client"
