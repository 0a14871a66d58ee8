"""`qamera-widgets demo`: the sandbox plus JupyterLab (or Voilà) on the studio notebook, in one command.

The notebooks ship inside the package (`qamera_widgets/notebooks/`), so the demo works the same from a
wheel as from a clone. JupyterLab and Voilà serve fresh copies of them in a working folder (default
`.qamera-demo/` in a clone, ignored by git; `./qamera-demo/` under the current directory otherwise), so
autosave never writes outputs into the repository or site-packages. `--headless`
executes every notebook with nbclient instead and writes executed copies and HTML exports, for
machines without a browser; there the notebooks press their own buttons once (`AUTORUN_ENV`), since
nobody else can.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .cli import subcommand
from .client.rules import API_KEY_ENV, BASE_URL_ENV, DEFAULT_BASE_URL
from .connect import SANDBOX_TOKEN_ENV, env_for_sandbox, sandbox_in_env
from .engine.jobs.budgets import BUDGET_ENV
from .serving import ServerNotReady, free_port, stop_server, wait_until_serving

STUDIO_NOTEBOOK = "02_prompt_studio.ipynb"
TEACHING_NOTEBOOK = "03_teaching_demo.ipynb"
WORKDIR_NAME = ".qamera-demo"  # in a clone; listed in .gitignore
INSTALLED_WORKDIR_NAME = "qamera-demo"  # under the current directory, when installed from a wheel
QUIET_CONNECTION = "qamera_widgets.quiet_websocket.QuietKernelWebsocketConnection"
LAB_SETTINGS_DIR = ".lab-user-settings"  # inside the working folder: the demo's Lab settings, not yours
NOTIFICATION_SETTINGS = "@jupyterlab/apputils-extension/notification.jupyterlab-settings"
AUTORUN_ENV = "QAMERA_DEMO_AUTORUN"
"""Set to 1 by `--headless`: the notebooks press their own buttons once, so the exports show results.
Without it nothing is submitted until a person presses a button."""


def notebooks_dir() -> Path:
    """The notebooks shipped inside the package: the same folder in a clone and in site-packages."""
    here = Path(__file__).resolve().parent / "notebooks"
    if not here.is_dir():
        raise SystemExit(f"No notebooks folder at {here}: the installed package is incomplete; reinstall it.")
    return here


def clone_root() -> Path | None:
    """The repository root when the package runs from a clone (editable install or PYTHONPATH), else None."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / ".git").exists() and (root / "pyproject.toml").is_file() else None


def default_workdir() -> Path:
    """`.qamera-demo/` in a clone (ignored by git); `./qamera-demo/` otherwise, never inside site-packages."""
    root = clone_root()
    return root / WORKDIR_NAME if root is not None else Path.cwd() / INSTALLED_WORKDIR_NAME


def copy_notebooks(target: Path, *, force: bool = False) -> tuple[list[Path], list[Path]]:
    """Copy the shipped notebooks (Jupyter and marimo) into `target`; returns (copied, kept).

    A file already there is kept unless `force`: it may be someone's edited copy."""
    target.mkdir(parents=True, exist_ok=True)
    copied: list[Path] = []
    kept: list[Path] = []
    for source in sorted(notebooks_dir().iterdir()):
        if source.suffix not in {".ipynb", ".py"} or source.name.startswith(("_", ".")):
            continue
        destination = target / source.name
        if destination.exists() and not force:
            kept.append(destination)
            continue
        shutil.copyfile(source, destination)
        copied.append(destination)
    return copied, kept


def fresh_copies(source: Path, workdir: Path) -> list[Path]:
    """Copy every notebook of `source` over its copy in `workdir` and drop that copy's Lab checkpoint.

    Each launch replaces the copies instead of refreshing only changed ones: a copy saved with widget
    outputs shows "model not found" for every widget once its kernel is gone, and the source has not
    changed then. Other files in `workdir` (a student's own notebook, a saved contact sheet) stay.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    checkpoints = workdir / ".ipynb_checkpoints"
    copied = []
    for notebook in sorted(source.glob("*.ipynb")):
        target = workdir / notebook.name
        target.write_text(_with_this_python(notebook.read_text(encoding="utf-8")), encoding="utf-8")
        (checkpoints / f"{notebook.stem}-checkpoint.ipynb").unlink(missing_ok=True)
        copied.append(target)
    return copied


def _with_this_python(text: str) -> str:
    """The notebook with the kernel's Python version in its `language_info`: Lab writes the version it
    gets from the kernel into the metadata on open, and any difference marks the notebook unsaved before
    anyone typed. The committed notebooks carry everything else Lab writes there."""
    notebook = json.loads(text)
    info = notebook.get("metadata", {}).get("language_info")
    if not isinstance(info, dict) or info.get("name") != "python":
        return text
    info["version"] = platform.python_version()  # the kernels run on the Python that runs the demo
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def lab_settings(workdir: Path) -> Path:
    """The demo's own Lab settings folder, with the news question answered (no): its toast would cover
    the studio's library on first open, and `news_url=None` alone does not stop Lab from asking.
    A setting changed in the demo's Lab stays for the next launch."""
    settings = workdir / LAB_SETTINGS_DIR
    notification = settings / NOTIFICATION_SETTINGS
    if not notification.exists():
        notification.parent.mkdir(parents=True, exist_ok=True)
        answer = {"fetchNews": "false", "checkForUpdates": False}
        notification.write_text(json.dumps(answer, indent=2) + "\n", encoding="utf-8")
    return settings


@contextlib.contextmanager
def service_env(credits: int, budget: int | None = None) -> Iterator[dict[str, str]]:
    """Environment for kernels: the real key if one is set, else a sandbox running in this process;
    `budget` caps what each kernel may reserve."""
    env = dict(os.environ)
    if budget is not None:
        env[BUDGET_ENV] = str(budget)
        print(f"Each notebook may reserve at most {budget} credits ({BUDGET_ENV}).")
    if env.get(API_KEY_ENV, "").strip():
        attached = sandbox_in_env()
        base_url = env.get(BASE_URL_ENV) or DEFAULT_BASE_URL
        if attached is not None:
            print(f"Using the sandbox at {base_url} named by the environment (no real credits).")
        else:
            env.pop(SANDBOX_TOKEN_ENV, None)
            print(f"Using the real service at {base_url}: generating spends real credits.")
        yield env
        return
    from . import sandbox

    with sandbox.start(credits=credits) as handle:
        print(f"Sandbox API at {handle.base_url}, thumbnails at {handle.cdn_url} (no real credits).")
        env.update(env_for_sandbox(handle))
        yield env


def voila_command(notebook: str, port: int, host: str = "127.0.0.1") -> list[str]:
    """Voilà on one notebook with progressive rendering: each section appears as soon as its cell has
    run, instead of a blank page until the last one has. (Voilà refuses it with preheated kernels,
    which are off by default.)"""
    return [
        str(Path(sys.executable).parent / "voila"),
        notebook,
        "--no-browser",
        f"--port={port}",
        f"--Voila.ip={host}",
        "--VoilaConfiguration.progressive_rendering=True",
        f"--Voila.kernel_websocket_connection_class={QUIET_CONNECTION}",
    ]


def _jupyter_command(args: argparse.Namespace, port: int, workdir: Path) -> tuple[list[str], str]:
    bindir = Path(sys.executable).parent
    if args.voila:
        return voila_command(TEACHING_NOTEBOOK, port, args.host), f"http://{args.host}:{port}/"
    token = secrets.token_hex(24)
    command = [
        str(bindir / "jupyter"),
        "lab",
        f"--ip={args.host}",
        f"--port={port}",
        f"--ServerApp.root_dir={workdir}",
        "--LabApp.news_url=None",
        f"--LabApp.user_settings_dir={lab_settings(workdir)}",
        f"--IdentityProvider.token={token}",
        # notebook_shim reads every ServerApp trait to proxy them, including the deprecated ServerApp.token,
        # which prints a DeprecationWarning although only IdentityProvider.token is set; nothing here needs
        # the classic-notebook extension shim.
        "--ServerApp.jpserver_extensions=notebook_shim=False",
        f"--ServerApp.kernel_websocket_connection_class={QUIET_CONNECTION}",
    ]
    if args.no_browser:
        command.append("--no-browser")
    if os.geteuid() == 0:
        command.append("--allow-root")
    return command, f"http://{args.host}:{port}/lab/tree/{STUDIO_NOTEBOOK}?token={token}"


def run_interactive(args: argparse.Namespace) -> int:
    workdir = Path(args.workdir).resolve() if args.workdir else default_workdir()
    copied = fresh_copies(notebooks_dir(), workdir)
    print(
        f"Serving fresh copies of {len(copied)} notebooks from {workdir}\n"
        "(each launch replaces them; save work you want to keep under another name)."
    )
    port = args.port or free_port()
    with service_env(args.credits, args.budget) as env:
        command, url = _jupyter_command(args, port, workdir)
        if not args.voila and not args.no_browser:
            command.append(f"--ServerApp.default_url=/lab/tree/{STUDIO_NOTEBOOK}")
        process = subprocess.Popen(command, env=env, cwd=workdir)
        try:
            wait_until_serving(process, port, host=args.host)
            # flush: someone reading the demo through a pipe or a log needs the URL now, not at exit.
            print(f"\nOpen {url}\n(Ctrl+C stops JupyterLab/Voila and the sandbox)\n", flush=True)
            return process.wait()
        except ServerNotReady as exc:
            raise SystemExit(f"{exc}; see its output above.") from None
        except KeyboardInterrupt:
            print("\nStopping...")
            return 0
        finally:
            stop_server(process)


def run_headless(args: argparse.Namespace) -> int:
    """Execute every notebook top to bottom against the sandbox; write executed copies and HTML."""
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    source = notebooks_dir()
    output = Path(args.output).resolve()
    output.mkdir(parents=True, exist_ok=True)
    failures = 0
    with service_env(args.credits, args.budget) as env, tempfile.TemporaryDirectory() as home:
        env.setdefault("QAMERA_WIDGETS_HOME", home)
        env[AUTORUN_ENV] = "1"
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)  # nbclient starts kernels with this process's environment
        try:
            for path in sorted(source.glob("[0-9]*.ipynb")):
                started = time.monotonic()
                notebook = nbformat.read(path, as_version=4)
                client = NotebookClient(
                    notebook,
                    timeout=args.timeout,
                    kernel_name="python3",
                    store_widget_state=True,
                    resources={"metadata": {"path": str(output)}},  # files a notebook writes land here
                )
                try:
                    client.execute()
                    status = "ok"
                except Exception as exc:  # report every notebook, then fail at the end
                    failures += 1
                    status = f"FAILED: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
                nbformat.write(notebook, output / path.name)
                html, _ = HTMLExporter().from_notebook_node(_without_widget_state(notebook))
                (output / path.with_suffix(".html").name).write_text(html, encoding="utf-8")
                print(f"{path.name}: {status} ({time.monotonic() - started:.1f} s)")
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    print(f"Executed notebooks and HTML exports are in {output}")
    return 1 if failures else 0


def _without_widget_state(notebook: Any) -> Any:
    """A copy whose export uses the widgets' static HTML: the live renderer loads from an online CDN,
    so without state nbconvert falls back to each output's text/html, which works offline."""
    import copy

    stripped = copy.deepcopy(notebook)
    stripped.metadata.pop("widgets", None)
    return stripped


def run(args: argparse.Namespace) -> int:
    if args.headless:
        return run_headless(args)
    bindir = str(Path(sys.executable).parent)
    missing = [tool for tool in ("jupyter", "voila") if shutil.which(tool, path=bindir) is None]
    if missing:
        raise SystemExit(
            f"Missing {', '.join(missing)}: install the demo extra: pip install 'qamera-widgets[demo]'"
        )
    return run_interactive(args)


def _credits(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def add_parser(commands: Any) -> None:
    summary = "run the studio notebook in JupyterLab against the sandbox"
    parser = subcommand(commands, "demo", summary, __doc__)
    parser.add_argument("--voila", action="store_true", help="serve the teaching notebook with Voilà")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser (remote machines)")
    parser.add_argument("--headless", action="store_true", help="execute all notebooks with nbclient")
    parser.add_argument("--output", default="demo-output", help="folder for --headless results")
    parser.add_argument("--timeout", type=int, default=300, help="per-cell timeout for --headless, seconds")
    parser.add_argument("--port", type=int, default=0, help="port for JupyterLab/Voilà (default: a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to serve on (default: loopback)")
    parser.add_argument(
        "--workdir",
        default=None,
        help=(
            f"folder for the served copies of the notebooks (default: {WORKDIR_NAME}/ in a clone, "
            f"./{INSTALLED_WORKDIR_NAME}/ otherwise)"
        ),
    )
    parser.add_argument("--credits", type=int, default=5000, help="starting credits of the sandbox account")
    parser.add_argument(
        "--budget",
        type=_credits,
        default=None,
        metavar="CREDITS",
        help=f"credits each notebook's kernel may reserve (sets {BUDGET_ENV}; default: no limit)",
    )
    parser.set_defaults(run=run)


def run_copy(args: argparse.Namespace) -> int:
    target = Path(args.directory).resolve()
    copied, kept = copy_notebooks(target, force=args.force)
    for path in copied:
        print(f"copied {path}")
    for path in kept:
        print(f"kept {path} (already there; --force replaces it)")
    print(f"{len(copied)} notebooks copied to {target}" + (f", {len(kept)} kept" if kept else ""))
    return 0


def add_notebooks_parser(commands: Any) -> None:
    parser = subcommand(
        commands,
        "notebooks",
        "copy the example notebooks (Jupyter and marimo) into a folder",
        "Copy the example notebooks shipped with the package into DIRECTORY, to open them in "
        "your own JupyterLab, Voilà or marimo. Files already there are kept unless --force.",
    )
    parser.add_argument("directory", metavar="DIRECTORY", help="where to copy them (created if missing)")
    parser.add_argument("--force", action="store_true", help="replace notebooks already in DIRECTORY")
    parser.set_defaults(run=run_copy)
