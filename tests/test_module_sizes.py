"""No module grows into several jobs again: a Python module over 450 lines or a browser module over 300 is
the sign that it holds more than one idea (split it by idea, as engine/store/ and engine/images.py are)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMITS = {"qamera_widgets": ("*.py", 450), "js": ("*.js", 300)}


def too_long(folder: str) -> list[str]:
    pattern, limit = LIMITS[folder]
    found = []
    for path in sorted((ROOT / folder).rglob(pattern)):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > limit and "static" not in path.parts and "notebooks" not in path.parts:
            found.append(f"{path.relative_to(ROOT)}: {lines} lines (at most {limit})")
    return found


def test_no_python_module_in_the_package_is_over_450_lines() -> None:
    assert too_long("qamera_widgets") == []


def test_no_javascript_module_is_over_300_lines() -> None:
    assert too_long("js") == []
