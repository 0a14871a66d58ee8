"""`qamera-widgets demo` as a newcomer runs it: sandbox and server up, a URL printed, Ctrl+C stops all,
and the repository never changes: the servers work on fresh copies of the notebooks."""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers.demo_process import demo_process

REPO = Path(__file__).resolve().parents[2]
STUDIO = "02_prompt_studio.ipynb"


def git_status() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@contextmanager
def demo(tmp_path: Path, *options: str) -> Iterator[tuple[subprocess.Popen[bytes], str, int]]:
    """Run the demo until it prints its URL; yields (process, everything it said, port); Ctrl+C after,
    and the demo must stop on it by itself, leaving none of its servers or kernels running."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QAMERA_")}
    env.update(HOME=str(tmp_path), JUPYTER_CONFIG_DIR=str(tmp_path / "jc"), QAMERA_WIDGETS_HOME=str(tmp_path))
    with demo_process(tmp_path, env, *options) as run:
        yield run.process, run.said(), run.port
    assert run.stopped is not None and not run.stopped.forced, "the demo did not stop on Ctrl+C"
    assert run.stopped.leftovers == (), "the demo left processes running"


@pytest.mark.parametrize("mode", [[], ["--voila"]], ids=["lab", "voila"])
def test_demo_serves_the_studio_and_stops_everything_on_ctrl_c(mode: list[str], tmp_path: Path) -> None:
    with demo(tmp_path, "--workdir", str(tmp_path / "work"), *mode) as (proc, said, _):
        url = re.search(r"Open (\S+)", said)
        assert url, said
        assert "Sandbox API at http://127.0.0.1:" in said
        port = re.search(r"Sandbox API at http://127.0.0.1:(\d+)", said)
        assert port, said
        sandbox_port = int(port.group(1))
        if not mode:
            page = httpx.get(url.group(1), timeout=30, follow_redirects=True)
            assert page.status_code == 200 and "JupyterLab" in page.text
    assert proc.returncode == 0
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{sandbox_port}/", timeout=2)


def test_saving_in_the_demo_leaves_the_repository_alone_and_the_next_launch_is_clean(tmp_path: Path) -> None:
    """Lab's autosave writes through the contents API: it must land in the working copy the demo names,
    outside git's view, and the next launch must serve the notebook as committed again."""
    before = git_status()
    committed = (REPO / "qamera_widgets" / "notebooks" / STUDIO).read_bytes()
    with demo(tmp_path) as (_, said, port):
        url = re.search(r"Open (\S+)", said)
        assert url, said
        copied = re.search(r"notebooks from (\S+)", said)
        assert copied, said
        copy_dir = Path(copied.group(1))
        assert copy_dir == REPO / ".qamera-demo"
        token_match = re.search(r"token=(\w+)", url.group(1))
        assert token_match, said
        token = token_match.group(1)
        notebook = json.loads(committed)
        notebook["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "saved\n"}]
        saved = httpx.put(
            f"http://127.0.0.1:{port}/api/contents/{STUDIO}",
            json={"type": "notebook", "format": "json", "content": notebook},
            headers={"Authorization": f"token {token}"},
            timeout=30,
        )
        assert saved.status_code == 200, saved.text
        assert "saved" in (copy_dir / STUDIO).read_text()
    assert (REPO / "qamera_widgets" / "notebooks" / STUDIO).read_bytes() == committed
    assert git_status() == before

    (tmp_path / "again").mkdir()
    with demo(tmp_path / "again") as (_, said, _):
        assert "Open http" in said, said
        assert as_lab_opens_it(committed) == json.loads((copy_dir / STUDIO).read_bytes())
    assert git_status() == before


def as_lab_opens_it(committed: bytes) -> Any:
    """The committed notebook with the kernel's Python version, which Lab would write into it on open."""
    notebook = json.loads(committed)
    notebook["metadata"]["language_info"]["version"] = platform.python_version()
    return notebook


def test_the_demo_prints_no_deprecation_warning_and_answers_labs_news_question(tmp_path: Path) -> None:
    """Lab asks "get notified about official Jupyter news?" in a toast over the studio unless a setting
    answers it (`news_url=None` does not), and the demo's log said `ServerApp.token` is deprecated."""
    work = tmp_path / "work"
    with demo(tmp_path, "--workdir", str(work)) as (_, said, _):
        assert "Open http" in said, said
        assert "Warning" not in said and "ServerApp.token" not in said, said
        setting = work / ".lab-user-settings" / "@jupyterlab" / "apputils-extension"
        assert json.loads((setting / "notification.jupyterlab-settings").read_text())["fetchNews"] == "false"
        copy = json.loads((work / STUDIO).read_text())
        assert copy["metadata"]["language_info"]["version"] == platform.python_version()
        assert copy["metadata"]["kernelspec"]["display_name"] == "Python 3 (ipykernel)"


@pytest.mark.skipif(shutil.which("bash") is None, reason="scripts/demo is a bash script")
@pytest.mark.parametrize("state", ["uv-present", "fresh-machine", "stale-lock"])
def test_scripts_demo_installs_the_lock_then_runs_the_demo(state: str, tmp_path: Path) -> None:
    """A stand-in checkout: the pinned uv and the installed command are stubs that record their arguments,
    and `python3` on PATH records every bootstrap step (and refuses it). With uv present, the demo checks
    locks/demo.txt against pyproject.toml (a re-compile into a copy of the lock that changes nothing),
    installs the lock with hashes into .venv (install, not sync: the test tools stay), the package
    editable without dependencies, and runs; when the re-compile changes a pin it stops with the command
    that re-locks; on a fresh machine it first installs the pinned uv from PyPI, and stops when that fails
    instead of running anything."""
    (tmp_path / "scripts").mkdir()
    for name in ("demo", "_uv.sh"):
        shutil.copy(REPO / "scripts" / name, tmp_path / "scripts" / name)
    shutil.copytree(REPO / "locks", tmp_path / "locks")
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    version = re.search(r"^UV_VERSION=(\S+)$", (REPO / "scripts" / "_uv.sh").read_text(), re.M)
    assert version, "scripts/_uv.sh pins no uv version"
    if state != "fresh-machine":
        # A stale lock: the re-compile writes a different pin into the copy it is given (-o FILE).
        stale = 'for a; do [ "$prev" = -o ] && echo "six==1.0" >> "$a"; prev="$a"; done\n'
        uv = tmp_path / ".uv-bootstrap" / "bin" / "uv"
        uv.parent.mkdir(parents=True)
        uv.write_text(
            f'#!/bin/sh\nif [ "$1" = "--version" ]; then echo "uv {version.group(1)} (stub)"; exit 0; fi\n'
            f'echo "$@" >> {tmp_path}/uv-calls\n' + (stale if state == "stale-lock" else "")
        )
        uv.chmod(0o755)
    venv_bin = tmp_path / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    stub = venv_bin / "qamera-widgets"
    stub.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/ran\n')
    stub.chmod(0o755)
    shims = tmp_path / "shims"
    shims.mkdir()
    python3 = shims / "python3"
    python3.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/bootstrap\nexit 1\n')
    python3.chmod(0o755)
    env = {**os.environ, "PATH": f"{shims}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        ["bash", str(tmp_path / "scripts" / "demo"), "--voila"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if state == "uv-present":
        assert result.returncode == 0, result.stderr
        assert not (tmp_path / "bootstrap").exists()
        calls = (tmp_path / "uv-calls").read_text().splitlines()
        assert calls[0] == "venv --quiet .venv"
        assert calls[1].startswith("pip compile") and "--extra demo -c locks/test.txt" in calls[1]
        assert "--generate-hashes" in calls[1] and "-o locks/demo.txt" not in calls[1]
        assert calls[2].startswith("pip install") and "--require-hashes -r locks/demo.txt" in calls[2]
        assert calls[3].startswith("pip install") and calls[3].endswith("--no-deps -e .")
        assert not any(call.startswith("pip sync") for call in calls)
        assert (tmp_path / "ran").read_text().split() == ["demo", "--voila"]
    elif state == "stale-lock":
        assert result.returncode == 1
        assert "locks/demo.txt does not match pyproject.toml: run .uv-bootstrap/bin/uv pip compile" in (
            result.stderr
        )
        calls = (tmp_path / "uv-calls").read_text().splitlines()
        assert not any(call.startswith("pip install") for call in calls)
        assert not (tmp_path / "ran").exists()
    else:
        assert result.returncode != 0
        assert (tmp_path / "bootstrap").read_text().startswith("-m venv .uv-bootstrap")
        assert not (tmp_path / "ran").exists()


def test_demo_budget_reaches_the_kernels_environment(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    from qamera_widgets.demo import service_env

    monkeypatch.delenv("QAMERA_API_KEY", raising=False)
    with service_env(1000, budget=200) as env:
        assert env["QAMERA_BUDGET"] == "200" and env["QAMERA_API_KEY"].startswith("mk_live_")
    assert "Each notebook may reserve at most 200 credits (QAMERA_BUDGET)." in capsys.readouterr().out
