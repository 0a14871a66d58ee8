"""The thumbnail loader: fetching, shrinking, caching and the ways it refuses to misbehave."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from PIL import Image

from qamera_widgets.engine.pictures import loader as thumbnails
from qamera_widgets.engine.pictures.fetching import guard_request
from qamera_widgets.engine.pictures.imaging import (
    PLACEHOLDER_KINDS,
    Thumbnail,
    ThumbnailError,
    make_thumbnail,
)
from qamera_widgets.engine.pictures.loader import ThumbnailLoader
from tests._images import halves_jpeg, photo_jpeg, png_claiming, thirds_png

PHOTO = photo_jpeg()
Handler = Callable[[httpx.Request], "httpx.Response | Awaitable[httpx.Response]"]


class FakeCdn:
    """A MockTransport that records every request, serving PHOTO (after `delay` seconds) unless told
    otherwise."""

    def __init__(self, handler: Handler | None = None, *, delay: float = 0.0) -> None:
        self.requests: list[httpx.Request] = []
        self._handler = handler
        self._delay = delay

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self._delay:
            await asyncio.sleep(self._delay)
        if self._handler is None:
            return httpx.Response(200, content=PHOTO, headers={"Content-Type": "image/jpeg"})
        response = self._handler(request)
        if isinstance(response, httpx.Response):
            return response
        return await response

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def count(self, url: str) -> int:
        return sum(1 for r in self.requests if str(r.url) == url)


def loader_for(cdn: FakeCdn, **options: object) -> ThumbnailLoader:
    options.setdefault("retry_backoff", 0.0)
    return ThumbnailLoader(transport=cdn.transport, **options)  # type: ignore[arg-type]


def decoded(thumb: Thumbnail) -> Image.Image:
    img = Image.open(io.BytesIO(thumb.data))
    img.load()
    return img


def near(pixel: float | tuple[int, ...] | None, colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    assert isinstance(pixel, tuple), pixel  # every test picture is RGB(A)
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], colour, strict=True))


RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def test_photo_becomes_a_small_square_jpeg_of_the_requested_size() -> None:
    thumb = make_thumbnail(PHOTO, 176)

    img = decoded(thumb)
    assert (thumb.format, thumb.width, thumb.height, thumb.placeholder) == ("jpeg", 176, 176, None)
    assert (img.format, img.size, img.mode) == ("JPEG", (176, 176), "RGB")
    assert thumb.source_bytes == len(PHOTO) > 100_000
    assert 2_000 <= len(thumb.data) <= 15_000


def test_webp_and_png_outputs_are_what_they_claim() -> None:
    for fmt, pillow_name in (("webp", "WEBP"), ("png", "PNG")):
        thumb = make_thumbnail(PHOTO, 64, fmt)
        assert thumb.format == fmt
        assert decoded(thumb).format == pillow_name
        assert decoded(thumb).size == (64, 64)


def test_non_square_source_is_cover_cropped_to_its_centre() -> None:
    img = decoded(make_thumbnail(thirds_png(), 90, "png"))

    assert img.size == (90, 90)
    for x in (2, 45, 87):
        assert near(img.getpixel((x, 45)), GREEN), x


def test_small_source_is_scaled_up_to_the_promised_size() -> None:
    assert decoded(make_thumbnail(halves_jpeg(), 300)).size == (300, 300)


def test_exif_orientation_is_applied_before_cropping() -> None:
    plain = decoded(make_thumbnail(halves_jpeg(), 100))
    rotated = decoded(make_thumbnail(halves_jpeg(orientation=6), 100))

    assert near(plain.getpixel((5, 50)), RED) and near(plain.getpixel((94, 50)), BLUE)
    assert near(rotated.getpixel((50, 5)), RED) and near(rotated.getpixel((50, 94)), BLUE)


def test_transparent_png_is_flattened_for_jpeg_and_kept_for_png() -> None:
    from tests._images import encode

    clear = encode(Image.new("RGBA", (40, 40), (0, 0, 0, 0)), "PNG")

    assert near(decoded(make_thumbnail(clear, 32)).getpixel((16, 16)), (255, 255, 255), 5)
    pixel = decoded(make_thumbnail(clear, 32, "png")).getpixel((16, 16))
    assert isinstance(pixel, tuple) and pixel[3] == 0


def test_png_claiming_100000_squared_pixels_is_refused() -> None:
    bomb = png_claiming(100_000, 100_000)
    assert len(bomb) < 100

    with pytest.raises(ThumbnailError):
        make_thumbnail(bomb, 176)


def test_pixel_limit_holds_even_when_pillow_guard_is_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)

    with pytest.raises(ThumbnailError, match="pixel limit"):
        make_thumbnail(png_claiming(8_000, 7_500), 176)


def test_a_lower_pillow_limit_is_honoured_as_a_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000)

    with pytest.warns(Image.DecompressionBombWarning), pytest.raises(ThumbnailError, match="pixel limit"):
        make_thumbnail(thirds_png(40, 40), 32)


@pytest.mark.parametrize("junk", [b"", b"not an image", PHOTO[: len(PHOTO) // 3]])
def test_garbage_and_truncated_bytes_raise_thumbnail_error(junk: bytes) -> None:
    with pytest.raises(ThumbnailError):
        make_thumbnail(junk, 176)


@pytest.mark.parametrize("size", [0, -1, 5000, True])
def test_nonsense_size_is_a_programming_error(size: int) -> None:
    with pytest.raises(ValueError):
        make_thumbnail(PHOTO, size)


def test_placeholders_are_size_correct_cached_tiles() -> None:
    loader = ThumbnailLoader()
    for kind in PLACEHOLDER_KINDS:
        tile = loader.placeholder(kind, size=120)
        img = decoded(tile)
        assert (tile.placeholder, tile.width, tile.height, tile.source_bytes) == (kind, 120, 120, 0)
        assert img.size == (120, 120)
        assert len(img.getcolors(maxcolors=4096) or []) > 2, "the word is drawn on the tile"
        assert loader.placeholder(kind, size=120) is tile
    assert loader.placeholder("failed").width == 176
    with pytest.raises(ValueError):
        loader.placeholder("oops")


async def test_load_returns_a_real_thumbnail_and_caches_it() -> None:
    cdn = FakeCdn()
    loader = loader_for(cdn)
    url = "https://cdn.test/a.jpg"

    first = await loader.load(url)
    second = await loader.load(url)

    assert first.placeholder is None and first.source_bytes == len(PHOTO)
    assert second.data == first.data and second.source_bytes == 0
    assert cdn.count(url) == 1
    stats = loader.stats
    assert stats["downloads"] == 1 and stats["cache_hits"] == 1
    assert stats["bytes_downloaded"] == len(PHOTO)
    assert stats["bytes_out"] == stats["cache_bytes_used"] == len(first.data)
    await loader.aclose()


async def test_cache_is_keyed_by_url_and_size() -> None:
    cdn = FakeCdn()
    loader = loader_for(cdn)
    url = "https://cdn.test/a.jpg"

    small, big = await loader.load(url, size=64), await loader.load(url, size=200)

    assert (small.width, big.width) == (64, 200)
    assert cdn.count(url) == 2
    await loader.aclose()


async def test_lru_evicts_least_recently_used_by_bytes() -> None:
    one = len(make_thumbnail(PHOTO, 176).data)
    cdn = FakeCdn()
    # The memory cache is the subject: no disk cache behind it to serve what it evicted.
    loader = loader_for(cdn, cache_bytes=2 * one + one // 2, pictures=None)
    a, b, c = (f"https://cdn.test/{name}.jpg" for name in "abc")

    await loader.load(a)
    await loader.load(b)
    await loader.load(a)
    await loader.load(c)
    assert loader.stats["cache_bytes_used"] == 2 * one <= 2 * one + one // 2

    await loader.load(a)
    await loader.load(c)
    assert cdn.count(a) == 1 and cdn.count(c) == 1
    await loader.load(b)
    assert cdn.count(b) == 2
    await loader.aclose()


async def test_thumbnail_larger_than_the_whole_cache_is_served_but_not_kept() -> None:
    cdn = FakeCdn()
    loader = loader_for(cdn, cache_bytes=100)

    thumb = await loader.load("https://cdn.test/a.jpg")

    assert thumb.placeholder is None
    assert loader.stats["cache_bytes_used"] == 0
    await loader.aclose()


async def test_ten_concurrent_loads_of_one_url_download_once() -> None:
    cdn = FakeCdn(delay=0.02)
    loader = loader_for(cdn)
    url = "https://cdn.test/shared.jpg"

    results = await asyncio.gather(*(loader.load(url) for _ in range(10)))

    assert len(cdn.requests) == 1
    assert all(r.placeholder is None and r.data == results[0].data for r in results)
    assert sum(r.source_bytes for r in results) == len(PHOTO)
    await loader.aclose()


async def test_cancelled_card_does_not_cancel_the_shared_download() -> None:
    release = asyncio.Event()

    async def gated(request: httpx.Request) -> httpx.Response:
        await release.wait()
        return httpx.Response(200, content=PHOTO)

    cdn = FakeCdn(gated)
    loader = loader_for(cdn)
    url = "https://cdn.test/shared.jpg"
    leaving = asyncio.ensure_future(loader.load(url))
    staying = asyncio.ensure_future(loader.load(url))
    await asyncio.sleep(0.01)

    leaving.cancel()
    release.set()

    assert (await staying).placeholder is None
    assert len(cdn.requests) == 1
    await loader.aclose()


async def test_downloads_never_exceed_max_concurrency() -> None:
    active = peak = 0

    async def counting(request: httpx.Request) -> httpx.Response:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.01)
        active -= 1
        return httpx.Response(200, content=PHOTO)

    cdn = FakeCdn(counting)
    loader = loader_for(cdn, max_concurrency=3, size=32)

    await asyncio.gather(*(loader.load(f"https://cdn.test/{i}.jpg") for i in range(12)))

    assert peak == 3
    assert len(cdn.requests) == 12
    await loader.aclose()


async def test_streamed_body_over_the_cap_is_aborted_while_streaming() -> None:
    chunk = b"\0" * 65_536
    served = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal served
        for _ in range(160):
            served += len(chunk)
            yield chunk

    cdn = FakeCdn(lambda request: httpx.Response(200, content=endless()))
    loader = loader_for(cdn, max_bytes=1_000_000)

    thumb = await loader.load("https://cdn.test/huge.jpg")

    assert thumb.placeholder == "failed"
    assert 1_000_000 < served <= 1_000_000 + 2 * len(chunk)
    assert loader.stats["bytes_downloaded"] <= served
    assert len(cdn.requests) == 1, "an oversized body is not retried"
    await loader.aclose()


async def test_declared_content_length_over_the_cap_is_refused_before_reading() -> None:
    served = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal served
        served += 1
        yield b"x"

    cdn = FakeCdn(lambda request: httpx.Response(200, content=body(), headers={"Content-Length": "20000000"}))
    loader = loader_for(cdn)

    assert (await loader.load("https://cdn.test/huge.jpg")).placeholder == "failed"
    assert served == 0
    await loader.aclose()


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "data:image/png;base64,iVBORw0KGgo=",
        "ftp://cdn.test/a.jpg",
        "javascript:alert(1)",
        "https://user:secret@cdn.test/a.jpg",
        "https:///no-host.jpg",
        "not a url at all",
    ],
)
async def test_non_http_urls_are_refused_without_any_request(url: str) -> None:
    cdn = FakeCdn()
    loader = loader_for(cdn)

    thumb = await loader.load(url)

    assert thumb.placeholder == "failed"
    assert cdn.requests == []
    assert loader.stats["failures"] == 1
    await loader.aclose()


@pytest.mark.parametrize("url", [None, ""])
async def test_missing_url_gives_no_preview(url: str | None) -> None:
    cdn = FakeCdn()
    loader = loader_for(cdn)

    thumb = await loader.load(url, size=100)

    assert (thumb.placeholder, thumb.width) == ("no preview", 100)
    assert cdn.requests == [] and loader.stats["failures"] == 0
    await loader.aclose()


async def test_503_is_retried_with_backoff_then_succeeds() -> None:
    replies = iter([503, 503, 200])
    delays: list[float] = []

    async def record_sleep(seconds: float) -> None:
        delays.append(seconds)

    cdn = FakeCdn(lambda request: httpx.Response(next(replies), content=PHOTO))
    loader = loader_for(cdn, retries=2, retry_backoff=0.25, sleep=record_sleep)

    thumb = await loader.load("https://cdn.test/a.jpg")

    assert thumb.placeholder is None
    assert len(cdn.requests) == 3
    assert len(delays) == 2  # the package's backoff: doubling from the base, up to half a base of jitter
    assert 0.25 <= delays[0] <= 0.375 and 0.5 <= delays[1] <= 0.625
    assert loader.stats["requests"] == 3 and loader.stats["failures"] == 0
    await loader.aclose()


@pytest.mark.parametrize(
    ("status", "requests"),
    [
        pytest.param(500, 3, id="persistent-5xx-gives-up-after-the-retries"),
        pytest.param(404, 1, id="404-fails-without-retry"),
    ],
)
async def test_a_failing_status_gives_a_failed_placeholder_after_retrying_only_server_errors(
    status: int, requests: int
) -> None:
    cdn = FakeCdn(lambda request: httpx.Response(status))
    loader = loader_for(cdn, retries=2)

    assert (await loader.load("https://cdn.test/a.jpg")).placeholder == "failed"
    assert len(cdn.requests) == requests
    await loader.aclose()


async def test_connect_error_is_retried() -> None:
    def flaky(request: httpx.Request) -> httpx.Response:
        if len(cdn.requests) == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, content=PHOTO)

    cdn = FakeCdn(flaky)
    loader = loader_for(cdn)

    assert (await loader.load("https://cdn.test/a.jpg")).placeholder is None
    assert len(cdn.requests) == 2
    await loader.aclose()


async def test_slow_server_times_out_and_is_retried_then_fails() -> None:
    cdn = FakeCdn(delay=5)
    loader = loader_for(cdn, timeout=0.05, retries=1)

    started = asyncio.get_running_loop().time()
    thumb = await loader.load("https://cdn.test/slow.jpg")

    assert thumb.placeholder == "failed"
    assert len(cdn.requests) == 2
    assert asyncio.get_running_loop().time() - started < 2
    await loader.aclose()


async def test_bomb_served_by_the_cdn_gives_failed_placeholder() -> None:
    cdn = FakeCdn(lambda request: httpx.Response(200, content=png_claiming(100_000, 100_000)))
    loader = loader_for(cdn)

    thumb = await loader.load("https://cdn.test/bomb.png")

    assert thumb.placeholder == "failed"
    assert len(cdn.requests) == 1
    assert loader.stats["failures"] == 1 and loader.stats["cache_bytes_used"] == 0
    await loader.aclose()


async def test_failure_is_remembered_for_a_while_then_retried() -> None:
    now = 1000.0
    healthy = False

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=PHOTO) if healthy else httpx.Response(404)

    cdn = FakeCdn(handler)
    loader = loader_for(cdn, failure_ttl=30.0, clock=lambda: now)
    url = "https://cdn.test/later.jpg"

    assert (await loader.load(url)).placeholder == "failed"
    healthy = True
    for _ in range(5):
        assert (await loader.load(url)).placeholder == "failed"
    assert len(cdn.requests) == 1, "no hot loop against a failing URL"

    now += 31
    assert (await loader.load(url)).placeholder is None
    assert len(cdn.requests) == 2
    await loader.aclose()


async def test_no_credentials_ever_reach_the_cdn_even_through_redirects() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/start.jpg":
            return httpx.Response(302, headers={"Location": "https://other.test/hop.jpg"})
        if request.url.path == "/hop.jpg":
            return httpx.Response(302, headers={"Location": "https://cdn.test/final.jpg"})
        return httpx.Response(200, content=PHOTO)

    cdn = FakeCdn(handler)
    loader = loader_for(cdn)

    assert (await loader.load("https://cdn.test/start.jpg")).placeholder is None
    assert [r.url.path for r in cdn.requests] == ["/start.jpg", "/hop.jpg", "/final.jpg"]
    for request in cdn.requests:
        assert "authorization" not in request.headers
        assert "x-api-key" not in request.headers
    await loader.aclose()


async def test_credential_headers_are_stripped_from_every_outgoing_request() -> None:
    request = httpx.Request(
        "GET",
        "https://cdn.test/a.jpg",
        headers={"Authorization": "Bearer mk_live_x.y", "X-Api-Key": "mk_live_x.y", "Cookie": "s=1"},
    )

    await guard_request(request)

    assert not {"authorization", "x-api-key", "cookie"} & set(request.headers.keys())


@pytest.mark.parametrize("target", ["file:///etc/passwd", "https://user:pw@cdn.test/b.jpg"])
async def test_redirect_to_a_refused_url_fails_without_following(target: str) -> None:
    cdn = FakeCdn(lambda request: httpx.Response(302, headers={"Location": target}))
    loader = loader_for(cdn)

    assert (await loader.load("https://cdn.test/a.jpg")).placeholder == "failed"
    assert len(cdn.requests) == 1
    await loader.aclose()


async def test_prefetch_warms_the_cache_once_per_distinct_url() -> None:
    cdn = FakeCdn()
    loader = loader_for(cdn, size=48)
    urls = [f"https://cdn.test/{i}.jpg" for i in range(5)]

    await loader.prefetch([*urls, urls[0], None, ""])
    thumbs = [await loader.load(url) for url in urls]

    assert len(cdn.requests) == 5
    assert all(t.placeholder is None and t.source_bytes == 0 for t in thumbs)
    assert loader.stats["cache_hits"] == 5
    await loader.aclose()


async def test_webp_loader_produces_webp() -> None:
    loader = loader_for(FakeCdn(), output_format="webp")

    thumb = await loader.load("https://cdn.test/a.jpg")

    assert thumb.format == "webp" and decoded(thumb).format == "WEBP"
    await loader.aclose()


async def test_loader_is_usable_again_after_aclose() -> None:
    cdn = FakeCdn()
    loader = loader_for(cdn)
    await loader.load("https://cdn.test/a.jpg")
    await loader.aclose()

    assert (await loader.load("https://cdn.test/b.jpg")).placeholder is None
    assert (await loader.load("https://cdn.test/a.jpg")).source_bytes == 0, "cache survives aclose"
    await loader.aclose()


def test_module_has_no_widget_code() -> None:
    with open(thumbnails.__file__, encoding="utf-8") as module:
        source = module.read()
    assert "import ipywidgets" not in source and "from ipywidgets" not in source
