"""Thumbnails from a hostile CDN (over a loopback socket): only web formats are decoded, and the pixels
decoded at once stay within the loader's memory budget."""

from __future__ import annotations

import asyncio
import socket

import pytest
from PIL import Image

from qamera_widgets.engine.pictures import loader as thumbnails
from qamera_widgets.engine.pictures.imaging import ThumbnailError, make_thumbnail
from qamera_widgets.engine.pictures.loader import ThumbnailLoader
from tests._hostile import Request, hostile_server, response
from tests._images import encode
from tests._pixel_budget import big_pngs, peak_calls

EPS = (
    b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 64 64\n%%EndComments\n"
    b"newpath 0 0 moveto 64 64 lineto stroke showpage\n%%EOF\n"
)


def _not_web_formats() -> dict[str, bytes]:
    img = Image.new("RGB", (64, 64), (200, 30, 30))
    return {"bmp": encode(img, "BMP"), "tiff": encode(img, "TIFF"), "eps": EPS}


@pytest.mark.parametrize("name", ["bmp", "tiff", "eps"])
def test_only_web_formats_are_decoded(name: str) -> None:
    with pytest.raises(ThumbnailError, match="not an image in a web format"):
        make_thumbnail(_not_web_formats()[name], 64)


async def test_a_cdn_serving_eps_or_bmp_gets_a_failed_tile_and_web_formats_still_load() -> None:
    images = {**_not_web_formats(), "png": encode(Image.new("RGB", (64, 64)), "PNG")}

    def cdn(request: Request, sock: socket.socket) -> None:
        name = request.path.rsplit("/", 1)[1]
        sock.sendall(response(200, images[name], {"Content-Type": "image/jpeg"}))

    with hostile_server(cdn) as server:
        async with ThumbnailLoader(size=32) as loader:
            tiles = {name: await loader.load(f"{server.base_url}/{name}") for name in images}
    assert {name: tile.placeholder for name, tile in tiles.items()} == {
        "bmp": "failed",
        "tiff": "failed",
        "eps": "failed",
        "png": None,
    }


async def test_pixels_decoded_at_once_stay_within_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    # Eight 2000x2000 PNGs (a few KB each on the wire) against a budget of one of them at a time.
    peak = peak_calls(monkeypatch, thumbnails, "make_thumbnail")
    with big_pngs(8) as base_url:
        async with ThumbnailLoader(size=32, max_concurrency=8, pixel_budget=5_000_000) as loader:
            tiles = await asyncio.gather(*(loader.load(f"{base_url}/{i}") for i in range(8)))
    assert all(tile.placeholder is None for tile in tiles)
    assert peak() == 1


async def test_a_gzip_bomb_served_as_a_picture_never_expands_past_the_cap_in_memory() -> None:
    """200 MB of zeros gzipped to ~200 KB, sent as one picture: decoding one network chunk used to expand
    it tens of MB at once before the cap was checked. Now zlib is asked for no more than the cap."""
    import gzip
    import tracemalloc

    bomb = gzip.compress(bytes(200 * 2**20), compresslevel=9)
    cap = 2 * 2**20

    def cdn(request: Request, sock: socket.socket) -> None:
        sock.sendall(response(200, bomb, {"Content-Type": "image/png", "Content-Encoding": "gzip"}))

    with hostile_server(cdn) as server:
        async with ThumbnailLoader(size=32, max_bytes=cap, retries=0) as loader:
            tracemalloc.start()
            try:
                tile = await loader.load(f"{server.base_url}/bomb.png")
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    assert tile.placeholder == "failed"
    # About 7 MiB here (the kept parts, zlib's growing output buffer, httpx's read buffers); 142 MiB before.
    assert peak < 10 * cap, f"{peak / 2**20:.0f} MiB held at once for a {cap / 2**20:.0f} MiB cap"


async def test_a_picture_in_an_encoding_not_asked_for_fails_once_without_retries() -> None:
    requests: list[Request] = []

    def cdn(request: Request, sock: socket.socket) -> None:
        requests.append(request)
        headers = {"Content-Type": "image/png", "Content-Encoding": "br"}
        sock.sendall(response(200, b"\x1b\x00\x00 not brotli", headers))

    with hostile_server(cdn) as server:
        async with ThumbnailLoader(size=32, retries=2) as loader:
            tile = await loader.load(f"{server.base_url}/a.png")
    assert tile.placeholder == "failed"
    assert len(requests) == 1, "an answer no retry can change is not asked for again"
    assert requests[0].headers.get("accept-encoding") == "gzip, deflate"
