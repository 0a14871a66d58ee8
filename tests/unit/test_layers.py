"""Imports go one way: each layer imports only the layers below it, and no layer reaches into another
through a private module.

The table is the package's map (docs/architecture.md, "The layers"). Every import counts, including the ones
inside functions and under `TYPE_CHECKING`: a lazy import against the flow is still a cycle waiting for
its first caller.
"""

from __future__ import annotations

import ast
from pathlib import Path

import qamera_widgets

PACKAGE = Path(qamera_widgets.__file__).parent
ROOT = PACKAGE.parent

# Which layer a module belongs to: the longest dotted prefix listed here wins. Inside `engine/` each subject
# is a layer of its own, so "where does this go" has one answer and the subjects cannot grow into a knot.
LAYER_OF: dict[str, str] = {
    "qamera_widgets.contract": "contract",
    "qamera_widgets.runtime": "runtime",
    "qamera_widgets.client": "client",
    "qamera_widgets.engine": "engine",  # the views' shared models: cards, search, account, data folder
    "qamera_widgets.engine.wording": "wording",
    "qamera_widgets.engine.store": "store",
    "qamera_widgets.engine.pictures": "pictures",
    "qamera_widgets.engine.jobs": "jobs",
    "qamera_widgets.engine.review": "review",
    "qamera_widgets.sandbox": "sandbox",
    "qamera_widgets.connect": "connect",
    "qamera_widgets.widgets": "widgets",
    "qamera_widgets.cli": "entry",
    "qamera_widgets.demo": "entry",
    "qamera_widgets.serving": "entry",
    "qamera_widgets.quiet_websocket": "entry",
    "qamera_widgets.__main__": "entry",
    "qamera_widgets": "entry",  # the package's face re-exports the client and, lazily, the widgets
}

BELOW_ENGINE = {"contract", "runtime", "client"}

# What each layer may import (besides itself). Read it bottom-up: contract is the ground floor.
ALLOWED: dict[str, set[str]] = {
    "contract": set(),
    "runtime": {"contract"},
    "client": {"contract", "runtime"},
    "wording": BELOW_ENGINE,  # the sentences every view shares (an error says itself): no state, no I/O
    "store": BELOW_ENGINE,  # SQLite only: it knows no picture, job flow or review rule
    "pictures": BELOW_ENGINE | {"wording", "store"},  # the disk cache lives in the store's folder
    "jobs": BELOW_ENGINE | {"wording", "store"},
    "review": BELOW_ENGINE | {"wording", "store", "jobs"},  # a review row says the picture's status
    "engine": BELOW_ENGINE | {"wording", "store", "pictures", "jobs", "review"},
    "sandbox": {"contract"},
    "connect": BELOW_ENGINE | {"jobs", "sandbox"},  # the kernel's budget and the sandbox it starts
    "widgets": BELOW_ENGINE | {"wording", "store", "pictures", "jobs", "review", "engine", "connect"},
    "entry": BELOW_ENGINE
    | {"wording", "store", "pictures", "jobs", "review", "engine", "sandbox", "connect", "widgets"},
}

# Imports allowed only for type annotations (under `if TYPE_CHECKING:`), never at run time.
TYPE_ONLY: set[tuple[str, str]] = {("widgets", "sandbox")}  # Studio's `sandbox=` parameter is a handle


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        layer = LAYER_OF.get(".".join(parts[:end]))
        if layer is not None:
            return layer
    return None


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the import nodes inside `if TYPE_CHECKING:` blocks."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for statement in node.body:
                inside.update(id(child) for child in ast.walk(statement))
    return inside


def imports_of(path: Path, root: Path = ROOT) -> list[tuple[str, bool]]:
    """Every package module `path` imports, as (absolute dotted name, type-only); relative imports are
    resolved. `from x import name` yields `x.name` too, so importing a submodule that way is seen."""
    module = _module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typed = _type_checking_nodes(tree)
    found: list[tuple[str, bool]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, id(node) in typed) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            if node.module:  # `from .. import contract` imports contract, not the package's face
                found.append((base, id(node) in typed))
            found.extend((f"{base}.{alias.name}", id(node) in typed) for alias in node.names)
    return [(name, type_only) for name, type_only in found if name.split(".")[0] == "qamera_widgets"]


def wrong_way_imports(root: Path = ROOT) -> list[str]:
    """Each import in the package at `root` that the table does not allow, as a sentence."""
    offenders: list[str] = []
    for path in sorted((root / "qamera_widgets").rglob("*.py")):
        here = layer_of(_module_name(path, root))
        if here is None:
            offenders.append(f"{path.relative_to(root)} is in no layer: add it to LAYER_OF")
            continue
        for name, type_only in imports_of(path, root):
            there = layer_of(name)
            if there is None or there == here or there in ALLOWED[here]:
                continue
            if type_only and (here, there) in TYPE_ONLY:
                continue
            offenders.append(f"{path.relative_to(root)} ({here}) imports {name} ({there})")
    return sorted(set(offenders))


def test_every_layer_imports_only_the_layers_below_it() -> None:
    assert wrong_way_imports() == []


def test_the_table_goes_one_way() -> None:
    """No two layers may import each other, directly or around a loop: the table itself has no cycle."""
    seen: dict[str, int] = {}

    def depth(layer: str, path: tuple[str, ...] = ()) -> int:
        assert layer not in path, f"the layer table has a cycle: {' -> '.join((*path, layer))}"
        if layer not in seen:
            seen[layer] = 1 + max((depth(below, (*path, layer)) for below in ALLOWED[layer]), default=0)
        return seen[layer]

    for layer in ALLOWED:
        depth(layer)
    assert set(LAYER_OF.values()) == set(ALLOWED)


def test_a_wrong_way_import_is_caught(tmp_path: Path) -> None:
    """The check itself can fail: a copy of the package with one import against the flow is reported."""
    copy = tmp_path / "qamera_widgets"
    for path in PACKAGE.rglob("*.py"):
        target = copy / path.relative_to(PACKAGE)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    rules = copy / "client" / "rules.py"
    rules.write_text(
        rules.read_text(encoding="utf-8") + "\nfrom ..engine.jobs import tracking\n", encoding="utf-8"
    )
    assert wrong_way_imports(tmp_path) == [
        "qamera_widgets/client/rules.py (client) imports qamera_widgets.engine.jobs (jobs)",
        "qamera_widgets/client/rules.py (client) imports qamera_widgets.engine.jobs.tracking (jobs)",
    ]


def test_no_private_client_module_is_imported_outside_the_client() -> None:
    sources = [*PACKAGE.rglob("*.py"), *(ROOT / "benchmarks").glob("*.py")]
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sources
        if PACKAGE / "client" not in path.parents
        for name, _ in imports_of(path)
        if name.startswith("qamera_widgets.client._") and not name.startswith("qamera_widgets.client.__")
    ]
    assert offenders == []


def test_benchmarks_import_test_helpers_without_editing_sys_path() -> None:
    """Benchmarks run as `python -m benchmarks.bench_x` from the repository root, so `tests.helpers` is an
    ordinary import; a `sys.path` edit would hide a helper that moved."""
    offenders = [
        path.name
        for path in (ROOT / "benchmarks").glob("*.py")
        if "sys.path" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
