"""Small pieces every widget needs: the async client behind any client, HTML escaping, user callbacks,
background tasks, the tree of models a widget owns, and the static HTML beside a live view."""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from ..client import AsyncQameraClient, QameraClient

logger = logging.getLogger("qamera_widgets.widgets")

AnyClient = AsyncQameraClient | QameraClient


def as_async_client(client: AnyClient) -> AsyncQameraClient:
    """Widgets run on the kernel's loop, so they always talk through the async client."""
    if isinstance(client, QameraClient):
        return client.async_client
    if isinstance(client, AsyncQameraClient):
        return client
    raise TypeError(f"Expected an AsyncQameraClient or QameraClient, got {type(client).__name__}.")


def escape(text: object) -> str:
    """HTML-escape any server string before it reaches an HTML widget."""
    return html.escape("" if text is None else str(text), quote=True)


class Callbacks:
    """User callbacks of one kind: registered once each, called in order, a failing one logged (a view's
    callbacks often run in a background task, where a traceback would land in whichever cell ran last)."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._callbacks: list[Callable[..., Any]] = []

    def register(self, callback: Callable[..., Any], remove: bool = False) -> None:
        if remove:
            if callback in self._callbacks:
                self._callbacks.remove(callback)
        elif callback not in self._callbacks:
            self._callbacks.append(callback)

    def __call__(self, *args: Any) -> None:
        for callback in list(self._callbacks):
            try:
                callback(*args)
            except Exception:
                logger.exception("an %s callback failed", self._what)

    def __bool__(self) -> bool:
        return bool(self._callbacks)

    def clear(self) -> None:
        self._callbacks.clear()


class TaskSet:
    """Background tasks owned by one widget: strong references, errors logged, all cancelled on close."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str | None = None) -> asyncio.Task[Any] | None:
        """Start `coro` on the running loop; None (and the coroutine closed) when no loop runs.

        A loop that is set but not running would hold the task forever, so it is never used.
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            coro.close()
            return None
        task = loop.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("background task %s failed", task.get_name(), exc_info=task.exception())

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()

    def __len__(self) -> int:
        return len(self._tasks)


def loop_running() -> bool:
    """Whether this code runs inside an event loop (a notebook cell, a task) and can spawn tasks."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def descendants(root: Any) -> list[Any]:
    """Every widget below `root` (children, and the layout and style models each one owns), so
    `close()` can close a whole tree and tests can inspect every model a browser would receive."""
    found: list[Any] = []
    seen = {id(root)}
    stack: list[Any] = [getattr(root, name, None) for name in ("layout", "style")]
    stack.extend(getattr(root, "children", ()))
    while stack:
        widget = stack.pop()
        if widget is None or id(widget) in seen or not hasattr(widget, "comm"):
            continue
        seen.add(id(widget))
        found.append(widget)
        stack.extend(getattr(widget, name, None) for name in ("layout", "style"))
        stack.extend(getattr(widget, "children", ()))
    return found


def with_static_html(bundle: Any, html: str) -> Any:
    """A widget's mimebundle with `html` beside the live view, for exported notebooks and viewers without a
    widget renderer (anywidget answers `(data, metadata)`, ipywidgets one dict; None stays None)."""
    if bundle is None:
        return None
    if isinstance(bundle, tuple):
        data, metadata = bundle
        return {**data, "text/html": html}, metadata
    return {**bundle, "text/html": html}
