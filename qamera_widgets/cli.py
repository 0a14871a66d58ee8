"""The `qamera-widgets` command: `sandbox` runs the local server, `demo` runs the notebooks on it,
`notebooks` copies them out."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qamera-widgets", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from .sandbox import cli as sandbox_cli

    sandbox_cli.add_parser(commands)
    from . import demo

    demo.add_parser(commands)
    demo.add_notebooks_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
