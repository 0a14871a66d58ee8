"""The package as someone who installs it gets it: build the sdist and, from it, the wheel (`uv build`),
install the wheel with `[demo]` into a fresh virtualenv at the versions in locks/demo.txt, and run the
demo from there, outside any clone. A file the wheel lacks (a notebook, the widgets' JavaScript or CSS,
the licence) fails here rather than on a user's machine."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from qamera_widgets.serving import stop_server

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(
    p.name for p in (REPO / "qamera_widgets" / "notebooks").iterdir() if p.suffix in {".ipynb", ".py"}
)
VERSION = re.search(r'^version = "([^"]+)"', (REPO / "pyproject.toml").read_text(), re.M).group(1)  # type: ignore[union-attr]


def find_uv() -> str:
    """The uv scripts/test installed (.uv-bootstrap/), else one on PATH."""
    for candidate in (REPO / ".uv-bootstrap" / "bin" / "uv", shutil.which("uv")):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    pytest.fail("No uv: run scripts/test once (it installs uv into .uv-bootstrap/), or put uv on PATH.")


def run(*command: str | Path, **options: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(c) for c in command], capture_output=True, text=True, timeout=600, **options, check=False
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result


def outside_env(home: Path) -> dict[str, str]:
    """A user's shell: no PYTHONPATH pointing at the clone, no Qamera settings, a home of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QAMERA_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(HOME=str(home), JUPYTER_PLATFORM_DIRS="1", QAMERA_WIDGETS_HOME=str(home / "journal"))
    env["PYTHONUNBUFFERED"] = "1"  # the demo's lines arrive as it prints them
    return env


def tracked(prefix: str) -> set[str]:
    listed = run("git", "ls-files", prefix, cwd=REPO).stdout.split()
    return {name for name in listed if (REPO / name).is_file()}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    uv = find_uv()
    root = tmp_path_factory.mktemp("wheel")
    dist = root / "dist"
    run(uv, "build", "--quiet", "--out-dir", dist, REPO, cwd=REPO)  # the wheel is built from the sdist
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    venv = root / "venv"
    run(uv, "venv", "--quiet", "--python", sys.executable, venv)
    run(
        uv,
        "pip",
        "install",
        "--quiet",
        "--python",
        venv / "bin" / "python",
        f"{wheel}[demo]",
        "-c",  # uv takes the lock's hashes in a constraints file and checks them
        REPO / "locks" / "demo.txt",
    )
    home = root / "home"
    home.mkdir()
    return {"root": root, "wheel": wheel, "sdist": sdist, "venv": venv, "env": outside_env(home)}


def test_the_wheel_carries_every_package_file_the_notebooks_and_the_licence(
    installed: dict[str, Any],
) -> None:
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    expected = tracked("qamera_widgets") | {
        str(p.relative_to(REPO)) for p in (REPO / "qamera_widgets" / "widgets" / "static").iterdir()
    }
    assert sorted(expected - names) == []
    static = [n for n in names if n.startswith("qamera_widgets/widgets/static/")]
    assert any(n.endswith(".js") for n in static) and any(n.endswith(".css") for n in static), static
    assert {f"qamera_widgets/notebooks/{n}" for n in NOTEBOOKS} <= names
    assert f"qamera_widgets-{VERSION}.dist-info/licenses/LICENSE" in names
    metadata = (
        zipfile.ZipFile(installed["wheel"]).read(f"qamera_widgets-{VERSION}.dist-info/METADATA").decode()
    )
    assert "License-Expression: MIT" in metadata and "Project-URL: " in metadata


def test_the_sdist_carries_the_sources_the_locks_and_the_changelog(installed: dict[str, Any]) -> None:
    with tarfile.open(installed["sdist"]) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    expected = tracked("qamera_widgets") | {
        "LICENSE",
        "CHANGELOG.md",
        "README.md",
        "pyproject.toml",
        "locks/test.txt",
        "locks/demo.txt",
    }
    assert sorted(expected - names) == []


def test_the_installed_package_is_the_wheel_and_knows_its_version(installed: dict[str, Any]) -> None:
    said = run(
        installed["venv"] / "bin" / "python",
        "-c",
        "import qamera_widgets as q; print(q.__file__); print(q.__version__)",
        env=installed["env"],
        cwd=installed["root"],
    ).stdout.split()
    assert "site-packages" in said[0] and said[1] == VERSION


def test_notebooks_command_copies_them_out_and_keeps_edited_copies(installed: dict[str, Any]) -> None:
    target = installed["root"] / "my-notebooks"
    command = installed["venv"] / "bin" / "qamera-widgets"
    said = run(command, "notebooks", target, env=installed["env"], cwd=installed["root"]).stdout
    assert sorted(p.name for p in target.iterdir()) == NOTEBOOKS
    assert f"{len(NOTEBOOKS)} notebooks copied to {target}" in said
    edited = target / NOTEBOOKS[0]
    edited.write_text("my edits")
    said = run(command, "notebooks", target, env=installed["env"], cwd=installed["root"]).stdout
    assert edited.read_text() == "my edits" and f"kept {edited}" in said
    run(command, "notebooks", target, "--force", env=installed["env"], cwd=installed["root"])
    assert edited.read_text() != "my edits"


def test_headless_demo_runs_every_notebook_from_the_wheel(installed: dict[str, Any]) -> None:
    work = installed["root"] / "headless"
    work.mkdir()
    said = run(
        installed["venv"] / "bin" / "qamera-widgets",
        "demo",
        "--headless",
        "--output",
        "out",
        env=installed["env"],
        cwd=work,
    ).stdout
    for name in (n for n in NOTEBOOKS if re.match(r"\d.*\.ipynb$", n)):
        assert f"{name}: ok" in said, said
        assert (work / "out" / name).with_suffix(".html").is_file()


def test_interactive_demo_serves_copies_in_a_folder_it_names_under_the_current_directory(
    installed: dict[str, Any],
) -> None:
    work = installed["root"] / "lab"
    work.mkdir()
    process = subprocess.Popen(
        [str(installed["venv"] / "bin" / "qamera-widgets"), "demo", "--no-browser"],
        env=installed["env"],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.stdout is not None:
            line = process.stdout.readline()
            lines.append(line)
            if line.startswith("Open http") or process.poll() is not None:
                break
    finally:
        stopped = stop_server(process, signal.SIGINT, grace=30)
    said = "".join(lines)
    assert any(line.startswith("Open http") for line in lines), said
    assert f"notebooks from {work / 'qamera-demo'}" in said
    assert sorted(p.name for p in (work / "qamera-demo").glob("*.ipynb")) == [
        n for n in NOTEBOOKS if n.endswith(".ipynb")
    ]
    assert not stopped.forced and stopped.leftovers == ()
