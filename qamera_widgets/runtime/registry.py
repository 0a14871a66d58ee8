"""The one shape of process-wide state in the package: one value per key, made on first use.

Each registry is a module-level `ProcessWide` owned by the module that defines it, with a docstring
saying why the process, not an object, is the right scope (usually: several clients or widgets in one
kernel must share what the server or a file sees as one thing).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["ProcessWide"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ProcessWide(Generic[K, V]):
    """One `V` per key in this process, made by `make` on first use; safe from any thread."""

    def __init__(self, make: Callable[[K], V]) -> None:
        self._make = make
        self._values: dict[K, V] = {}
        self._lock = threading.Lock()

    def __getitem__(self, key: K) -> V:
        with self._lock:
            value = self._values.get(key)
            if value is None:
                value = self._values[key] = self._make(key)
            return value

    def values(self) -> list[V]:
        """Every value made so far (to close them before `clear`)."""
        with self._lock:
            return list(self._values.values())

    def clear(self) -> None:
        """Forget every value (tests that need a process as fresh as a new kernel)."""
        with self._lock:
            self._values.clear()
