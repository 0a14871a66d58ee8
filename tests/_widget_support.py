"""Helpers shared by the widget tests: fast clients, model counts, the comm boundary and the key check."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as widgets

from qamera_widgets.client import AsyncQameraClient
from qamera_widgets.widgets.basics import descendants


async def quick_sleep(seconds: float) -> None:
    """The client's retry backoff, shortened: tests check what is retried, not how long it waits."""
    await asyncio.sleep(min(seconds, 0.02))


def fast_client(sandbox: Any, api_key: str | None = None, **options: Any) -> AsyncQameraClient:
    options.setdefault("rate_limit_per_minute", None)
    options.setdefault("sleep", quick_sleep)
    return AsyncQameraClient(api_key or sandbox.api_key, sandbox.base_url, **options)


def tree(root: widgets.Widget) -> list[widgets.Widget]:
    """Every widget model a browser receives for `root`: itself, its children and their layouts."""
    return [root, *descendants(root)]


def states_json(root: widgets.Widget) -> str:
    """Everything the browser would receive for this tree, as one string to search."""
    states = [w.get_state() for w in tree(root)]
    return json.dumps(states, default=lambda value: f"<{type(value).__name__}>")


def assert_key_absent(root: widgets.Widget, api_key: str, *also: str) -> None:
    secret = api_key.split(".", 1)[1]
    text = states_json(root) + "".join(also)
    assert api_key not in text
    assert secret not in text


@dataclass
class Wire:
    """What one widget's comm carried to the browser: state updates and custom messages, with buffers."""

    sent: list[tuple[dict[str, Any], list[bytes]]] = field(default_factory=list)

    def messages(self, kind: str | None = None) -> list[tuple[dict[str, Any], list[bytes]]]:
        """Custom messages (``widget.send``), optionally only those of one kind."""
        return [
            (data["content"], buffers)
            for data, buffers in self.sent
            if data.get("method") == "custom" and (kind is None or data["content"].get("kind") == kind)
        ]

    def updates(self) -> list[dict[str, Any]]:
        """Trait values synced to the browser, one dict per update message."""
        return [data["state"] for data, _ in self.sent if data.get("method") == "update"]

    def size(self) -> int:
        """Bytes on the wire: the JSON of every message plus its binary buffers."""
        return sum(len(json.dumps(data)) + sum(len(b) for b in buffers) for data, buffers in self.sent)

    def clear(self) -> None:
        self.sent.clear()


def wire(widget: widgets.Widget) -> Wire:
    """Record what `widget` sends over its comm from now on (the boundary a browser sees)."""
    record = Wire()

    def send(data: Any = None, metadata: Any = None, buffers: Sequence[Any] | None = None) -> None:
        record.sent.append((data, [bytes(b) for b in buffers or ()]))

    widget.comm.send = send
    return record


def from_browser(widget: widgets.Widget, content: Mapping[str, Any], buffers: Sequence[bytes] = ()) -> None:
    """Deliver `content` as the comm does when the view calls ``model.send(content)``."""
    widget._handle_msg(
        {"content": {"data": {"method": "custom", "content": dict(content)}}, "buffers": list(buffers)}
    )


def displayed(widget: widgets.Widget) -> dict[str, Any]:
    """What a notebook stores for ``display(widget)``: the MIME bundle, through IPython's formatter."""
    from IPython.core.formatters import DisplayFormatter

    data: dict[str, Any]
    data, _metadata = DisplayFormatter().format(widget)
    return data


def live_models() -> int:
    """Widget models alive in this process (ipywidgets' global registry)."""
    from ipywidgets.widgets.widget import _instances

    return len(_instances)


async def settled(before: set[asyncio.Task[Any]], timeout: float = 15.0) -> None:
    """Until every task started since `before` was taken has ended (widgets' background work)."""
    me = asyncio.current_task()
    await eventually(
        lambda: all(t.done() for t in asyncio.all_tasks() - before if t is not me), timeout=timeout
    )


async def eventually(condition: Callable[[], bool], timeout: float = 10.0, step: float = 0.02) -> None:
    """Wait for something a background task will do; fail with a clear message if it never happens."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"condition still false after {timeout} s")
        await asyncio.sleep(step)


def browser_sets(widget: widgets.Widget, **state: Any) -> None:
    """Deliver a trait update as the comm does when the view calls ``model.set(...); save_changes()``."""
    widget._handle_msg(
        {"content": {"data": {"method": "update", "state": state, "buffer_paths": []}}, "buffers": []}
    )
