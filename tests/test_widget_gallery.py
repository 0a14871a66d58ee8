"""SceneryGallery state without a browser, against the sandbox over loopback."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pytest
from ipywidgets.widgets.widget import _instances
from PIL import Image

from qamera_widgets.client import AsyncQameraClient, QameraClient, Scenery
from qamera_widgets.widgets.gallery import (
    CONTACT_SHEET_LABEL_PX,
    CONTACT_SHEET_MARGIN,
    EMPTY_MESSAGE,
    LOADING_MESSAGE,
    REAL_THUMB_CLASS,
    SLOW_MESSAGE,
    SceneryGallery,
)

from ._widget_support import eventually, tree

PX = 96
MALICIOUS = "<img src=x onerror=alert(1)>"


@pytest.fixture
async def client_for() -> AsyncIterator[Callable[..., AsyncQameraClient]]:
    made: list[AsyncQameraClient] = []

    def make(sandbox: Any, api_key: str | None = None) -> AsyncQameraClient:
        key = api_key or sandbox.api_key
        client = AsyncQameraClient(api_key=key, base_url=sandbox.base_url, max_retries=0)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


@pytest.fixture
async def galleries() -> AsyncIterator[list[SceneryGallery]]:
    """Galleries made by a test, closed (and their loaders shut) even when the test fails."""
    made: list[SceneryGallery] = []
    yield made
    for gallery in made:
        gallery.close()
        await gallery.loader.aclose()


def scenery(index: int, *, status: str = "DONE", name: str | None = None, voting: str = "APPROVED",
            thumbnail: str | None = "http://127.0.0.1:9/none.jpg") -> Scenery:
    return Scenery(
        id=f"s{index}",
        name=name if name is not None else f"Scenery {index:02d}",
        thumbnail=thumbnail if status == "DONE" else None,
        status=status,
        voting=voting,
        created_at=datetime(2026, 3, 20, tzinfo=timezone.utc) + timedelta(hours=index),
    )


def tree_ids(gallery: SceneryGallery) -> set[str]:
    return {w.model_id for w in tree(gallery)}


def visible_cards(gallery: SceneryGallery) -> list[Any]:
    return [card for card in gallery._cards if card.box.layout.display != "none"]


def decoded(card: Any) -> Image.Image:
    image = Image.open(io.BytesIO(bytes(card.image.value)))
    image.load()
    return image


async def test_first_page_shows_real_thumbnails_of_the_promised_size(make_sandbox, client_for, galleries):
    sandbox = make_sandbox(library=12)
    gallery = SceneryGallery(client_for(sandbox), thumb_px=PX, page_size=8, autoload=False)
    galleries.append(gallery)
    await gallery.refresh()

    cards = visible_cards(gallery)
    assert len(cards) == 8
    for card in cards:
        image = decoded(card)
        assert image.format in ("JPEG", "WEBP")
        assert card.image.format == image.format.lower()
        assert image.size == (PX, PX)
        assert card.thumb.placeholder is None
        assert REAL_THUMB_CLASS in card.image._dom_classes
        assert 0 < len(card.image.value) < 20_000
    assert len(gallery.sceneries) == 12
    assert "12 of 12" in gallery._count.value
    assert "page 1 of 2" in gallery._page_label.value
    assert gallery.status_message == ""


async def test_autoload_starts_loading_without_a_call(make_sandbox, client_for, galleries):
    sandbox = make_sandbox(library=5)
    gallery = SceneryGallery(client_for(sandbox), thumb_px=PX, page_size=8)
    galleries.append(gallery)
    await gallery.wait_idle()
    assert len(gallery.sceneries) == 5
    assert all(card.thumb.placeholder is None for card in visible_cards(gallery))


async def test_sync_client_is_used_through_its_async_client(make_sandbox, galleries):
    sandbox = make_sandbox(library=3)
    client = QameraClient(api_key=sandbox.api_key, base_url=sandbox.base_url)
    gallery = SceneryGallery(client, thumb_px=PX, autoload=False)
    galleries.append(gallery)
    await gallery.refresh()
    assert gallery._client is client.async_client
    assert len(gallery.sceneries) == 3
    await client.async_client.aclose()


async def test_cdn_failures_become_failed_placeholders(make_sandbox, client_for, galleries):
    sandbox = make_sandbox(library=6)
    sandbox.set_faults(cdn_error_rate=1.0)
    gallery = SceneryGallery(client_for(sandbox), thumb_px=PX, page_size=8, autoload=False)
    galleries.append(gallery)
    await gallery.refresh()

    failed = gallery.loader.placeholder("failed", size=PX)
    for card in visible_cards(gallery):
        assert card.thumb.placeholder == "failed"
        assert REAL_THUMB_CLASS not in card.image._dom_classes
        assert bytes(card.image.value) == failed.data
        assert decoded(card).size == (PX, PX)
    assert gallery.status_message == ""


async def test_unfinished_and_pictureless_sceneries_get_their_placeholders(make_sandbox, client_for,
                                                                            galleries):
    sandbox = make_sandbox(library=0)
    gallery = SceneryGallery(client_for(sandbox), thumb_px=PX, autoload=False)
    galleries.append(gallery)
    gallery.show_sceneries([
        scenery(1, status="PENDING"),
        scenery(2, status="PROCESSING"),
        scenery(3, status="FAILED"),
        scenery(4, thumbnail=None),
    ])
    await gallery.wait_idle()
    kinds = {card.scenery.id: card.thumb.placeholder for card in visible_cards(gallery)}
    assert kinds == {"s1": "rendering", "s2": "rendering", "s3": "failed", "s4": "no preview"}
    assert not any(REAL_THUMB_CLASS in card.image._dom_classes for card in gallery._cards)


async def test_a_card_that_shows_a_placeholder_again_loses_the_real_thumbnail_class(
    make_sandbox, client_for, galleries
):
    sandbox = make_sandbox(library=2, cdn_latency_ms=300)
    gallery = SceneryGallery(client_for(sandbox), thumb_px=PX, autoload=False)
    galleries.append(gallery)
    await gallery.refresh()
    first = visible_cards(gallery)[0]
    assert REAL_THUMB_CLASS in first.image._dom_classes
    # Another list puts a new scenery on the card: its loading tile is not a real thumbnail.
    gallery.show_sceneries([scenery(90, thumbnail=first.scenery.thumbnail + "?new")])
    assert REAL_THUMB_CLASS not in gallery._cards[0].image._dom_classes
    await gallery.wait_idle()
    assert REAL_THUMB_CLASS in gallery._cards[0].image._dom_classes


async def test_a_hostile_name_is_shown_as_text(make_sandbox, client_for, galleries):
    sandbox = make_sandbox(library=2, processing_seconds=(30, 30))
    client = client_for(sandbox)
    await client.register_ideas(MALICIOUS, count=1)
    gallery = SceneryGallery(client, thumb_px=PX, autoload=False)
    galleries.append(gallery)
    await gallery.refresh()

    [card] = [c for c in visible_cards(gallery) if c.scenery.name.startswith(MALICIOUS)]
    assert "&lt;img" in card.name.value
    assert "<img" not in card.name.value
    html = gallery._repr_mimebundle_()["text/html"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert MALICIOUS not in html


async def test_show_sceneries_escapes_every_server_string(make_sandbox, client_for, galleries):
    sandbox = make_sandbox(library=0)
    gallery = SceneryGallery(client_for(sandbox), thumb_px=PX, autoload=False)
    galleries.append(gallery)
    gallery.show_sceneries([
        Scenery(id="x", name=MALICIOUS, thumbnail=None, status="<b>ODD</b>", voting="<script>1</script>",
                created_at=None)
    ])
    await gallery.wait_idle()
    card = gallery._cards[0]
    assert "&lt;img" in card.name.value and "<img" not in card.name.value
    assert "&lt;b&gt;ODD&lt;/b&gt;" in card.meta.value and "<b>" not in card.meta.value.lower()
    assert "<script>" not in card.meta.value


async def test_paging_and_refresh_reuse_the_same_widgets(make_sandbox, client_for, galleries):
    sandbox = make_sandbox(library=20, rate_limit=None)
    gallery = SceneryGallery(client_for(sandbox), thumb_px=PX, page_size=8, autoload=False)
    galleries.append(gallery)
    await gallery.refresh()
    before_ids = tree_ids(gallery)
    before_objects = [(card.box, card.image, card.name, card.select) for card in gallery._cards]
    live_before = len(_instances)
    first_page = [card.scenery.id for card in visible_cards(gallery)]

    gallery._next.click()
    await gallery.wait_idle()
    assert "page 2 of 3" in gallery._page_label.value
    gallery.page = 2
    await gallery.wait_idle()
    assert len(visible_cards(gallery)) == 4
    assert [card.box.layout.display for card in gallery._cards[4:]] == ["none"] * 4
    assert all(decoded(card).size == (PX, PX) for card in visible_cards(gallery))
    for _ in range(3):
        await gallery.refresh()
    gallery.page = 0
    await gallery.wait_idle()

    assert tree_ids(gallery) == before_ids
    assert [(card.box, card.image, card.name, card.select) for card in gallery._cards] == before_objects
    assert len(_instances) == live_before
    assert [card.scenery.id for card in visible_cards(gallery)] == first_page


async def test_a_late_thumbnail_never_lands_on_a_card_that_moved_on(make_sandbox, client_for, galleries):
    sandbox = make_sandbox(library=16, cdn_latency_ms=150)
    gallery = SceneryGallery(client_for(sandbox), thumb_px=PX, page_size=8, autoload=False)
    galleries.append(gallery)
    gallery.show_sceneries(await gallery._client.list_sceneries())
    gallery.page = 1  # while page 1's thumbnails are still downloading
    await gallery.wait_idle()

    for card in visible_cards(gallery):
        expected = await gallery.loader.load(card.scenery.thumbnail, size=PX)
        assert bytes(card.image.value) == expected.data

    card = gallery._cards[0]
    shown = bytes(card.image.value)
    other = gallery.sceneries[0].thumbnail  # page 0's first picture, loaded for an older generation
    await gallery._load_card(card, card.generation - 1, other)
    assert bytes(card.image.value) == shown


async def test_an_older_refresh_never_overwrites_a_list_shown_after_it(make_sandbox, client_for, galleries):
    sandbox = make_sandbox(library=3)
    client = client_for(sandbox)
    gallery = SceneryGallery(client, thumb_px=PX, autoload=False)
    galleries.append(gallery)
    listing = asyncio.Event()
    answer = asyncio.Event()
    list_sceneries = client.list_sceneries

    async def held_list(status_filter: str = "all") -> list[Scenery]:
        found = await list_sceneries(status_filter)
        listing.set()
        await answer.wait()
        return found

    client.list_sceneries = held_list  # type: ignore[method-assign]
    refreshing = asyncio.ensure_future(gallery.refresh())
    await asyncio.wait_for(listing.wait(), 10)
    newer = [scenery(n, status="PROCESSING") for n in range(5)]
    gallery.show_sceneries(newer)
    answer.set()
    await refreshing
    await gallery.wait_idle()
    assert [s.id for s in gallery.sceneries] == [s.id for s in reversed(newer)]
    assert "5 of 5" in gallery._count.value


async def test_show_sceneries_makes_no_request_and_keeps_unchanged_cards(make_sandbox, client_for,
                                                                         galleries):
    sandbox = make_sandbox(library=6)
    gallery = SceneryGallery(client_for(sandbox), thumb_px=PX, autoload=False)
    galleries.append(gallery)
    await gallery.refresh()
    listed = sandbox.stats()["list_requests"]
    downloads = gallery.loader.stats["downloads"]
    images = [bytes(card.image.value) for card in visible_cards(gallery)]

    gallery.show_sceneries(list(gallery.sceneries))
    await gallery.wait_idle()
    assert sandbox.stats()["list_requests"] == listed
    assert gallery.loader.stats["downloads"] == downloads
    assert [bytes(card.image.value) for card in visible_cards(gallery)] == images


async def test_selection_is_a_trait_and_survives_paging(make_sandbox, client_for, galleries):
    sandbox = make_sandbox(library=12)
    gallery = SceneryGallery(client_for(sandbox), thumb_px=PX, page_size=4, autoload=False)
    galleries.append(gallery)
    await gallery.refresh()
    seen: list[list[str]] = []
    gallery.observe(lambda change: seen.append(list(change["new"])), "selected_ids")

    first, third = gallery._cards[0], gallery._cards[2]
    first.select.value = True
    third.select.value = True
    picked = [first.scenery.id, third.scenery.id]
    assert gallery.selected_ids == picked
    assert [s.id for s in gallery.selected] == picked
    assert seen[-1] == picked

    gallery.page = 1
    await gallery.wait_idle()
    assert not any(card.select.value for card in gallery._cards)
    gallery.page = 0
    await gallery.wait_idle()
    assert [card.select.value for card in gallery._cards] == [True, False, True, False]

    gallery.selected_ids = [picked[1]]
    assert [card.select.value for card in gallery._cards] == [False, False, True, False]
    first.select.value = False
    assert gallery.selected_ids == [picked[1]]


async def test_local_filters_search_and_sort(make_sandbox, client_for, galleries):
    sandbox = make_sandbox(library=0)
    gallery = SceneryGallery(client_for(sandbox), thumb_px=PX, page_size=2, autoload=False)
    galleries.append(gallery)
    gallery.show_sceneries([
        scenery(1, name="Beach at noon"),
        scenery(2, name="marble studio", status="PROCESSING"),
        scenery(3, name="Aqua tiles", status="FAILED"),
        scenery(4, name="Beach at dusk", status="PENDING"),
        Scenery(id="s5", name="Undated", thumbnail=None, status="DONE", voting=None, created_at=None),
    ])
    await gallery.wait_idle()
    assert [s.id for s in gallery.sceneries] == ["s4", "s3", "s2", "s1", "s5"]
    gallery.page = 2

    gallery._state.value = "in progress"
    assert [s.id for s in gallery.sceneries] == ["s4", "s2"]
    assert gallery.page == 0
    assert "2 of 5" in gallery._count.value
    gallery.state_filter = "done"
    assert [s.id for s in gallery.sceneries] == ["s1", "s5"]
    gallery.state_filter = "failed"
    assert [s.id for s in gallery.sceneries] == ["s3"]

    gallery.state_filter = "all"
    gallery._search.value = "BEACH"
    assert [s.id for s in gallery.sceneries] == ["s4", "s1"]
    gallery.search = "nothing like this"
    assert gallery.sceneries == []
    assert gallery.status_message == "No sceneries match these filters."
    assert visible_cards(gallery) == []

    gallery.search = ""
    gallery._sort.value = "oldest"
    assert [s.id for s in gallery.sceneries] == ["s1", "s2", "s3", "s4", "s5"]
    gallery.sort = "name"
    assert [s.name for s in gallery.sceneries] == [
        "Aqua tiles", "Beach at dusk", "Beach at noon", "marble studio", "Undated"
    ]
    await gallery.wait_idle()


async def test_approved_toggle_fetches_the_approved_list(make_sandbox, client_for, galleries):
    sandbox = make_sandbox(library=12)
    gallery = SceneryGallery(client_for(sandbox), thumb_px=PX, page_size=24, autoload=False)
    galleries.append(gallery)
    await gallery.refresh()
    everything = len(gallery.sceneries)
    listed = sandbox.stats()["list_requests"]

    gallery._approved.value = "approved"
    await gallery.wait_idle()
    assert sandbox.stats()["list_requests"] == listed + 1
    assert gallery.status_filter == "approved"
    assert gallery.sceneries and all(s.is_approved for s in gallery.sceneries)
    assert len(gallery.sceneries) < everything
    assert f"{len(gallery.sceneries)} of {len(gallery.sceneries)}" in gallery._count.value

    gallery._refresh_button.click()
    await gallery.wait_idle()
    assert sandbox.stats()["list_requests"] == listed + 2


async def test_a_rejected_key_is_reported_in_plain_words(make_sandbox, client_for, galleries):
    sandbox = make_sandbox(library=3)
    gallery = SceneryGallery(client_for(sandbox, "mk_live_nokey.secret"), thumb_px=PX, autoload=False)
    galleries.append(gallery)
    await gallery.refresh()
    assert "rejected (401)" in gallery.status_message
    assert "rejected (401)" in gallery._status.value
    assert "Traceback" not in gallery._status.value
    assert gallery.sceneries == []


async def test_an_error_after_a_good_load_keeps_the_cards(make_sandbox, client_for, galleries):
    sandbox = make_sandbox(library=3)
    gallery = SceneryGallery(client_for(sandbox), thumb_px=PX, autoload=False)
    galleries.append(gallery)
    await gallery.refresh()
    sandbox.set_faults(api_error_rate=1.0)
    await gallery.refresh()
    assert "(500)" in gallery.status_message
    assert "Showing the list loaded before." in gallery.status_message
    assert len(visible_cards(gallery)) == 3
    sandbox.set_faults(api_error_rate=0.0)
    await gallery.refresh()
    assert gallery.status_message == ""


async def test_loading_and_a_slow_server_are_said_in_plain_words(make_sandbox, client_for, galleries):
    sandbox = make_sandbox(library=2, api_latency_ms=800)
    gallery = SceneryGallery(client_for(sandbox), thumb_px=PX, autoload=False, slow_after=0.1)
    galleries.append(gallery)
    refreshing = asyncio.ensure_future(gallery.refresh())
    await asyncio.sleep(0)
    assert gallery.status_message == LOADING_MESSAGE
    await eventually(lambda: gallery.status_message == SLOW_MESSAGE)
    assert "retrying" in gallery._status.value
    await refreshing
    assert gallery.status_message == ""
    assert len(gallery.sceneries) == 2


async def test_an_empty_account_invites_to_generate(make_sandbox, client_for, galleries):
    sandbox = make_sandbox(library=0)
    gallery = SceneryGallery(client_for(sandbox), thumb_px=PX, autoload=False)
    galleries.append(gallery)
    await gallery.refresh()
    assert gallery.status_message == EMPTY_MESSAGE
    assert "generate some with PromptForm" in gallery._status.value
    assert visible_cards(gallery) == []
    assert "0 of 0" in gallery._count.value


async def test_contact_sheet_of_the_selection(make_sandbox, client_for, galleries, tmp_path: Path):
    sandbox = make_sandbox(library=8)
    gallery = SceneryGallery(client_for(sandbox), thumb_px=PX, columns=2, page_size=4, autoload=False)
    galleries.append(gallery)
    await gallery.refresh()
    with pytest.raises(ValueError, match="select"):
        gallery.contact_sheet()

    gallery._cards[0].select.value = True
    gallery._cards[1].select.value = True
    gallery.selected_ids = [*gallery.selected_ids, gallery.sceneries[6].id]  # one from another page
    await gallery.wait_idle()
    sheet = gallery.contact_sheet()
    cell = PX + CONTACT_SHEET_MARGIN
    assert sheet.size == (2 * cell + CONTACT_SHEET_MARGIN,
                          2 * (cell + CONTACT_SHEET_LABEL_PX) + CONTACT_SHEET_MARGIN)
    # The off-page thumbnail is a real picture, not a grey placeholder.
    corner = sheet.crop((CONTACT_SHEET_MARGIN, cell + CONTACT_SHEET_LABEL_PX + CONTACT_SHEET_MARGIN,
                         CONTACT_SHEET_MARGIN + PX, 2 * cell + CONTACT_SHEET_LABEL_PX))
    assert len(corner.getcolors(PX * PX)) > 50

    everything = gallery.contact_sheet(selected_only=False)
    assert everything.size == (2 * cell + CONTACT_SHEET_MARGIN,
                               4 * (cell + CONTACT_SHEET_LABEL_PX) + CONTACT_SHEET_MARGIN)

    png = gallery.save_contact_sheet(tmp_path / "review.png")
    jpg = gallery.save_contact_sheet(str(tmp_path / "review.JPG"))
    with Image.open(png) as image:
        assert (image.format, image.size) == ("PNG", sheet.size)
    with Image.open(jpg) as image:
        assert (image.format, image.size) == ("JPEG", sheet.size)
    with pytest.raises(ValueError, match=r"\.png"):
        gallery.save_contact_sheet(tmp_path / "review.gif")


async def test_static_html_fallback_inlines_the_loaded_thumbnails(make_sandbox, client_for, galleries):
    sandbox = make_sandbox(library=5)
    gallery = SceneryGallery(client_for(sandbox), thumb_px=PX, autoload=False)
    galleries.append(gallery)
    await gallery.refresh()
    bundle = gallery._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == gallery.model_id
    html = bundle["text/html"]
    assert html.count("data:image/jpeg;base64,") == 5
    assert "http://" not in html
    assert "5 of 5" in html


async def test_no_credentials_reach_the_cdn_or_the_widget_state(make_sandbox, client_for, galleries):
    sandbox = make_sandbox(library=12)
    gallery = SceneryGallery(client_for(sandbox), thumb_px=PX, page_size=8, autoload=False)
    galleries.append(gallery)
    await gallery.refresh()
    gallery.page = 1
    await gallery.wait_idle()
    stats = sandbox.stats()
    assert stats["cdn_requests"] > 0
    assert stats["cdn_requests_with_credentials"] == 0

    secret = sandbox.api_key.split(".", 1)[1]
    states = [w.get_state() for w in tree(gallery)]
    text = json.dumps(states, default=lambda value: bytes(value).decode("latin-1"))
    text += gallery._repr_mimebundle_()["text/html"] + repr(gallery)
    assert sandbox.api_key not in text
    assert secret not in text


async def test_close_stops_tasks_and_closes_every_widget(make_sandbox, client_for):
    sandbox = make_sandbox(library=12, cdn_latency_ms=200)
    gallery = SceneryGallery(client_for(sandbox), thumb_px=PX, page_size=8)
    await eventually(lambda: gallery._page_task is not None)  # thumbnails are on their way
    everything = tree(gallery)
    ids = [w.model_id for w in everything]
    assert len(everything) > 8 * 4
    running = list(gallery._tasks._tasks)
    assert running
    gallery.close()
    assert all(w.comm is None for w in everything)
    assert not any(model_id in _instances for model_id in ids)
    await asyncio.wait(running, timeout=2)
    assert all(task.cancelled() for task in running)
    await gallery.wait_idle()
    assert isinstance(gallery, widgets.VBox)


async def test_bad_arguments_are_refused_before_anything_is_built(make_sandbox, client_for):
    client = client_for(make_sandbox(library=0))
    with pytest.raises(ValueError, match="'all' or 'approved'"):
        SceneryGallery(client, status_filter="done", autoload=False)
    with pytest.raises(ValueError, match="page_size"):
        SceneryGallery(client, page_size=0, autoload=False)
    with pytest.raises(TypeError, match="QameraClient"):
        SceneryGallery("not a client", autoload=False)  # type: ignore[arg-type]
