"""Which event loop a thing belongs to, decided in one place.

Connection pools, tasks, semaphores and futures belong to the loop they were made on, and a notebook
meets several loops: the kernel's, a fresh one per `asyncio.run` cell, the sync client's private ones
in worker threads. The client's pools, the thumbnail loader, the job tracker and the sync client all
follow the same three rules, written here once:

- a coroutine started from plain code runs on the running loop (made re-entrant) or on an idle loop;
- what belongs to a closed loop is rebuilt, never awaited: its sockets and tasks died with it;
- what belongs to a live loop is closed on that loop: awaited when it is this one, scheduled there when
  it runs in another thread, and dropped when it is idle elsewhere (nothing can run it from here).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AbstractContextManager
from typing import Any, Generic, TypeVar

__all__ = [
    "PerLoop",
    "allow_nesting",
    "block_on",
    "cancel_on_its_loop",
    "close_on_its_loop",
    "running_loop",
    "wait_for_tasks",
]

T = TypeVar("T")
Closing = Callable[[], Coroutine[Any, Any, None]]
LoopLender = Callable[[], AbstractContextManager[asyncio.AbstractEventLoop]]

_nested: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()
"""Loops made re-entrant here. Process-wide because a loop is: whichever client meets the kernel's loop
first patches it, and the others must not patch it again."""


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The loop running in this thread, or None in plain code."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


_nesting_lock = threading.Lock()
_nesting_classes: dict[type[asyncio.AbstractEventLoop], type[asyncio.AbstractEventLoop]] = {}
"""For each loop class met, its re-entrant subclass: patched once, when its first loop is this thread's."""


def allow_nesting(loop: asyncio.AbstractEventLoop) -> None:
    """Let a cell block on a coroutine while the kernel's loop keeps running its other tasks.

    Only `loop` changes, never its class or asyncio: `nest_asyncio2.apply` patches the loop's *class*
    (so every loop of every thread) and asyncio's Task, Future, `run` and policy for the whole process, and
    a loop running in another thread could enter the new `_run_once` before the closure it reads was set:
    that loop lost the handle it had taken (a NameError on `curr_tasks`), and a task whose step was lost
    never ends, so the thread waited in `select()` forever. Here `loop` becomes an instance of a subclass
    patched by nest_asyncio2's `_patch_loop` while `loop` (running in this thread, inside the caller) is
    its only instance, under a lock so two threads never patch at once. Applied lazily, never at import.
    """
    with _nesting_lock:
        if loop in _nested:
            return
        if getattr(loop, "_nest_patched", False):  # re-entrant already (nest_asyncio2 applied by the user)
            _nested.add(loop)
            return
        import nest_asyncio2  # type: ignore[import-untyped]

        base = type(loop)
        if not isinstance(loop, asyncio.BaseEventLoop):
            raise ValueError(f"Cannot make a {base.__name__} re-entrant: only asyncio's own loops can be.")
        nesting = _nesting_classes.get(base)
        loop.__class__ = nesting or type(f"Reentrant{base.__name__}", (base,), {"__module__": __name__})
        if nesting is None:
            nest_asyncio2._patch_loop(loop)  # the new class, while its one instance runs here
            _nesting_classes[base] = type(loop)
        _nested.add(loop)


def block_on(coro: Awaitable[T], idle_loop: LoopLender) -> T:
    """Run `coro` to its end from synchronous code: on the running loop, made re-entrant, when called
    from inside one (a notebook cell); otherwise on a loop that `idle_loop` lends for the call."""
    running = running_loop()
    if running is not None:
        allow_nesting(running)
        return running.run_until_complete(coro)
    with idle_loop() as loop:
        return loop.run_until_complete(coro)


async def close_on_its_loop(loop: asyncio.AbstractEventLoop, close: Closing) -> None:
    """Close what belongs to `loop`: awaited here when `loop` is this one, scheduled on `loop` when it runs
    in another thread; dropped when `loop` is closed or idle elsewhere."""
    if loop is running_loop():
        await close()
    elif loop.is_running() and not loop.is_closed():
        with contextlib.suppress(RuntimeError):  # closed between the check and the call
            asyncio.run_coroutine_threadsafe(close(), loop)


def cancel_on_its_loop(task: asyncio.Task[Any]) -> bool:
    """Cancel `task` from any thread. True when it belongs to the running loop, so the caller may await
    its end; a task of another live loop is cancelled there, one of a closed loop is left alone."""
    loop = task.get_loop()
    if task.done() or loop.is_closed():
        return False
    if loop is running_loop():
        task.cancel()
        return True
    with contextlib.suppress(RuntimeError):  # closed between the check and the call
        loop.call_soon_threadsafe(task.cancel)
    return False


class PerLoop(Generic[T]):
    """One `T` per event loop, made by `make` on first use on that loop.

    One whose loop has closed, or that `is_spent` says can no longer serve, is replaced and never awaited;
    `aclose` closes each of the others on its own loop. Safe to use from several threads.
    """

    def __init__(
        self,
        make: Callable[[], T],
        close: Callable[[T], Coroutine[Any, Any, None]],
        is_spent: Callable[[T], bool] = lambda _: False,
    ) -> None:
        self._make = make
        self._close = close
        self._is_spent = is_spent
        self._items: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def get(self) -> T:
        """The running loop's `T`, made now if it has none (or a spent one)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            item = self._items.get(loop)
            if item is None or self._is_spent(item):
                for dead in [other for other in self._items if other.is_closed()]:
                    del self._items[dead]
                item = self._items[loop] = self._make()
            return item

    async def aclose(self) -> None:
        """Close every `T`, each on its own loop (see `close_on_its_loop`); later use makes fresh ones."""
        with self._lock:
            items = list(self._items.items())
            self._items.clear()
        for loop, item in items:
            await close_on_its_loop(loop, functools.partial(self._close, item))

    async def aclose_here(self) -> None:
        """Close only the running loop's `T`: for a loop about to be closed by its owner."""
        with self._lock:
            item = self._items.pop(asyncio.get_running_loop(), None)
        if item is not None:
            await self._close(item)


async def wait_for_tasks(tasks: set[asyncio.Task[Any]]) -> None:
    """Until every task in the set (which may gain tasks meanwhile) is done, except the caller itself."""
    me = asyncio.current_task()
    while True:
        pending = {t for t in tasks if t is not me and not t.done()}
        if not pending:
            return
        await asyncio.wait(pending)
