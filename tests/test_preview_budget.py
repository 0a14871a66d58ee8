"""Large-view previews (issue 23, item 6): they wait for the same pixel budget as thumbnails, and the
canvas keeps its previews within a byte budget. A real HTTP server on loopback serves the pictures."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import pytest
from PIL import Image

from qamera_widgets.engine import thumbnails
from qamera_widgets.engine.previews import PreviewCache
from qamera_widgets.engine.thumbnails import Thumbnail, ThumbnailLoader
from tests._hostile import Request, hostile_server, response
from tests._images import encode


async def test_previews_decoded_at_once_stay_within_the_pixel_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    # Eight 2000 x 2000 PNGs (a few KB each on the wire) against a budget of one of them at a time.
    pngs = [encode(Image.new("RGB", (2000, 2000), (i * 30, 0, 0)), "PNG") for i in range(8)]
    active = peak = 0
    guard = threading.Lock()
    real = thumbnails.make_preview

    def counting(data: bytes, max_px: int) -> Any:
        nonlocal active, peak
        with guard:
            active += 1
            peak = max(peak, active)
        try:
            time.sleep(0.05)  # long enough for the other downloads to arrive meanwhile
            return real(data, max_px)
        finally:
            with guard:
                active -= 1

    monkeypatch.setattr(thumbnails, "make_preview", counting)

    def cdn(request: Request, sock: socket.socket) -> None:
        sock.sendall(response(200, pngs[int(request.path.rsplit("/", 1)[1])], {"Content-Type": "image/png"}))

    with hostile_server(cdn) as server:
        async with ThumbnailLoader(
            size=32, max_concurrency=8, pixel_budget=5_000_000, pictures=None
        ) as loader:
            big = await asyncio.gather(
                *(loader.preview(f"{server.base_url}/{i}", max_px=400) for i in range(8))
            )
    assert all(b.placeholder is None and max(b.width, b.height) == 400 for b in big)
    assert peak == 1


def picture(size: int) -> Thumbnail:
    return Thumbnail(data=b"x" * size, format="jpeg", width=10, height=10, source_bytes=size)


def test_the_preview_cache_is_bounded_in_bytes() -> None:
    cache = PreviewCache(limit=100, max_bytes=1000)
    for n in range(50):
        cache.put(f"id-{n}", "http://cdn/x", 1600, picture(300))
        assert cache.bytes <= 1000
    assert len(cache) == 3 and "id-49" in cache and "id-0" not in cache
    assert cache.get("id-47", "http://cdn/x", 1600) is not None  # used: kept over the older one
    cache.put("id-50", "http://cdn/y", 1600, picture(300))
    assert "id-47" in cache and "id-48" not in cache
    cache.put("huge", "http://cdn/z", 1600, picture(5000))  # one over the budget is kept alone
    assert len(cache) == 1 and cache.bytes == 5000
    cache.keep_only(set())
    assert len(cache) == 0 and cache.bytes == 0
