"""The `qamera-widgets` command: `sandbox` runs the local server, `demo` runs the notebooks on it,
`notebooks` copies them out, `store` says what the local store holds (and prunes the picture cache, exports
the jobs)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qamera-widgets", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from .sandbox import cli as sandbox_cli

    sandbox_cli.add_parser(commands)
    from . import demo

    demo.add_parser(commands)
    _add_store_parser(commands)
    demo.add_notebooks_parser(commands)
    return parser


def subcommand(commands: Any, name: str, summary: str, description: str | None) -> argparse.ArgumentParser:
    """One `qamera-widgets NAME`: its summary in the list of commands, its description under `--help`."""
    parser: argparse.ArgumentParser = commands.add_parser(name, help=summary, description=description)
    return parser


def _add_store_parser(commands: Any) -> None:
    parser = subcommand(
        commands,
        "store",
        "where the local store is, its size, its jobs, marks and cached pictures",
        "The local store (QAMERA_WIDGETS_HOME, else the platform's data folder): jobs and marks "
        "in store.sqlite3, pictures in pictures/ (deletable at any time).",
    )
    parser.add_argument(
        "--home", default=None, help="the store folder (default: QAMERA_WIDGETS_HOME or the data dir)"
    )
    parser.add_argument("--prune-cache", action="store_true", help="drop every cached picture")
    parser.add_argument("--export", metavar="JOBS.CSV", default=None, help="write every job to this CSV file")
    parser.set_defaults(run=_run_store)


def _run_store(args: argparse.Namespace) -> int:
    from .engine.data_folder import describe, export_jobs
    from .engine.pictures.disk_cache import picture_cache
    from .engine.store import open_store

    store = open_store(args.home)
    pictures = picture_cache(store.folder / "pictures")
    if args.prune_cache:
        print(f"Dropped {pictures.prune()} cached pictures from {pictures.folder}.")
    if args.export:
        target = Path(args.export)
        try:
            with open(target, "w", newline="", encoding="utf-8") as out:
                rows = export_jobs(store, out)
        except OSError as exc:
            print(f"Cannot write {target}: {exc.strerror or exc}. Choose another file.", file=sys.stderr)
            return 1
        print(f"Wrote {rows} jobs to {target}.")
    for line in describe(store, pictures):
        print(line)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
