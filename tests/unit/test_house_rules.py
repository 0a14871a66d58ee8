"""The rules that keep one home per idea, checked on the source: no module reaches into another through a
private name, no class guesses its host's methods, and no module only re-exports another.

Module size is not a rule: a module is as long as its one idea needs. Each check is run once more on a
copy of the package with one violation planted, so a check that can no longer fail is seen.
"""

from __future__ import annotations

import ast
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import qamera_widgets

PACKAGE = Path(qamera_widgets.__file__).parent
ROOT = PACKAGE.parent


def _sources(package: Path) -> Iterator[Path]:
    for path in sorted(package.rglob("*.py")):
        if "notebooks" not in path.parts:
            yield path


def _module_of(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolved(node: ast.ImportFrom, path: Path, root: Path) -> str:
    """The absolute module a `from ... import` names (relative levels resolved against `path`)."""
    module = _module_of(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    if not node.level:
        return node.module or ""
    parent = package.split(".")[: len(package.split(".")) - node.level + 1]
    return ".".join([*parent, node.module] if node.module else parent)


def private_imports(package: Path = PACKAGE) -> list[str]:
    """Each import of another module's underscore name. A package's own private module (`from . import
    _base` inside `client/`) is the package's business, as httpx's `_models` is; its names are not."""
    root = package.parent
    found: list[str] = []
    for path in _sources(package):
        here = _module_of(path, root)
        here_package = here if path.name == "__init__.py" else here.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom):
                continue
            base = _resolved(node, path, root)
            if not base.startswith(package.name):
                continue
            for alias in node.names:
                if not alias.name.startswith("_") or alias.name.startswith("__"):
                    continue
                own_module = (
                    base == here_package
                    and (root / base.replace(".", "/") / alias.name).with_suffix(".py").is_file()
                )
                if not own_module:
                    found.append(f"{path.relative_to(root)}:{node.lineno} imports {alias.name} from {base}")
    return found


def host_stubs(package: Path = PACKAGE) -> list[str]:
    """Classes that guess their host: `if TYPE_CHECKING:` declarations inside a class body, or reaching the
    host through `getattr(self, "name")`. A helper the widget owns gets what it needs passed in."""
    root = package.parent
    found: list[str] = []
    for path in _sources(package):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for cls in (node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)):
            for statement in cls.body:
                if isinstance(statement, ast.If) and "TYPE_CHECKING" in ast.unparse(statement.test):
                    found.append(f"{path.relative_to(root)}:{statement.lineno} {cls.name} stubs its host")
            for node in ast.walk(cls):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id == "getattr"
                    and len(node.args) >= 2
                    and isinstance(node.args[0], ast.Name)
                    and node.args[0].id == "self"
                    and isinstance(node.args[1], ast.Constant)
                ):
                    found.append(
                        f"{path.relative_to(root)}:{node.lineno} {cls.name} reaches its host by name"
                    )
    return found


def shims(package: Path = PACKAGE) -> list[str]:
    """Modules kept only so old imports work: a module (not a package's face) that defines nothing and
    only imports, and module-level aliases of an imported name (`OldName = NewName`)."""
    root = package.parent
    found: list[str] = []
    for path in _sources(package):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported: set[str] = set()
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                imported.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        body = [
            node
            for node in tree.body
            if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))  # docstrings
        ]
        if (
            path.name != "__init__.py"
            and path.name != "__main__.py"
            and body
            and all(isinstance(node, (ast.Import, ast.ImportFrom)) for node in body)
        ):
            found.append(f"{path.relative_to(root)} only re-exports")
        for node in body:
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and not node.targets[0].id.isupper()  # a constant of its own meaning may equal another
                and isinstance(node.value, ast.Name)
                and node.value.id in imported
            ):
                found.append(f"{path.relative_to(root)}:{node.lineno} aliases {node.value.id}")
        if path.name != "__init__.py":
            explicit = {  # `from .x import name as name`: the typing convention for a re-export
                alias.name
                for node in body
                if isinstance(node, ast.ImportFrom)
                for alias in node.names
                if alias.asname == alias.name
            }
            found.extend(
                f"{path.relative_to(root)} re-exports {name}"
                for name in sorted((_listed(tree) & imported) | explicit)
            )
    return found


def _listed(tree: ast.Module) -> set[str]:
    """The names in a module's `__all__`."""
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(target, ast.Name) and target.id == "__all__" for target in node.targets)
            and isinstance(node.value, (ast.List, ast.Tuple))
        ):
            return {str(item.value) for item in node.value.elts if isinstance(item, ast.Constant)}
    return set()


def test_no_module_imports_another_modules_underscore_names() -> None:
    assert private_imports() == []


def test_no_class_stubs_its_hosts_methods() -> None:
    assert host_stubs() == []


def test_no_module_is_a_re_export_shim() -> None:
    assert shims() == []


def _copy(tmp_path: Path) -> Path:
    copy = tmp_path / PACKAGE.name
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("static", "notebooks", "__pycache__"))
    return copy


def test_each_rule_catches_a_planted_violation(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    cards = copy / "engine" / "cards.py"
    cards.write_text(  # a private name of another module
        cards.read_text(encoding="utf-8") + "\nfrom .pictures.imaging import _unused\n", encoding="utf-8"
    )
    (copy / "engine" / "old_place.py").write_text(
        '"""Moved."""\n\nfrom .wording import plural as plural\n', encoding="utf-8"
    )
    (copy / "engine" / "wording.py").write_text(
        (PACKAGE / "engine" / "wording.py").read_text(encoding="utf-8")
        + "\n\nclass Mixin:\n    if TYPE_CHECKING:\n        def send(self) -> None: ...\n"
        + "\n    def go(self) -> None:\n        getattr(self, 'send')()\n\n\nOldName = QameraError\n",
        encoding="utf-8",
    )
    assert _planted(private_imports, copy) == [
        f"qamera_widgets/engine/cards.py:{_line_of(cards, '_unused')} imports _unused from "
        "qamera_widgets.engine.pictures.imaging"
    ]
    stubs = _planted(host_stubs, copy)
    assert len(stubs) == 2 and all("wording.py" in line and "Mixin" in line for line in stubs)
    assert _planted(shims, copy) == [
        "qamera_widgets/engine/old_place.py only re-exports",
        "qamera_widgets/engine/old_place.py re-exports plural",
        f"qamera_widgets/engine/wording.py:{_line_of(copy / 'engine' / 'wording.py', 'OldName')} aliases "
        "QameraError",
    ]


def test_a_packages_own_private_module_may_be_imported_by_the_package() -> None:
    """`client/` keeps its I/O-free decisions in `_base`, imported by its own modules only."""
    assert not [line for line in private_imports() if "client" in line]
    assert (PACKAGE / "client" / "_base.py").is_file()


def _planted(rule: Callable[[Path], list[str]], copy: Path) -> list[str]:
    """What `rule` finds in the copy and not in the package itself: the planted violations alone."""
    known = set(rule(PACKAGE))  # once, not per line: the rules parse every module
    return [line for line in rule(copy) if line not in known]


def _line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line)
