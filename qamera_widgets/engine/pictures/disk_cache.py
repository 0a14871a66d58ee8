"""Thumbnails and large previews kept on disk, so a restarted kernel paints its pictures without the CDN.

`diskcache` keeps them: a SQLite-backed cache that several processes may use at once, bounded in bytes
with least-recently-used eviction, in its own folder (`<store folder>/pictures/`) that can be deleted at any
time. (Chosen over a hand-written table in the store: it already does the byte bound, the LRU bookkeeping
and the culling across processes, is pure Python on the standard library's sqlite3, and is widely used;
the store's own file stays small and holds only what must never be lost.)

Only finished pictures are written, never a placeholder: a URL that served a failure is fetched again
next time. Entries live in the database itself (never as loose files) and are read back only as raw
bytes, so a tampered cache folder can neither unpickle anything nor point the cache at other files.
Any trouble with the cache (a full disk, a read-only or deleted folder, a lock held too long) turns it
off for this process with one log line: pictures are then simply downloaded as before.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from ...runtime.registry import ProcessWide
from ..store import default_home

__all__ = ["CACHE_MB_ENV", "DEFAULT_CACHE_MB", "CachedPicture", "PictureCache", "picture_cache"]

logger = logging.getLogger(__name__)

CACHE_MB_ENV = "QAMERA_CACHE_MB"
DEFAULT_CACHE_MB = 500
CACHE_FOLDER = "pictures"
_LOCK_TIMEOUT = 2.0
"""Seconds a read or write waits for another kernel's lock before counting as a miss: never a stall."""
_FORMATS = ("jpeg", "webp", "png")

CachedPicture = tuple[bytes, str, int, int]
"""Encoded bytes, format, width, height."""
T = TypeVar("T")


def _diskcache() -> Any:
    """diskcache, imported on the cache's first use (on its thread) rather than with the widgets: a first
    gallery's import does not wait for it."""
    import diskcache  # type: ignore[import-untyped]

    return diskcache


@functools.cache
def _raw_only() -> type:
    """The `Disk` that keeps values only as bytes inside the database: nothing is unpickled and no file is
    opened or removed on the database's word, whatever a tampered cache holds."""
    diskcache = _diskcache()

    class _RawOnly(diskcache.Disk):  # type: ignore[misc,name-defined]
        def fetch(self, mode: int, filename: Any, value: Any, read: bool) -> Any:
            if mode != diskcache.core.MODE_RAW or not isinstance(value, (bytes, memoryview)):
                raise OSError("not a picture entry")  # diskcache reads this as a miss
            return bytes(value)

        def remove(self, file_path: Any) -> None:
            return None

    return _RawOnly


def cache_limit_bytes() -> int:
    """`QAMERA_CACHE_MB` megabytes (default 500); 0 turns the disk cache off."""
    raw = os.environ.get(CACHE_MB_ENV, "").strip()
    try:
        megabytes = float(raw) if raw else float(DEFAULT_CACHE_MB)
    except ValueError:
        logger.warning("%s=%r is not a number of megabytes; using %d", CACHE_MB_ENV, raw, DEFAULT_CACHE_MB)
        megabytes = DEFAULT_CACHE_MB
    return max(0, int(megabytes * 2**20))


def picture_key(kind: str, url: str, size: int) -> str:
    """The entry's name: URL and size (and kind: a thumbnail's format, or a preview), hashed so signed CDN
    URLs are not written to disk."""
    return hashlib.sha256(f"{kind}|{size}|{url}".encode("utf-8", "surrogatepass")).hexdigest()


class PictureCache:
    """The disk cache in `folder` (default `<QAMERA_WIDGETS_HOME>/pictures`), at most `limit_bytes`."""

    def __init__(
        self, folder: str | os.PathLike[str] | None = None, *, limit_bytes: int | None = None
    ) -> None:
        self.folder = Path(folder) if folder is not None else default_home() / CACHE_FOLDER
        self.limit_bytes = cache_limit_bytes() if limit_bytes is None else max(0, limit_bytes)
        self._cache: Any = None  # a diskcache.Cache once opened
        self._off = self.limit_bytes == 0
        self._lock = threading.Lock()
        self._thread: ThreadPoolExecutor | None = None
        self._thread_lock = threading.Lock()  # not `_lock`, which the cache's thread holds while it opens
        self.hits = 0
        self.misses = 0

    def __repr__(self) -> str:
        return f"PictureCache({str(self.folder)!r}, limit_bytes={self.limit_bytes})"

    def in_thread(self, call: Callable[..., T], *args: Any) -> Future[T]:
        """`call(*args)` on this cache's own thread (``asyncio.wrap_future`` to await it); calls run one
        after another in the order given. One thread means one SQLite connection (diskcache keeps one per
        thread): a kernel's reads and writes never wait on each other's locks, where SQLite's busy handler
        sleeps, and the threads that decode pictures stay free for them."""
        with self._thread_lock:
            if self._thread is None:
                self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qamera-pictures")
            return self._thread.submit(call, *args)

    def open(self) -> bool:
        """Open the database now unless it is open (blocking: `in_thread`); False when the cache is off."""
        return self._open() is not None

    def _open(self) -> Any:
        with self._lock:
            if self._cache is None and not self._off:
                try:
                    self._cache = _diskcache().Cache(
                        str(self.folder),
                        timeout=_LOCK_TIMEOUT,
                        disk=_raw_only(),
                        size_limit=self.limit_bytes,
                        eviction_policy="least-recently-used",
                        disk_min_file_size=2**40,  # every value stays inside the database
                        cull_limit=10,
                    )
                except Exception as exc:  # a cache that cannot open only costs downloads
                    self._turn_off(exc)
            return self._cache

    def _turn_off(self, exc: BaseException) -> None:
        if not self._off:
            self._off = True
            logger.warning(
                "the picture cache in %s is off for this session (%s: %s); pictures are downloaded instead",
                self.folder,
                type(exc).__name__,
                exc,
            )

    def get(self, kind: str, url: str, size: int) -> CachedPicture | None:
        """The picture saved for `url` at `size`, or None (blocking: call it from a thread)."""
        cache = self._open()
        if cache is None:
            return None
        try:
            value = cache.get(picture_key(kind, url, size))
        except _diskcache().Timeout:
            value = None
        except Exception as exc:
            self._turn_off(exc)
            return None
        picture = _decoded(value)
        if picture is None:
            self.misses += 1
        else:
            self.hits += 1
        return picture

    def put(self, kind: str, url: str, size: int, data: bytes, fmt: str, width: int, height: int) -> None:
        """Save a finished picture (blocking: call it from a thread); never raises."""
        if fmt not in _FORMATS:
            raise ValueError(f"not a picture format: {fmt!r}")
        cache = self._open()
        if cache is None or len(data) > self.limit_bytes:
            return
        try:
            cache.set(picture_key(kind, url, size), f"{fmt}:{width}:{height}:".encode() + data)
        except _diskcache().Timeout:
            return
        except Exception as exc:
            self._turn_off(exc)

    def stats(self) -> dict[str, int]:
        """Entries and bytes on disk now (all kernels' pictures), with this process's hits and misses."""
        cache = self._open()
        if cache is None:
            return {"entries": 0, "bytes": 0, "hits": self.hits, "misses": self.misses}
        try:
            return {
                "entries": len(cache),
                "bytes": int(cache.volume()),
                "hits": self.hits,
                "misses": self.misses,
            }
        except Exception as exc:
            self._turn_off(exc)
            return {"entries": 0, "bytes": 0, "hits": self.hits, "misses": self.misses}

    def prune(self) -> int:
        """Drop every picture (other kernels then download again); returns how many were dropped."""
        cache = self._open()
        if cache is None:
            return 0
        try:
            return int(cache.clear(retry=True))
        except Exception as exc:
            self._turn_off(exc)
            return 0

    def close(self) -> None:
        """Finish the writes handed to `in_thread`, then close."""
        with self._thread_lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.shutdown(wait=True)
        with self._lock:
            if self._cache is not None:
                self._cache.close()
                self._cache = None


def _decoded(value: object) -> CachedPicture | None:
    if not isinstance(value, bytes):
        return None
    try:
        fmt, width, height, data = value.split(b":", 3)
        picture = (data, fmt.decode("ascii"), int(width), int(height))
    except ValueError:
        return None
    if picture[1] not in _FORMATS or not data or picture[2] <= 0 or picture[3] <= 0:
        return None
    return picture


_caches: ProcessWide[str, PictureCache] = ProcessWide(lambda folder: PictureCache(folder))
"""One cache per folder in this process: every loader (every widget) shares one connection and the off
switch, as they share the folder."""


def picture_cache(folder: str | os.PathLike[str] | None = None) -> PictureCache:
    """The process-wide picture cache for `folder` (default `<QAMERA_WIDGETS_HOME>/pictures`)."""
    base = Path(folder) if folder is not None else default_home() / CACHE_FOLDER
    return _caches[os.path.normcase(os.path.abspath(base))]


def forget_caches() -> None:
    """Close and forget every process-wide cache (tests that need a process as fresh as a new kernel)."""
    for cache in _caches.values():
        cache.close()
    _caches.clear()
