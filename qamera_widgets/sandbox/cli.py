"""`qamera-widgets sandbox`: run the sandbox in the foreground until Ctrl+C or SIGTERM."""

from __future__ import annotations

import argparse
import csv
import logging
import os
import shlex
import signal
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from ..contract import key_id_of

DEFAULT_HOST = "127.0.0.1"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "sandbox",
        help="run a local Qamera-compatible server (API + CDN) in the foreground",
        description="Run a local Qamera-compatible server: the sceneries API on one port, thumbnails on a "
        "separate CDN port. Prints the URLs, the API key(s) and the admin token. Ctrl+C stops it.",
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help="address to bind (default: %(default)s; "
        "anything but loopback exposes the sandbox to your network)",
    )
    parser.add_argument("--port", type=int, default=0, help="API port (default: a free one)")
    parser.add_argument("--cdn-port", type=int, default=0, help="CDN port (default: a free one)")
    parser.add_argument(
        "--credits", type=int, default=1000, help="credits per account (default: %(default)s)"
    )
    parser.add_argument(
        "--keys",
        type=int,
        default=1,
        metavar="N",
        help="issue N keys, each with its own account (default: %(default)s)",
    )
    parser.add_argument(
        "--class-list",
        default=None,
        metavar="PATH",
        help="write the keys to this CSV (student, key_id, api_key, credits; readable by you alone) "
        "instead of printing them: one key per student with --keys 30",
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        help="keep the state here across restarts (default: a temporary directory)",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed for processing times and failures")
    parser.add_argument(
        "--failure-rate",
        type=float,
        default=0.1,
        help="share of generated items that fail (default: %(default)s)",
    )
    add_processing_range(parser, "--processing-seconds", (1.0, 4.0))
    parser.add_argument("--cdn-latency-ms", type=float, default=0, help="extra delay per thumbnail request")
    parser.add_argument(
        "--library",
        type=int,
        default=12,
        metavar="N",
        help="ready sceneries per account at start (default: %(default)s)",
    )
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=60,
        help="requests per minute per key, 0 turns it off (default: %(default)s)",
    )
    parser.set_defaults(run=run)
    return parser


def add_processing_range(parser: argparse.ArgumentParser, flag: str, default: tuple[float, float]) -> None:
    """The MIN MAX seconds an item takes in the sandbox, for every command that starts one (the sandbox
    itself, the class benchmark), so each says it the same way."""
    parser.add_argument(
        flag,
        type=float,
        nargs=2,
        default=default,
        metavar=("MIN", "MAX"),
        help=f"seconds each item takes in the sandbox (default: {default[0]:g} {default[1]:g})",
    )


def write_class_list(path: str | Path, api_keys: Sequence[str], credits: int) -> Path:
    """One row per student with their key, in a file only its owner can read.

    The file is born with mode 600 (a temporary file in the same folder, then renamed over `path`), so
    no other user can open it even for a moment, and an older list in its place is replaced whole.
    """
    target = Path(path).expanduser().resolve()
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as out:
            rows = csv.writer(out)
            rows.writerow(["student", "key_id", "api_key", "credits"])
            for student, key in enumerate(api_keys, start=1):
                rows.writerow([student, key_id_of(key) or "", key, credits])
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def curl_examples(base_url: str, api_key: str | None) -> list[str]:
    """The contract's two calls as shell commands, quoted so they paste as they are.

    Without a key they read it from `$QAMERA_API_KEY`, so a class's keys stay in the class list.
    """
    key_header = shlex.quote(f"X-Api-Key: {api_key}") if api_key else '"X-Api-Key: $QAMERA_API_KEY"'
    body = shlex.quote('{"preferences": "white marble studio, soft light", "count": 2}')
    return [
        f"curl -sS -H {key_header} {shlex.quote(base_url + '/api/external/sceneries')}",
        f"curl -sS -X POST -H {key_header} -H 'Content-Type: application/json' -d {body} "
        f"{shlex.quote(base_url + '/api/external/sceneries/register-ideas')}",
    ]


def run(args: argparse.Namespace) -> int:
    from .datadir import SandboxDataError
    from .server import is_loopback, start

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    try:
        sandbox = start(
            credits=args.credits,
            seed=args.seed,
            keys=args.keys,
            data_dir=args.data_dir,
            host=args.host,
            port=args.port,
            cdn_port=args.cdn_port,
            failure_rate=args.failure_rate,
            processing_seconds=(args.processing_seconds[0], args.processing_seconds[1]),
            cdn_latency_ms=args.cdn_latency_ms,
            library=args.library,
            rate_limit=args.rate_limit,
        )
    except (ValueError, OSError, SandboxDataError) as exc:
        print(f"qamera-widgets sandbox: {exc}", file=sys.stderr)
        return 2
    try:
        class_list = (
            None
            if args.class_list is None
            else write_class_list(args.class_list, sandbox.api_keys, args.credits)
        )
    except OSError as exc:
        sandbox.stop()
        print(f"qamera-widgets sandbox: cannot write the class list: {exc}", file=sys.stderr)
        return 2

    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        lines = [
            "Qamera sandbox is running. Ctrl+C stops it.",
            f"  API:         {sandbox.base_url}",
            f"  CDN:         {sandbox.cdn_url}",
        ]
        if class_list is None:
            lines += [f"  API key:     {key}" for key in sandbox.api_keys]
        else:
            lines.append(f"  Class list:  {class_list} ({len(sandbox.api_keys)} keys, readable by you alone)")
        lines += [
            f"  Admin token: {sandbox.admin_token}",
            f"  Data dir:    {sandbox.data_dir}",
        ]
        if not is_loopback(args.host):
            lines.append(f"  Warning: bound to {args.host}; anyone who can reach it can use these keys.")
        example_key = sandbox.api_key if class_list is None else None
        try_it = "Try it:" if class_list is None else "Try it (QAMERA_API_KEY set to a key from the list):"
        lines += [
            "",
            try_it,
            *(f"  {line}" for line in curl_examples(sandbox.base_url, example_key)),
            "",
        ]
        print("\n".join(lines), flush=True)
        while not stop_requested.wait(0.5):
            pass
        print("Stopping the sandbox...", flush=True)
    finally:
        sandbox.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("Sandbox stopped.", flush=True)
    return 0
