"""Large pictures at the size the browser shows them (validated and capped for memory), and the
neighbours or compared pictures it asks for ahead, over the sandbox on loopback."""

from __future__ import annotations

import pytest

from qamera_widgets.engine.pictures.imaging import MAX_PREVIEW_PX
from qamera_widgets.engine.pictures.previews import MAX_WANTED, PreviewCache, preview_px, wanted_previews


def test_preview_px_is_a_whole_number_capped_for_memory() -> None:
    assert preview_px(1024) == 1024
    assert preview_px(100_000) == MAX_PREVIEW_PX
    assert preview_px(3) == 256
    for bad in ("2048", 2.5, True, None):
        with pytest.raises(ValueError, match="whole number of pixels"):
            preview_px(bad)


def test_wanted_previews_takes_known_ids_only_and_a_few() -> None:
    known = {f"s{i}" for i in range(20)}
    assert wanted_previews(["s1", "s1", "nope", 5, "s2"], known) == ["s1", "s2"]
    assert len(wanted_previews(sorted(known), known)) == MAX_WANTED
    assert wanted_previews("s1", known) == []


def test_the_preview_cache_is_bounded_and_keyed_by_url_and_size() -> None:
    from qamera_widgets.engine.pictures.imaging import Thumbnail

    cache = PreviewCache(limit=2)
    pic = Thumbnail(data=b"x", format="jpeg", width=1, height=1, source_bytes=1)
    cache.put("a", "u", 512, pic)
    assert cache.get("a", "u", 512) is pic
    assert cache.get("a", "u", 1024) is None and cache.get("a", "other", 512) is None
    cache.put("b", "u", 512, pic)
    cache.put("c", "u", 512, pic)
    assert len(cache) == 2 and cache.get("a", "u", 512) is None
