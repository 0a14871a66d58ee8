"""Previews fetched from the sandbox CDN at the size the browser asks."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image

from qamera_widgets.engine.pictures.imaging import MAX_PREVIEW_PX
from qamera_widgets.widgets.gallery import SceneryGallery
from tests._widget_support import eventually, from_browser, wire


@pytest.fixture
async def gallery(gallery_for: Callable[..., Any]) -> SceneryGallery:
    view: SceneryGallery = (await gallery_for(library=4))[0]
    return view


async def test_the_preview_is_fetched_at_the_size_the_browser_asks(gallery: SceneryGallery) -> None:
    gallery.set_state({"preview_px": 256})  # what the browser's view does from its window size
    assert gallery.preview_px == 256
    first = gallery.cards[0]["id"]
    gallery.open_id = first
    await eventually(lambda: gallery.preview.get("image") == "ready")
    assert max(gallery.preview["w"], gallery.preview["h"]) <= 256
    gallery.set_state({"preview_px": "enormous"})  # a crafted update: refused, the kernel's value kept
    assert gallery.preview_px == 256
    gallery.set_state({"preview_px": 10**9})
    assert gallery.preview_px == MAX_PREVIEW_PX


async def test_neighbours_asked_ahead_are_sent_when_loaded(gallery: SceneryGallery) -> None:
    link = wire(gallery)
    gallery.set_state({"preview_px": 512})
    ids = [c["id"] for c in gallery.cards]
    gallery.open_id = ids[0]
    ahead = [ids[1], "unknown", ids[1]]  # an id it does not know, and one twice
    from_browser(gallery, {"kind": "want", "ids": [], "preview": None, "previews": ahead})
    await eventually(lambda: len(link.messages("preview")) == 1)
    [(message, [data])] = link.messages("preview")
    assert message["id"] == ids[1] and message["w"] > 0 and message["h"] > 0
    with Image.open(io.BytesIO(data)) as image:
        assert max(image.size) <= 512 and image.size == (message["w"], message["h"])
    # Stepping to it: ready at once, from what was fetched ahead.
    gallery.open_id = ids[1]
    assert gallery.preview["image"] == "ready"


async def test_the_thumbnail_size_is_one_of_three(gallery: SceneryGallery) -> None:
    assert gallery.thumb_size == "medium"
    gallery.set_state({"thumb_size": "large"})  # the browser's size control
    assert gallery.thumb_size == "large"
    gallery.set_state({"thumb_size": "huge"})  # a crafted update: refused, the kernel's value kept
    assert gallery.thumb_size == "large"
