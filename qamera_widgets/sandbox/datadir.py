"""One sandbox per data folder: an advisory lock held for the sandbox's lifetime."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; one sandbox per folder is then up to the user
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_FILE", "DataDirLock", "SandboxDataError"]

LOCK_FILE = "sandbox.lock"


class SandboxDataError(RuntimeError):
    """The data folder cannot be used as it is (in use by another sandbox, corrupt, empty, foreign);
    the message names the file and what to do."""


class DataDirLock:
    """An exclusive hold on a data folder for this sandbox's lifetime, so a second sandbox cannot start on
    it and requeue the first one's in-flight items. The lock file records the holder's pid for the message
    the second one prints; the kernel releases the lock when the process dies, however it dies."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / LOCK_FILE
        self._handle: IO[str] | None = None
        if fcntl is None:
            return
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 (held until release())
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            raise SandboxDataError(
                f"The data folder {directory} is in use by another sandbox (process {holder}); stop that "
                "one first, or pass another data folder (--data-dir)."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.close()  # closing the only descriptor releases the flock
