"""Thumbnails for the gallery and status board: fetch from the CDN, shrink, cache, never raise.

The widgets only ever see a :class:`Thumbnail` (small encoded bytes plus a format string for
``ipywidgets.Image``); everything that can go wrong on the way (bad URL, slow or broken CDN,
huge or hostile file) turns into a generated placeholder tile instead of an exception in a cell.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace

import httpx
from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from ..client.async_client import read_bounded
from ..client.errors import QameraError
from ..client.rules import ACCEPT_ENCODING, BodyTooLarge, backoff_delay
from .loops import PerLoop
from .picture_cache import PictureCache, picture_cache

__all__ = [
    "MAX_IMAGE_PIXELS",
    "OUTPUT_FORMATS",
    "PLACEHOLDER_KINDS",
    "PREVIEW_CACHE_BYTES",
    "PreviewCache",
    "Thumbnail",
    "ThumbnailError",
    "ThumbnailLoader",
    "load_font",
    "make_preview",
    "make_thumbnail",
    "open_web_image",
]

logger = logging.getLogger(__name__)

MAX_IMAGE_PIXELS = 50_000_000
"""Largest source image we agree to decode; checked from the header, before any pixel is decoded."""

WEB_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
"""The only formats decoded from downloaded bytes: others (EPS runs Ghostscript, and many rarely used
plugins are fuzzing targets) are refused before any plugin but these four looks at the data."""

MAX_THUMBNAIL_PX = 1024
OUTPUT_FORMATS = ("jpeg", "webp", "png")
PLACEHOLDER_KINDS = ("rendering", "failed", "no preview")

_PLACEHOLDER_LABELS = {"rendering": "rendering...", "failed": "failed", "no preview": "no preview"}
_PLACEHOLDER_BACKGROUND = (229, 231, 235)
_PLACEHOLDER_TEXT = (75, 85, 99)
_JPEG_BACKGROUND = (255, 255, 255)
_QUALITY = 80
_CREDENTIAL_HEADERS = ("authorization", "x-api-key", "cookie")
_MAX_REMEMBERED_FAILURES = 1024


class _Default:
    """The `pictures` default: the process-wide disk cache of the current store folder, found on first use."""


DEFAULT_PICTURES = _Default()


@dataclass(frozen=True)
class Thumbnail:
    """A small encoded square image, ready for ``ipywidgets.Image(value=data, format=format)``."""

    data: bytes = field(repr=False)
    format: str
    width: int
    height: int
    source_bytes: int
    placeholder: str | None = None


PREVIEW_CACHE_BYTES = 48 * 2**20
"""Encoded large-view pictures one view keeps; older ones are loaded again (from the disk cache)."""


class PreviewCache:
    """The large view's pictures by scenery id, least recently used dropped past `max_bytes`."""

    def __init__(self, max_bytes: int = PREVIEW_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._items: OrderedDict[str, tuple[str, Thumbnail]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, scenery_id: object) -> bool:
        return scenery_id in self._items

    def __getitem__(self, scenery_id: str) -> tuple[str, Thumbnail]:
        self._items.move_to_end(scenery_id)
        return self._items[scenery_id]

    def get(self, scenery_id: str) -> tuple[str, Thumbnail] | None:
        return self[scenery_id] if scenery_id in self._items else None

    def __setitem__(self, scenery_id: str, entry: tuple[str, Thumbnail]) -> None:
        self._drop(scenery_id)
        self._items[scenery_id] = entry
        self.bytes += len(entry[1].data)
        while self.bytes > self.max_bytes and len(self._items) > 1:
            self._drop(next(iter(self._items)))

    def keep_only(self, keep: Iterable[str]) -> None:
        kept = set(keep)
        for scenery_id in [i for i in self._items if i not in kept]:
            self._drop(scenery_id)

    def _drop(self, scenery_id: str) -> None:
        entry = self._items.pop(scenery_id, None)
        if entry is not None:
            self.bytes -= len(entry[1].data)


class ThumbnailError(QameraError):
    """The bytes are not an image we are willing to decode (garbage, truncated, or a pixel bomb)."""


class _FetchFailed(Exception):
    """One download attempt failed; ``retryable`` says whether another attempt could help."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.retryable = retryable


def _check_size(size: int) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_THUMBNAIL_PX:
        raise ValueError(f"thumbnail size must be an int from 1 to {MAX_THUMBNAIL_PX}, got {size!r}")
    return size


def _check_format(output_format: str) -> str:
    fmt = output_format.lower()
    if fmt == "jpg":
        fmt = "jpeg"
    if fmt not in OUTPUT_FORMATS:
        raise ValueError(f"output_format must be one of {OUTPUT_FORMATS}, got {output_format!r}")
    return fmt


def _cover_box(width: int, height: int) -> tuple[int, int, int, int]:
    """The centred square of the source that a cover-fit square thumbnail shows."""
    side = min(width, height)
    left = (width - side) // 2
    top = (height - side) // 2
    return left, top, left + side, top + side


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info


def _to_output_mode(img: Image.Image, fmt: str) -> Image.Image:
    if not _has_alpha(img):
        return img if img.mode == "RGB" else img.convert("RGB")
    rgba = img.convert("RGBA")
    if fmt != "jpeg":
        return rgba
    flat = Image.new("RGB", rgba.size, _JPEG_BACKGROUND)
    flat.paste(rgba, mask=rgba.getchannel("A"))
    return flat


def _encode(img: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "jpeg":
        img.save(out, "JPEG", quality=_QUALITY, optimize=True)
    elif fmt == "webp":
        img.save(out, "WEBP", quality=_QUALITY, method=4)
    else:
        img.save(out, "PNG", optimize=True)
    return out.getvalue()


def _pixel_limit() -> int:
    """Ours, or Pillow's global if someone set it lower: past Pillow's limit it only warns, we refuse.

    Comparing numbers instead of turning DecompressionBombWarning into an error keeps this
    thread-safe, since warning filters are process-wide and decoding runs in worker threads.
    """
    pillow = Image.MAX_IMAGE_PIXELS
    return MAX_IMAGE_PIXELS if pillow is None else min(MAX_IMAGE_PIXELS, int(pillow))


def open_web_image(data: bytes) -> Image.Image:
    """Open downloaded bytes as one of `WEB_FORMATS` (header only, nothing decoded yet), checking the
    pixel limit; raises `ThumbnailError` for anything else. Thumbnails and originals both open this way."""
    try:
        img = Image.open(io.BytesIO(data), formats=WEB_FORMATS)
    except UnidentifiedImageError:
        raise ThumbnailError(
            f"not an image in a web format ({', '.join(WEB_FORMATS)}); other formats are not decoded"
        ) from None
    except Exception as exc:
        raise ThumbnailError(f"cannot decode image: {type(exc).__name__}: {exc}") from exc
    width, height = img.size
    limit = _pixel_limit()
    if width * height > limit:
        img.close()
        raise ThumbnailError(f"image claims {width}x{height} pixels, over the {limit} pixel limit")
    return img


def make_thumbnail(data: bytes, size: int, output_format: str = "jpeg") -> Thumbnail:
    """Decode ``data`` and cover-crop it to a ``size`` x ``size`` square, encoded small.

    Pure and blocking, so callers on an event loop run it in a thread. The pixel limit is checked
    on the header Pillow reads at open, so a tiny file that claims a huge canvas costs nothing.
    """
    px = _check_size(size)
    fmt = _check_format(output_format)
    try:
        with open_web_image(data) as img:
            img.draft("RGB", (px, px))
            upright = ImageOps.exif_transpose(img)
            ready = _to_output_mode(upright, fmt)
            square = ready.resize(
                (px, px), Image.Resampling.LANCZOS, box=_cover_box(*ready.size), reducing_gap=3.0
            )
            encoded = _encode(square, fmt)
    except ThumbnailError:
        raise
    # Pillow's plugins raise a zoo of types on hostile input (OSError, SyntaxError, struct.error,
    # zlib.error, DecompressionBombError, ...): for untrusted bytes they all mean "not decodable".
    except Exception as exc:
        raise ThumbnailError(f"cannot decode image: {type(exc).__name__}: {exc}") from exc
    return Thumbnail(data=encoded, format=fmt, width=px, height=px, source_bytes=len(data))


MAX_PREVIEW_PX = 2048


def make_preview(data: bytes, max_px: int) -> Thumbnail:
    """Decode ``data`` and shrink it to fit ``max_px`` on its longest side, keeping its shape.

    For the large view: unlike a thumbnail nothing is cropped, and a small original is not enlarged.
    """
    if isinstance(max_px, bool) or not isinstance(max_px, int) or not 16 <= max_px <= MAX_PREVIEW_PX:
        raise ValueError(f"max_px must be an int from 16 to {MAX_PREVIEW_PX}, got {max_px!r}")
    try:
        with open_web_image(data) as img:
            img.draft("RGB", (max_px, max_px))
            ready = _to_output_mode(ImageOps.exif_transpose(img), "jpeg")
            ready.thumbnail((max_px, max_px), Image.Resampling.LANCZOS, reducing_gap=3.0)
            out = io.BytesIO()
            ready.save(out, "JPEG", quality=88, optimize=True)
            size = ready.size
    except ThumbnailError:
        raise
    except Exception as exc:  # hostile input raises many types; all mean "not decodable"
        raise ThumbnailError(f"cannot decode image: {type(exc).__name__}: {exc}") from exc
    width, height = size
    return Thumbnail(data=out.getvalue(), format="jpeg", width=width, height=height, source_bytes=len(data))


def sniff_web_format(data: bytes) -> str:
    """The web format of an original (jpeg, png, webp or gif), read from its header only."""
    try:  # no pixel limit: an original is handed over as it is, never decoded here
        with Image.open(io.BytesIO(data), formats=WEB_FORMATS) as img:
            return str(img.format).lower()
    except Exception as exc:
        raise ThumbnailError(f"not a web picture: {type(exc).__name__}") from exc


def load_font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's bundled font at `size` px, or its fixed bitmap font where sizing is unsupported."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):
        return ImageFont.load_default()


def _render_placeholder(kind: str, px: int) -> Thumbnail:
    label = _PLACEHOLDER_LABELS[kind]
    tile = Image.new("RGB", (px, px), _PLACEHOLDER_BACKGROUND)
    draw = ImageDraw.Draw(tile)
    font = load_font(max(8, px // 9))
    left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
    x = (px - (right - left)) / 2 - left
    y = (px - (bottom - top)) / 2 - top
    draw.text((x, y), label, fill=_PLACEHOLDER_TEXT, font=font)
    data = _encode(tile, "png")
    return Thumbnail(data=data, format="png", width=px, height=px, source_bytes=0, placeholder=kind)


def _fetchable(url: str) -> bool:
    """Only plain http(s) URLs with a host and no userinfo, which httpx would turn into Basic auth."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return False
    return parsed.scheme in ("http", "https") and bool(parsed.host) and not parsed.userinfo


def _loggable(url: str) -> str:
    """Scheme, host and path only: CDN URLs may carry signing tokens in the query."""
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.host}{parsed.path}"


async def _guard_request(request: httpx.Request) -> None:
    """Runs on every hop, redirects included: a redirect cannot lead to file: or userinfo URLs,
    and nothing can ever put a credential on a CDN request."""
    if not _fetchable(str(request.url)):
        raise httpx.UnsupportedProtocol(f"refusing to fetch {request.url.scheme}: URL", request=request)
    for name in _CREDENTIAL_HEADERS:
        request.headers.pop(name, None)


def _forget_original(session: _Session, url: str, task: asyncio.Task[tuple[bytes, str] | None]) -> None:
    if session.originals.get(url) is task:
        del session.originals[url]


def _forget_inflight(session: _Session, key: tuple[str, int], task: asyncio.Task[Thumbnail]) -> None:
    if session.inflight.get(key) is task:
        del session.inflight[key]


async def _close_session(session: _Session) -> None:
    session.closed = True
    for task in [*session.inflight.values(), *session.originals.values()]:
        task.cancel()
    session.inflight.clear()
    session.originals.clear()
    await session.client.aclose()


def _is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, _FetchFailed):
        return exc.retryable
    return isinstance(
        exc, (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError, asyncio.TimeoutError)
    )


@dataclass(eq=False)
class _Session:
    """What the loader keeps per event loop: these belong to the loop they were made on."""

    client: httpx.AsyncClient
    downloads: asyncio.Semaphore
    prefetches: asyncio.Semaphore
    pixels_freed: asyncio.Condition
    pixels_in_use: int = 0
    inflight: dict[tuple[str, int], asyncio.Task[Thumbnail]] = field(default_factory=dict)
    originals: dict[str, asyncio.Task[tuple[bytes, str] | None]] = field(default_factory=dict)
    closed: bool = False


class ThumbnailLoader:
    """Loads thumbnails concurrently with a byte-bounded LRU cache and one download per URL and size.

    The httpx client, semaphores and in-flight tasks belong to one event loop; they are made lazily per
    loop (`engine.loops.PerLoop`: rebuilt when their loop has closed, closed on their own loop), while the
    cache of encoded bytes serves every loop (a notebook re-running ``asyncio.run`` cells).

    Options: ``max_concurrency`` downloads at once (prefetches take at most half); ``size`` the default
    square side in pixels; ``cache_bytes`` the LRU cache's budget of encoded bytes; ``timeout`` seconds
    per download attempt; ``max_bytes`` the largest body read; ``retries`` extra attempts after a
    timeout, a network error or a 5xx, waiting the package's backoff from ``retry_backoff`` seconds;
    ``output_format`` jpeg, webp or png; ``transport`` an httpx transport (tests); ``failure_ttl`` how
    long a failed URL shows "failed" before it is tried again; ``clock`` and ``sleep`` injectable time;
    ``pixel_budget`` source pixels decoded at once across all downloads; ``pictures`` the disk cache that
    keeps finished thumbnails and previews across kernel restarts (default: the store folder's, see
    `engine.picture_cache`; None for memory only).
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
        self._size = _check_size(size)
        self._cache_limit = cache_bytes
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._retries = retries
        self._format = _check_format(output_format)
        self._transport = transport
        self._retry_backoff = retry_backoff
        self._failure_ttl = failure_ttl
        self._clock = clock
        self._sleep = sleep
        # Source pixels being decoded at once, across all downloads: eight 49-megapixel PNGs of 190 KB
        # each must queue, not take gigabytes together. One image over the budget still decodes, alone.
        self._pixel_budget = pixel_budget

        self._cache: OrderedDict[tuple[str, int], Thumbnail] = OrderedDict()
        self._cache_used = 0
        self._placeholders: dict[tuple[str, int], Thumbnail] = {}
        self._failed_until: dict[tuple[str, int], float] = {}

        self._sessions: PerLoop[_Session] = PerLoop(self._new_session, _close_session)
        self._pictures = pictures
        self._disk_hits = 0

        self._downloads = 0
        self._requests = 0
        self._cache_hits = 0
        self._bytes_downloaded = 0
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
            "requests": self._requests,
            "cache_hits": self._cache_hits,
            "disk_hits": self._disk_hits,
            "bytes_downloaded": self._bytes_downloaded,
            "bytes_out": self._bytes_out,
            "cache_bytes_used": self._cache_used,
            "cache_entries": len(self._cache),
            "failures": self._failures,
        }

    def placeholder(self, kind: str, *, size: int | None = None) -> Thumbnail:
        """A neutral tile with ``kind`` written on it, rendered once per kind and size."""
        if kind not in _PLACEHOLDER_LABELS:
            raise ValueError(f"placeholder kind must be one of {PLACEHOLDER_KINDS}, got {kind!r}")
        px = self._size if size is None else _check_size(size)
        key = (kind, px)
        tile = self._placeholders.get(key)
        if tile is None:
            tile = self._placeholders[key] = _render_placeholder(kind, px)
        return tile

    async def load(self, url: str | None, *, size: int | None = None) -> Thumbnail:
        """The thumbnail for ``url``, or a placeholder tile; never raises for network or image trouble.

        ``source_bytes`` is non-zero only for the call that caused the download, so summing it over
        cards counts network bytes once.
        """
        px = self._size if size is None else _check_size(size)
        if not url:
            return self.placeholder("no preview", size=px)
        if not _fetchable(url):
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
            task.add_done_callback(lambda done: _forget_inflight(session, key, done))
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
        if not _fetchable(url):
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
        await self._disk_put("preview", url, max_px, big)
        return big

    async def original(self, url: str) -> tuple[bytes, str] | None:
        """The original file at ``url`` and its format, or None when it cannot be fetched or is not a
        web picture; for downloads of a selection, so it is not cached."""
        if not _fetchable(url):
            return None
        session = self._sessions.get()
        # Downloads of the same picture at once (two pages' zips, a double click) share one fetch and
        # one copy of its bytes.
        task = session.originals.get(url)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._fetch_original(session, url))
            session.originals[url] = task
            task.add_done_callback(lambda done: _forget_original(session, url, done))
        return await asyncio.shield(task)

    async def _fetch_original(self, session: _Session, url: str) -> tuple[bytes, str] | None:
        try:
            body = await self._download(session, url)
            return body, sniff_web_format(body)
        except (_FetchFailed, httpx.HTTPError, asyncio.TimeoutError, ThumbnailError) as exc:
            logger.debug("original failed for %s: %s", _loggable(url), exc)
            return None

    async def prefetch(self, urls: Iterable[str | None], *, size: int | None = None) -> None:
        """Warm the cache; prefetches hold at most half the download slots so visible cards still load."""
        semaphore = self._sessions.get().prefetches

        async def one(url: str) -> None:
            async with semaphore:
                await self.load(url, size=size)

        await asyncio.gather(*(one(url) for url in dict.fromkeys(u for u in urls if u)))

    async def aclose(self) -> None:
        """Close the network side of every loop, each on its own loop; the cache stays, and a later
        ``load`` opens a fresh client."""
        await self._sessions.aclose()

    async def __aenter__(self) -> ThumbnailLoader:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _new_session(self) -> _Session:
        return _Session(
            client=httpx.AsyncClient(
                transport=self._transport,
                follow_redirects=True,
                max_redirects=5,
                timeout=httpx.Timeout(self._timeout),
                headers={
                    "Accept": "image/*",
                    "Accept-Encoding": ACCEPT_ENCODING,
                    "User-Agent": "qamera-widgets-thumbnails",
                },
                event_hooks={"request": [_guard_request]},
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
        self, session: _Session, url: str, what: str, make: Callable[[bytes], Awaitable[Thumbnail]]
    ) -> Thumbnail | None:
        """`make(body)` for the picture at `url`; None (counted, logged) when fetching or decoding fails."""
        try:
            return await make(await self._download(session, url))
        except (_FetchFailed, httpx.HTTPError, asyncio.TimeoutError, ThumbnailError) as exc:
            logger.debug("%s failed for %s: %s", what, _loggable(url), exc)
            self._failures += 1
            return None

    def _disk(self) -> PictureCache | None:
        if isinstance(self._pictures, _Default):
            self._pictures = picture_cache()
        return self._pictures

    async def _disk_get(self, kind: str, url: str, size: int) -> Thumbnail | None:
        """A picture an earlier kernel (or this one) saved, read in a thread: never the disk on the loop."""
        disk = self._disk()
        if disk is None:
            return None
        found = await asyncio.to_thread(disk.get, kind, url, size)
        if found is None:
            return None
        data, fmt, width, height = found
        self._disk_hits += 1
        return Thumbnail(data=data, format=fmt, width=width, height=height, source_bytes=0)

    async def _disk_put(self, kind: str, url: str, size: int, thumb: Thumbnail) -> None:
        """Only finished pictures get here: a placeholder (a failure) is never saved as a picture."""
        disk = self._disk()
        if disk is not None and thumb.placeholder is None:
            await asyncio.to_thread(
                disk.put, kind, url, size, thumb.data, thumb.format, thumb.width, thumb.height
            )

    async def _produce(self, session: _Session, url: str, px: int) -> Thumbnail:
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
        await self._disk_put(self._format, url, px, thumb)
        return thumb

    async def _decode_within_budget(self, session: _Session, body: bytes, px: int) -> Thumbnail:
        """`make_thumbnail` in a thread once the image's pixels (read from its header) fit the budget."""
        return await self._within_budget(
            session, body, lambda data, side: make_thumbnail(data, side, self._format), px
        )

    async def _within_budget(
        self, session: _Session, body: bytes, make: Callable[[bytes, int], Thumbnail], px: int
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

    async def _download(self, session: _Session, url: str) -> bytes:
        attempt = 0
        while True:
            if session.closed:  # closed by aclose() while this download waited its turn
                raise _FetchFailed("the loader was closed", retryable=False)
            try:
                async with session.downloads:
                    return await asyncio.wait_for(self._download_once(session, url), self._timeout)
            except (_FetchFailed, httpx.HTTPError, asyncio.TimeoutError) as exc:
                if attempt >= self._retries or not _is_retryable(exc):
                    raise
            await self._sleep(backoff_delay(attempt, base=self._retry_backoff))
            attempt += 1

    async def _download_once(self, session: _Session, url: str) -> bytes:
        if session.closed:  # closed by aclose() while this download waited for a slot
            raise _FetchFailed("the loader was closed", retryable=False)
        self._requests += 1
        async with session.client.stream("GET", url) as response:
            if response.status_code >= 500:
                raise _FetchFailed(f"HTTP {response.status_code}", retryable=True)
            if response.status_code != 200:
                raise _FetchFailed(f"HTTP {response.status_code}", retryable=False)
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self._max_bytes:
                raise _FetchFailed(f"Content-Length {declared} over the cap", retryable=False)
            replayed = response.is_stream_consumed  # an in-memory transport handed it over already read
            try:
                # Through the bounded decoder: a gzip bomb stops at the cap instead of expanding a whole
                # network chunk (tens of MB) in memory first.
                return await read_bounded(response, self._max_bytes)
            except BodyTooLarge:
                raise _FetchFailed(f"body over the {self._max_bytes} byte cap", retryable=False) from None
            except ValueError as exc:  # an encoding we did not ask for, or a damaged compressed body
                raise _FetchFailed(str(exc), retryable=False) from None
            finally:
                self._bytes_downloaded += len(response.content) if replayed else response.num_bytes_downloaded
