"""Large-view previews (issue 23, item 6): they wait for the same pixel budget as thumbnails, and the
canvas keeps its previews within a byte budget. A real HTTP server on loopback serves the pictures."""

from __future__ import annotations

import asyncio

import pytest

from qamera_widgets.engine.pictures import loader as thumbnails
from qamera_widgets.engine.pictures.imaging import Thumbnail
from qamera_widgets.engine.pictures.loader import ThumbnailLoader
from qamera_widgets.engine.pictures.previews import PreviewCache
from tests._pixel_budget import big_pngs, peak_calls


async def test_previews_decoded_at_once_stay_within_the_pixel_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    # Eight 2000 x 2000 PNGs (a few KB each on the wire) against a budget of one of them at a time.
    peak = peak_calls(monkeypatch, thumbnails, "make_preview")
    with big_pngs(8) as base_url:
        async with ThumbnailLoader(
            size=32, max_concurrency=8, pixel_budget=5_000_000, pictures=None
        ) as loader:
            big = await asyncio.gather(*(loader.preview(f"{base_url}/{i}", max_px=400) for i in range(8)))
    assert all(b.placeholder is None and max(b.width, b.height) == 400 for b in big)
    assert peak() == 1


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
