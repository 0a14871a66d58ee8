"""Helpers shared by the form, board and studio tests: fast clients, tree walks and the key check."""

from __future__ import annotations

import asyncio
import html
import json
import re
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from qamera_widgets.client import AsyncQameraClient
from qamera_widgets.widgets._common import descendants


async def quick_sleep(seconds: float) -> None:
    """The client's retry backoff, shortened: tests check what is retried, not how long it waits."""
    await asyncio.sleep(min(seconds, 0.02))


def fast_client(sandbox: Any, api_key: str | None = None, **options: Any) -> AsyncQameraClient:
    options.setdefault("rate_limit_per_minute", None)
    options.setdefault("sleep", quick_sleep)
    return AsyncQameraClient(api_key or sandbox.api_key, sandbox.base_url, **options)


def tree(root: widgets.Widget) -> list[widgets.Widget]:
    return [root, *descendants(root)]


def states_json(root: widgets.Widget) -> str:
    """Everything the browser would receive for this tree, as one string to search."""
    states = [w.get_state() for w in tree(root)]
    return json.dumps(states, default=lambda value: f"<{type(value).__name__}>")


def assert_key_absent(root: widgets.Widget, api_key: str) -> None:
    secret = api_key.split(".", 1)[1]
    text = states_json(root)
    assert api_key not in text
    assert secret not in text


def html_text(widget: widgets.HTML) -> str:
    """An HTML widget's text without tags, for asserting on the sentence a person reads."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", widget.value)).split())


async def eventually(condition: Callable[[], bool], timeout: float = 10.0, step: float = 0.02) -> None:
    """Wait for something a background task will do; fail with a clear message if it never happens."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"condition still false after {timeout} s")
        await asyncio.sleep(step)
