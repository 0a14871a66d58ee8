"""Thumbnails for the gallery and status board: fetch from the CDN, shrink, cache, never raise.

The widgets only ever see a :class:`Thumbnail` (small encoded bytes plus a format string for
``ipywidgets.Image``); everything that can go wrong on the way (bad URL, slow or broken CDN,
huge or hostile file) turns into a generated placeholder tile instead of an exception in a cell.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from typing import Any

import httpx

from ...client.rules import ACCEPT_ENCODING
from ...client.transport import tls_context
from ...runtime.loops import PerLoop, wait_for_tasks
from .disk_cache import PictureCache, picture_cache
from .fetching import (
    Downloader,
    FetchFailed,
    Session,
    close_session,
    fetchable,
    forget_inflight,
    forget_original,
    guard_request,
    loggable,
)
from .imaging import (
    MAX_IMAGE_PIXELS,
    PLACEHOLDER_KINDS,
    PLACEHOLDER_LABELS,
    Thumbnail,
    ThumbnailError,
    check_format,
    check_size,
    make_preview,
    make_thumbnail,
    open_web_image,
    prepare_decoding,
    render_placeholder,
    sniff_web_format,
)

__all__ = [
    "ThumbnailLoader",
]

logger = logging.getLogger(__name__)

_MAX_REMEMBERED_FAILURES = 1024


class _Default:
    """The `pictures` default: the process-wide disk cache of the current store folder, found on first use."""


DEFAULT_PICTURES = _Default()


class ThumbnailLoader:
    """Loads thumbnails concurrently with a byte-bounded LRU cache and one download per URL and size.

    The httpx client, semaphores and in-flight tasks belong to one event loop; they are made lazily per
    loop (`runtime.loops.PerLoop`: rebuilt when their loop has closed, closed on their own loop), while the
    cache of encoded bytes serves every loop (a notebook re-running ``asyncio.run`` cells).

    Options: ``max_concurrency`` downloads at once (prefetches take at most half); ``size`` the default
    square side in pixels; ``cache_bytes`` the LRU cache's budget of encoded bytes; ``timeout`` seconds
    per download attempt; ``max_bytes`` the largest body read; ``retries`` extra attempts after a
    timeout, a network error or a 5xx, waiting the package's backoff from ``retry_backoff`` seconds;
    ``output_format`` jpeg, webp or png; ``transport`` an httpx transport (tests); ``failure_ttl`` how
    long a failed URL shows "failed" before it is tried again; ``clock`` and ``sleep`` injectable time;
    ``pixel_budget`` source pixels decoded at once across all downloads; ``pictures`` the disk cache that
    keeps finished thumbnails and previews across kernel restarts (default: the store folder's, see
    `engine.pictures.disk_cache`; None for memory only).
    """

    def __init__(
        self,
        *,
        max_concurrency: int = 8,
        size: int = 176,
        cache_bytes: int = 64 * 2**20,
        timeout: float = 10.0,
        max_bytes: int = 10 * 2**20,
        retries: int = 2,
        output_format: str = "jpeg",
        transport: httpx.AsyncBaseTransport | None = None,
        retry_backoff: float = 0.25,
        failure_ttl: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        pixel_budget: int = MAX_IMAGE_PIXELS,
        pictures: PictureCache | _Default | None = DEFAULT_PICTURES,
    ) -> None:
        if pixel_budget < 1:
            raise ValueError("pixel_budget must be at least 1")
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        if retries < 0 or cache_bytes < 0 or max_bytes < 1 or timeout <= 0:
            raise ValueError("retries and cache_bytes must be >= 0, max_bytes >= 1 and timeout > 0")
        self._max_concurrency = max_concurrency
        self._size = check_size(size)
        self._cache_limit = cache_bytes
        self._timeout = timeout
        self._format = check_format(output_format)
        self._transport = transport
        self._failure_ttl = failure_ttl
        self._clock = clock
        self._downloader = Downloader(
            timeout=timeout, max_bytes=max_bytes, retries=retries, retry_backoff=retry_backoff, sleep=sleep
        )
        # Source pixels being decoded at once, across all downloads: eight 49-megapixel PNGs of 190 KB
        # each must queue, not take gigabytes together. One image over the budget still decodes, alone.
        self._pixel_budget = pixel_budget

        self._cache: OrderedDict[tuple[str, int], Thumbnail] = OrderedDict()
        self._cache_used = 0
        self._placeholders: dict[tuple[str, int], Thumbnail] = {}
        self._failed_until: dict[tuple[str, int], float] = {}

        self._sessions: PerLoop[Session] = PerLoop(self._new_session, close_session)
        self._pictures = pictures
        self._disk_hits = 0

        self._downloads = 0
        self._cache_hits = 0
        self._bytes_out = 0
        self._failures = 0

    @property
    def stats(self) -> dict[str, int]:
        """Counters for benchmarks and the status board.

        ``downloads``: images downloaded and made into thumbnails; ``requests``: GETs sent, retries
        included;
        ``bytes_downloaded``: body bytes read, aborted ones included; ``bytes_out``: encoded bytes
        of the thumbnails made from downloads; ``failures``: loads that ended as "failed".
        """
        return {
            "downloads": self._downloads,
            "requests": self._downloader.requests,
            "cache_hits": self._cache_hits,
            "disk_hits": self._disk_hits,
            "bytes_downloaded": self._downloader.bytes_downloaded,
            "bytes_out": self._bytes_out,
            "cache_bytes_used": self._cache_used,
            "cache_entries": len(self._cache),
            "failures": self._failures,
        }

    def placeholder(self, kind: str, *, size: int | None = None) -> Thumbnail:
        """A neutral tile with ``kind`` written on it, rendered once per kind and size."""
        if kind not in PLACEHOLDER_LABELS:
            raise ValueError(f"placeholder kind must be one of {PLACEHOLDER_KINDS}, got {kind!r}")
        px = self._size if size is None else check_size(size)
        key = (kind, px)
        tile = self._placeholders.get(key)
        if tile is None:
            tile = self._placeholders[key] = render_placeholder(kind, px)
        return tile

    async def load(self, url: str | None, *, size: int | None = None) -> Thumbnail:
        """The thumbnail for ``url``, or a placeholder tile; never raises for network or image trouble.

        ``source_bytes`` is non-zero only for the call that caused the download, so summing it over
        cards counts network bytes once.
        """
        px = self._size if size is None else check_size(size)
        if not url:
            return self.placeholder("no preview", size=px)
        if not fetchable(url):
            self._failures += 1
            return self.placeholder("failed", size=px)
        key = (url, px)
        cached = self._cache_get(key)
        if cached is not None:
            return cached
        if self._recently_failed(key):
            return self.placeholder("failed", size=px)

        session = self._sessions.get()
        task = session.inflight.get(key)
        joined = task is not None
        if task is None:
            task = asyncio.get_running_loop().create_task(self._produce(session, url, px))
            session.inflight[key] = task
            task.add_done_callback(lambda done: forget_inflight(session, key, done))
        # Shielded so one card cancelling (page change) does not cancel the shared download.
        thumb = await asyncio.shield(task)
        if joined and thumb.source_bytes:
            return replace(thumb, source_bytes=0)
        return thumb

    async def preview(self, url: str, *, max_px: int = 1600) -> Thumbnail:
        """The picture at ``url`` fitted into ``max_px`` for a large view (cached); a "failed" tile
        on trouble.

        Same guards as thumbnails: http(s) only, no credentials, the byte cap, web formats only.
        """
        if not fetchable(url):
            return self.placeholder("failed")
        key = (url, -max_px)
        cached = self._cache_get(key)
        if cached is not None:
            return cached
        kept = await self._disk_get("preview", url, max_px)
        if kept is not None:
            self._cache_put(key, kept)
            return kept
        session = self._sessions.get()
        big = await self._fetched(
            session, url, "preview", lambda body: self._within_budget(session, body, make_preview, max_px)
        )
        if big is None:
            return self.placeholder("failed")
        self._cache_put(key, big)
        self._disk_put("preview", url, max_px, big)
        return big

    async def original(self, url: str) -> tuple[bytes, str] | None:
        """The original file at ``url`` and its format, or None when it cannot be fetched or is not a
        web picture; for downloads of a selection, so it is not cached."""
        if not fetchable(url):
            return None
        session = self._sessions.get()
        # Downloads of the same picture at once (two pages' zips, a double click) share one fetch and
        # one copy of its bytes.
        task = session.originals.get(url)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._fetch_original(session, url))
            session.originals[url] = task
            task.add_done_callback(lambda done: forget_original(session, url, done))
        return await asyncio.shield(task)

    async def _fetch_original(self, session: Session, url: str) -> tuple[bytes, str] | None:
        try:
            body = await self._downloader.download(session, url)
            return body, sniff_web_format(body)
        except (FetchFailed, httpx.HTTPError, asyncio.TimeoutError, ThumbnailError) as exc:
            logger.debug("original failed for %s: %s", loggable(url), exc)
            return None

    async def prefetch(
        self, urls: Iterable[str | None], *, size: int | None = None, after: set[Any] | None = None
    ) -> None:
        """Warm the cache; prefetches hold at most half the download slots so visible cards still load.
        ``after``: tasks to let finish first (a view's visible pictures; the set may grow meanwhile)."""
        if after is not None:
            await wait_for_tasks(after)
        semaphore = self._sessions.get().prefetches

        async def one(url: str) -> None:
            async with semaphore:
                await self.load(url, size=size)

        await asyncio.gather(*(one(url) for url in dict.fromkeys(u for u in urls if u)))

    def warm_up(self) -> None:
        """Open the disk cache and load the decoders in threads, without waiting: a gallery calls this
        before it asks for its list, so its first thumbnails do not wait for either once the list came."""
        asyncio.get_running_loop().run_in_executor(None, prepare_decoding)
        disk = self._disk()
        if disk is not None:
            disk.in_thread(disk.open)

    async def aclose(self) -> None:
        """Close the network side of every loop, each on its own loop, once the pictures handed to the disk
        cache are written; the cache stays, and a later ``load`` opens a fresh client."""
        if isinstance(self._pictures, PictureCache):  # its thread runs calls in order: this one comes last
            await asyncio.wrap_future(self._pictures.in_thread(lambda: None))
        await self._sessions.aclose()

    async def __aenter__(self) -> ThumbnailLoader:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _new_session(self) -> Session:
        return Session(
            client=httpx.AsyncClient(
                transport=self._transport,
                follow_redirects=True,
                max_redirects=5,
                timeout=httpx.Timeout(self._timeout),
                # All kept alive: past httpx's 20, a freed connection was closed and the next one reopened.
                limits=httpx.Limits(max_keepalive_connections=self._max_concurrency),
                verify=tls_context(),
                headers={
                    "Accept": "image/*",
                    "Accept-Encoding": ACCEPT_ENCODING,
                    "User-Agent": "qamera-widgets-thumbnails",
                },
                event_hooks={"request": [guard_request]},
            ),
            downloads=asyncio.Semaphore(self._max_concurrency),
            prefetches=asyncio.Semaphore(max(1, self._max_concurrency // 2)),
            pixels_freed=asyncio.Condition(),
        )

    def _cache_get(self, key: tuple[str, int]) -> Thumbnail | None:
        thumb = self._cache.get(key)
        if thumb is None:
            return None
        self._cache.move_to_end(key)
        self._cache_hits += 1
        return replace(thumb, source_bytes=0)

    def _cache_put(self, key: tuple[str, int], thumb: Thumbnail) -> None:
        nbytes = len(thumb.data)
        if nbytes > self._cache_limit:
            return
        old = self._cache.pop(key, None)
        if old is not None:
            self._cache_used -= len(old.data)
        while self._cache and self._cache_used + nbytes > self._cache_limit:
            _, evicted = self._cache.popitem(last=False)
            self._cache_used -= len(evicted.data)
        self._cache[key] = thumb
        self._cache_used += nbytes

    def _recently_failed(self, key: tuple[str, int]) -> bool:
        until = self._failed_until.get(key)
        if until is None:
            return False
        if self._clock() < until:
            return True
        del self._failed_until[key]
        return False

    def _remember_failure(self, key: tuple[str, int]) -> None:
        now = self._clock()
        if len(self._failed_until) >= _MAX_REMEMBERED_FAILURES:
            self._failed_until = {k: t for k, t in self._failed_until.items() if t > now}
            while len(self._failed_until) >= _MAX_REMEMBERED_FAILURES:
                del self._failed_until[next(iter(self._failed_until))]
        self._failed_until[key] = now + self._failure_ttl

    async def _fetched(
        self, session: Session, url: str, what: str, make: Callable[[bytes], Awaitable[Thumbnail]]
    ) -> Thumbnail | None:
        """`make(body)` for the picture at `url`; None (counted, logged) when fetching or decoding fails."""
        try:
            return await make(await self._downloader.download(session, url))
        except (FetchFailed, httpx.HTTPError, asyncio.TimeoutError, ThumbnailError) as exc:
            logger.debug("%s failed for %s: %s", what, loggable(url), exc)
            self._failures += 1
            return None

    def _disk(self) -> PictureCache | None:
        if isinstance(self._pictures, _Default):
            self._pictures = picture_cache()
        return self._pictures

    async def _disk_get(self, kind: str, url: str, size: int) -> Thumbnail | None:
        """A picture an earlier kernel (or this one) saved, read on the cache's thread: never on the loop."""
        disk = self._disk()
        if disk is None:
            return None
        found = await asyncio.wrap_future(disk.in_thread(disk.get, kind, url, size))
        if found is None:
            return None
        data, fmt, width, height = found
        self._disk_hits += 1
        return Thumbnail(data=data, format=fmt, width=width, height=height, source_bytes=0)

    def _disk_put(self, kind: str, url: str, size: int, thumb: Thumbnail) -> None:
        """Saved on the cache's thread without waiting: the card shows its picture now, and `aclose()` waits
        for the write. Only finished pictures get here: a placeholder (a failure) is never saved."""
        disk = self._disk()
        if disk is not None and thumb.placeholder is None:
            disk.in_thread(disk.put, kind, url, size, thumb.data, thumb.format, thumb.width, thumb.height)

    async def _produce(self, session: Session, url: str, px: int) -> Thumbnail:
        key = (url, px)
        kept = await self._disk_get(self._format, url, px)
        if kept is not None:
            self._failed_until.pop(key, None)
            self._cache_put(key, kept)
            return kept
        thumb = await self._fetched(
            session, url, "thumbnail", lambda body: self._decode_within_budget(session, body, px)
        )
        if thumb is None:
            self._remember_failure(key)
            return self.placeholder("failed", size=px)
        self._downloads += 1
        self._bytes_out += len(thumb.data)
        self._failed_until.pop(key, None)
        self._cache_put(key, thumb)
        self._disk_put(self._format, url, px, thumb)
        return thumb

    async def _decode_within_budget(self, session: Session, body: bytes, px: int) -> Thumbnail:
        """`make_thumbnail` in a thread once the image's pixels (read from its header) fit the budget."""
        return await self._within_budget(
            session, body, lambda data, side: make_thumbnail(data, side, self._format), px
        )

    async def _within_budget(
        self, session: Session, body: bytes, make: Callable[[bytes, int], Thumbnail], px: int
    ) -> Thumbnail:
        """`make(body, px)` in a thread once the image's pixels (read from its header) fit the budget that
        thumbnails and large-view previews share: twelve 49-megapixel previews queue like thumbnails."""
        with open_web_image(body) as header:
            pixels = header.size[0] * header.size[1]
        freed = session.pixels_freed
        async with freed:
            await freed.wait_for(
                lambda: session.pixels_in_use == 0 or session.pixels_in_use + pixels <= self._pixel_budget
            )
            session.pixels_in_use += pixels
        try:
            return await asyncio.to_thread(make, body, px)
        finally:
            async with freed:
                session.pixels_in_use -= pixels
                freed.notify_all()
