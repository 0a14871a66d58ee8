"""The product cutout sent to widgets on a sandbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from qamera_widgets.engine.pictures.product import ProductError, read_cutout
from qamera_widgets.widgets.gallery import SceneryGallery
from tests._widget_support import eventually, from_browser, wire
from tests.unit.test_product import cutout_png, huge_png_header


@pytest.fixture
async def gallery(gallery_for: Callable[..., Any]) -> SceneryGallery:
    view: SceneryGallery = (await gallery_for(library=3))[0]
    return view


async def test_set_product_sends_the_checked_cutout_once_as_a_buffer(gallery: SceneryGallery) -> None:
    link = wire(gallery)
    gallery.set_product(cutout_png())
    assert gallery.product == {"w": 300, "h": 200, "v": 1}
    [(message, [data])] = link.messages("product")
    assert message["fmt"] == "png" and message["v"] == 1
    assert read_cutout(data).width == 300
    assert "product" not in str(gallery.get_state().get("preview")), "no bytes in the state"
    from_browser(gallery, {"kind": "hello", "ids": []})  # a second view gets it too
    assert len(link.messages("product")) == 2


async def test_a_bad_cutout_from_python_keeps_the_previous_one(gallery: SceneryGallery) -> None:
    gallery.set_product(cutout_png())
    link = wire(gallery)
    with pytest.raises(ProductError, match="over the limit"):
        gallery.set_product(huge_png_header())
    with pytest.raises(ProductError, match="not a PNG or WebP"):
        gallery.set_product(b"garbage" * 100)
    assert gallery.product["v"] == 1 and link.messages("product") == []
    gallery.set_product(None)
    assert gallery.product == {}


async def test_the_file_picker_cutout_is_checked_and_a_bad_one_is_a_message(gallery: SceneryGallery) -> None:
    link = wire(gallery)
    from_browser(gallery, {"kind": "product"}, [huge_png_header()])
    await eventually(lambda: gallery.message_kind == "error")
    assert "30000 x 30000" in gallery.message and gallery.product == {}
    from_browser(gallery, {"kind": "product"}, [b"\x89PNG\r\n\x1a\n broken"])
    await eventually(lambda: "not a PNG or WebP" in gallery.message or "damaged" in gallery.message)
    from_browser(gallery, {"kind": "product"}, [])  # a crafted message without its file
    await eventually(lambda: "did not arrive" in gallery.message)
    assert link.messages("product") == [] and gallery.product == {}

    from_browser(gallery, {"kind": "product"}, [cutout_png()])
    await eventually(lambda: gallery.product.get("w") == 300)
    assert gallery.message == "" and len(link.messages("product")) == 1
    # The view keeps working: the large view still opens and loads.
    gallery.open_id = gallery.cards[0]["id"]
    await eventually(lambda: gallery.preview.get("image") == "ready")


@pytest.mark.usefixtures("widgets_home")
async def test_studio_set_product_reaches_the_runs_and_the_library(
    make_sandbox: Callable[..., Any], closing: list[Any]
) -> None:
    from qamera_widgets.widgets.studio import Studio
    from tests._widget_support import fast_client

    sandbox = make_sandbox()
    client = fast_client(sandbox)
    closing.append(client)
    studio = Studio(client, refresh_debounce=0.1)
    closing.append(studio)
    studio.set_product(cutout_png())
    assert studio.board.product["w"] == studio.gallery.product["w"] == 300
    with pytest.raises(ProductError, match="no transparency"):
        studio.set_product(cutout_png(mode="RGB"))
    assert studio.board.product["w"] == 300, "nothing stored from the bad file"
