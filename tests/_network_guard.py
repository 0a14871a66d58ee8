"""The unit tests' socket guard: while it is on, connecting or binding any socket that is not a Unix socket
raises `NetworkInUnitTest` and is recorded, so a test that reaches a server fails even when the code under
test swallows the error. asyncio's self-pipe is a Unix socket pair and stays allowed."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class NetworkInUnitTest(RuntimeError):
    """Not an OSError: a client that retries connection errors must not take this for one."""


@contextmanager
def refusing_network() -> Iterator[list[str]]:
    """Yields the refused attempts (`"connect ('127.0.0.1', 9)"`); the socket methods come back after."""
    attempts: list[str] = []
    originals = {name: getattr(socket.socket, name) for name in ("connect", "connect_ex", "bind")}

    def refusing(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def guarded(self: socket.socket, address: Any, *args: Any) -> Any:
            if self.family == socket.AF_UNIX:
                return method(self, address, *args)
            attempts.append(f"{name} {address!r}")
            raise NetworkInUnitTest(
                f"a unit test tried to {name} a network socket ({address!r}): tests that need a server "
                "belong in tests/loopback (or tests/system)"
            )

        return guarded

    for name, method in originals.items():
        setattr(socket.socket, name, refusing(name, method))
    try:
        yield attempts
    finally:
        for name, method in originals.items():
            setattr(socket.socket, name, method)
