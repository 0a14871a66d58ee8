"""SceneryGallery (the library) through its public traits, against the sandbox over loopback."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from qamera_widgets.client import AsyncQameraClient, QameraClient, Scenery
from qamera_widgets.engine.jobs.journal import Journal
from qamera_widgets.widgets.canvas import PATCH_WINDOW_SECONDS
from qamera_widgets.widgets.gallery import (
    EMPTY_MESSAGE,
    LOADING_MESSAGE,
    NO_MATCH_MESSAGE,
    SLOW_MESSAGE,
    SceneryGallery,
)
from tests._widget_support import (
    assert_key_absent,
    displayed,
    eventually,
    from_browser,
    live_models,
    settled,
    tree,
    wire,
)
from tests.helpers.records import make_registration

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
async def make_gallery() -> AsyncIterator[Callable[..., SceneryGallery]]:
    """`make_gallery(client, **options)`: a SceneryGallery (`thumb_px=PX` unless given), closed and its
    loader shut at teardown even when the test fails."""
    made: list[SceneryGallery] = []

    def make(client: Any, **options: Any) -> SceneryGallery:
        options.setdefault("thumb_px", PX)
        gallery = SceneryGallery(client, **options)
        made.append(gallery)
        return gallery

    yield make
    for gallery in made:
        gallery.close()
        await gallery.loader.aclose()


def scenery(
    index: int,
    *,
    status: str = "DONE",
    name: str | None = None,
    voting: str = "APPROVED",
    thumbnail: str | None = "http://127.0.0.1:9/none.jpg",
) -> Scenery:
    return Scenery(
        id=f"s{index}",
        name=name if name is not None else f"Scenery {index:02d}",
        thumbnail=thumbnail if status == "DONE" else None,
        status=status,
        voting=voting,
        created_at=datetime(2026, 3, 20, tzinfo=timezone.utc) + timedelta(hours=index),
    )


def ids(gallery: SceneryGallery) -> list[str]:
    return [card["id"] for card in gallery.cards]


def decoded(gallery: SceneryGallery, scenery_id: str) -> Image.Image:
    thumb = gallery.thumbnail_of(scenery_id)
    assert thumb is not None, f"no picture loaded for {scenery_id}"
    image = Image.open(io.BytesIO(thumb.data))
    image.load()
    return image


async def test_first_page_shows_real_thumbnails_of_the_promised_size(make_sandbox, client_for, make_gallery):
    sandbox = make_sandbox(library=12)
    gallery = make_gallery(client_for(sandbox), page_size=8, autoload=False)
    await gallery.refresh()

    assert len(gallery.cards) == 8
    for card in gallery.cards:
        assert card["state"] == "done" and card["thumb"] > 0
        image = decoded(gallery, card["id"])
        assert image.format in ("JPEG", "WEBP") and image.size == (PX, PX)
        assert 0 < len(gallery.thumbnail_of(card["id"]).data) < 20_000
    assert len(gallery.sceneries) == 12
    assert gallery.count_text == "1-8 of 12", "what is shown, of what matches"
    assert (gallery.page, gallery.page_count) == (0, 2)
    assert gallery.status_message == "" and gallery.message == ""


async def test_autoload_starts_loading_without_a_call(make_sandbox, client_for, make_gallery):
    sandbox = make_sandbox(library=5)
    gallery = make_gallery(client_for(sandbox), page_size=8)
    await gallery.wait_idle()
    assert len(gallery.sceneries) == 5
    assert all(card["thumb"] > 0 for card in gallery.cards)


async def test_refresh_right_after_construction_returns_once_the_list_is_shown(
    make_sandbox, client_for, make_gallery
):
    sandbox = make_sandbox(library=6, api_latency_ms=150)
    gallery = make_gallery(client_for(sandbox))  # autoload starts its own refresh
    await gallery.refresh()
    assert len(gallery.sceneries) == 6 and len(gallery.cards) == 6
    assert gallery.count_text == "1-6 of 6" and gallery.message == ""
    assert all(card["thumb"] > 0 for card in gallery.cards), "and the page's pictures are loaded"


async def test_sync_client_is_used_through_its_async_client(make_sandbox, make_gallery):
    sandbox = make_sandbox(library=3)
    client = QameraClient(api_key=sandbox.api_key, base_url=sandbox.base_url)
    gallery = make_gallery(client, autoload=False)
    await gallery.refresh()
    assert len(gallery.sceneries) == 3 and gallery.count_text == "1-3 of 3"
    await client.async_client.aclose()


async def test_cdn_failures_leave_cards_without_a_picture(make_sandbox, client_for, make_gallery):
    sandbox = make_sandbox(library=6)
    sandbox.set_faults(cdn_error_rate=1.0)
    gallery = make_gallery(client_for(sandbox), page_size=8, autoload=False)
    link = wire(gallery)
    await gallery.refresh()
    assert len(gallery.cards) == 6
    for card in gallery.cards:
        assert card["state"] == "done" and card["thumb"] == 0
        assert gallery.thumbnail_of(card["id"]) is None
    from_browser(gallery, {"kind": "want", "ids": ids(gallery)})
    assert link.messages("thumbs") == []
    assert gallery.status_message == ""


async def test_unfinished_and_pictureless_sceneries_show_their_state_and_no_picture(
    make_sandbox, client_for, make_gallery
):
    sandbox = make_sandbox(library=0)
    gallery = make_gallery(client_for(sandbox), autoload=False)
    gallery.show_sceneries(
        [
            scenery(1, status="PENDING"),
            scenery(2, status="PROCESSING"),
            scenery(3, status="FAILED"),
            scenery(4, thumbnail=None),
        ]
    )
    await gallery.wait_idle()
    gallery.state_filter = "failed"  # "all" leaves failed pictures out (issue 21)
    assert [c["id"] for c in gallery.cards] == ["s3"]
    failed = gallery.cards[0]
    gallery.state_filter = "all"
    shown = {c["id"]: (c["state"], c["label"], c["thumb"]) for c in [*gallery.cards, failed]}
    assert shown == {
        "s1": ("queued", "Queued", 0),
        "s2": ("processing", "Processing", 0),
        "s3": ("failed", "Failed · credits refunded", 0),
        "s4": ("done", "", 0),
    }
    assert gallery.count_text == "1-3 of 3 · 1 failed not shown"
    assert sandbox.stats()["cdn_requests"] == 0


async def test_a_card_whose_picture_changes_drops_the_old_version_then_shows_the_new(
    make_sandbox, client_for, make_gallery
):
    sandbox = make_sandbox(library=2, cdn_latency_ms=300)
    gallery = make_gallery(client_for(sandbox), autoload=False)
    await gallery.refresh()
    first = gallery.sceneries[0]
    old_version = gallery.cards[0]["thumb"]
    assert old_version > 0
    moved = Scenery(first.id, first.name, f"{first.thumbnail}?new", "DONE", first.voting, first.created_at)
    gallery.show_sceneries([moved, *gallery.sceneries[1:]])
    assert gallery.cards[0]["thumb"] == 0, "the old picture is not shown for the new URL"
    await gallery.wait_idle()
    assert gallery.cards[0]["thumb"] > old_version


async def test_a_hostile_name_is_data_for_the_view_and_escaped_in_the_static_copy(
    make_sandbox, client_for, make_gallery
):
    sandbox = make_sandbox(library=2, processing_seconds=(30, 30))
    client = client_for(sandbox)
    await client.register_ideas(MALICIOUS, count=1)
    gallery = make_gallery(client, autoload=False)
    await gallery.refresh()

    [card] = [c for c in gallery.cards if c["name"].startswith(MALICIOUS)]
    assert card["state"] in ("queued", "processing")
    html = displayed(gallery)["text/html"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert MALICIOUS not in html


async def test_unknown_statuses_and_votes_are_shown_as_sent_and_escaped(
    make_sandbox, client_for, make_gallery
):
    sandbox = make_sandbox(library=0)
    gallery = make_gallery(client_for(sandbox), autoload=False)
    gallery.show_sceneries(
        [
            Scenery(
                id="x",
                name=MALICIOUS,
                thumbnail=None,
                status="<b>ODD</b>",
                voting="<script>1</script>",
                created_at=None,
            )
        ]
    )
    await gallery.wait_idle()
    [card] = gallery.cards
    assert (card["name"], card["state"], card["label"], card["vote"]) == (
        MALICIOUS,
        "other",
        "<b>ODD</b>",
        "none",
    )
    html = gallery.static_html()
    assert "&lt;b&gt;ODD&lt;/b&gt;" in html and "<b>" not in html and "<script>" not in html


async def test_the_next_page_is_fetched_only_once_the_visible_page_is_held(
    make_sandbox, client_for, make_gallery
):
    sandbox = make_sandbox(library=8, cdn_latency_ms=50)
    gallery = make_gallery(client_for(sandbox), page_size=4, autoload=False)
    events: list[tuple[str, str]] = []
    load = gallery.loader.load

    async def recording(url: str | None, *, size: int | None = None) -> Any:
        events.append(("asked", url or ""))
        thumb = await load(url, size=size)
        events.append(("held", url or ""))
        return thumb

    gallery.loader.load = recording
    await gallery.refresh()
    visible = [s.thumbnail for s in gallery.sceneries[:4]]
    following = [s.thumbnail for s in gallery.sceneries[4:8]]
    await eventually(lambda: {u for kind, u in events if kind == "held"} >= {*visible, *following})

    last_visible_held = max(n for n, (kind, u) in enumerate(events) if kind == "held" and u in visible)
    first_next_asked = min(n for n, (kind, u) in enumerate(events) if kind == "asked" and u in following)
    assert last_visible_held < first_next_asked, "the next page waited for the page a person looks at"


async def test_paging_and_refresh_keep_one_widget_model(make_sandbox, client_for, make_gallery):
    sandbox = make_sandbox(library=20)
    gallery = make_gallery(client_for(sandbox), page_size=8, autoload=False)
    await gallery.refresh()
    models = [w.model_id for w in tree(gallery)]
    live_before = live_models()
    first_page = ids(gallery)

    gallery.page = 1  # what "Next" in the view does
    await gallery.wait_idle()
    assert gallery.page_count == 3 and len(gallery.cards) == 8
    assert set(ids(gallery)).isdisjoint(first_page)
    gallery.page = 7
    assert gallery.page == 2, "a page past the end is clamped"
    await gallery.wait_idle()
    assert len(gallery.cards) == 4
    assert all(decoded(gallery, i).size == (PX, PX) for i in ids(gallery))
    for _ in range(3):
        await gallery.refresh()
    gallery.page = 0
    await gallery.wait_idle()

    assert [w.model_id for w in tree(gallery)] == models
    assert len(models) <= 2 and live_models() == live_before
    assert ids(gallery) == first_page


async def test_a_late_thumbnail_never_lands_on_a_card_that_moved_on(make_sandbox, client_for, make_gallery):
    sandbox = make_sandbox(library=16, cdn_latency_ms=150)
    gallery = make_gallery(client_for(sandbox), page_size=8, autoload=False)
    link = wire(gallery)
    gallery.show_sceneries(await AsyncQameraClient(sandbox.api_key, sandbox.base_url).list_sceneries())
    gallery.page = 1  # while page 0's thumbnails are still downloading
    await gallery.wait_idle()

    shown = {s.id: s for s in gallery.sceneries}
    from_browser(gallery, {"kind": "want", "ids": ids(gallery)})
    [(message, buffers)] = link.messages("thumbs")
    assert [item["id"] for item in message["pictures"]] == ids(gallery)
    for item, data in zip(message["pictures"], buffers, strict=True):
        expected = await gallery.loader.load(shown[item["id"]].thumbnail, size=PX)
        assert data == expected.data, "each card carries its own scenery's picture"
    patched = [c["id"] for m, _ in link.messages("patch") for c in m["cards"]]
    assert set(patched) <= set(ids(gallery)) | set(shown), "patches only name cards that exist"
    cards_now = {c["id"]: c["thumb"] for c in gallery.cards}
    assert all(v > 0 for v in cards_now.values())


async def test_an_older_refresh_never_overwrites_a_list_shown_after_it(
    make_sandbox, client_for, make_gallery
):
    sandbox = make_sandbox(library=3)
    client = client_for(sandbox)
    gallery = make_gallery(client, autoload=False)
    listing = asyncio.Event()
    answer = asyncio.Event()
    list_sceneries = client.list_sceneries

    async def held_list(status_filter: str = "all") -> list[Scenery]:
        found: list[Scenery] = await list_sceneries(status_filter)
        listing.set()
        await answer.wait()
        return found

    client.list_sceneries = held_list
    refreshing = asyncio.ensure_future(gallery.refresh())
    await asyncio.wait_for(listing.wait(), 10)
    newer = [scenery(n, status="PROCESSING") for n in range(5)]
    gallery.show_sceneries(newer)
    answer.set()
    await refreshing
    await gallery.wait_idle()
    assert [s.id for s in gallery.sceneries] == [s.id for s in reversed(newer)]
    assert gallery.count_text == "1-5 of 5"


async def test_show_sceneries_makes_no_request_and_sends_nothing_when_nothing_changed(
    make_sandbox, client_for, make_gallery
):
    sandbox = make_sandbox(library=6)
    gallery = make_gallery(client_for(sandbox), autoload=False)
    await gallery.refresh()
    listed = sandbox.stats()["list_requests"]
    downloads = gallery.loader.stats["downloads"]
    cards = json.dumps(gallery.cards)
    link = wire(gallery)

    gallery.show_sceneries(list(gallery.sceneries))
    await gallery.wait_idle()
    assert sandbox.stats()["list_requests"] == listed
    assert gallery.loader.stats["downloads"] == downloads
    assert json.dumps(gallery.cards) == cards
    assert link.sent == [], "an unchanged list sends the browser nothing"


async def test_a_changed_vote_goes_out_as_a_patch_of_that_card_only(make_sandbox, client_for, make_gallery):
    sandbox = make_sandbox(library=8)
    gallery = make_gallery(client_for(sandbox), autoload=False)
    await gallery.refresh()
    link = wire(gallery)
    from_browser(gallery, {"kind": "hello", "ids": []})  # a view is drawn and listening
    link.clear()
    listing = gallery.sceneries
    target = listing[3]
    flipped = "REJECTED" if target.voting != "REJECTED" else "APPROVED"
    changed = Scenery(target.id, target.name, target.thumbnail, target.status, flipped, target.created_at)
    gallery.show_sceneries([changed if s.id == target.id else s for s in listing])
    await asyncio.sleep(PATCH_WINDOW_SECONDS * 2)  # changes gathered in one window go out together
    [(patch, buffers)] = link.messages("patch")
    assert [c["id"] for c in patch["cards"]] == [target.id] and buffers == []
    assert patch["cards"][0]["vote"] == flipped.lower()
    assert all("cards" not in update for update in link.updates()), "the card list is not resent"
    assert gallery.get_state()["cards"][3]["vote"] == flipped.lower(), "and the trait holds the change"


async def test_selection_is_a_trait_and_survives_paging(make_sandbox, client_for, make_gallery):
    sandbox = make_sandbox(library=12)
    gallery = make_gallery(client_for(sandbox), page_size=4, autoload=False)
    await gallery.refresh()
    picked = [gallery.cards[0]["id"], gallery.cards[2]["id"]]
    gallery.selected_ids = picked  # what ticking two boxes in the view does
    assert [s.id for s in gallery.selected] == picked
    gallery.page = 1
    await gallery.wait_idle()
    assert gallery.selected_ids == picked
    picked.append(gallery.cards[1]["id"])
    gallery.selected_ids = picked
    gallery.page = 0
    await gallery.wait_idle()
    assert [s.id for s in gallery.selected] == picked
    gallery.selected_ids = []
    assert gallery.selected == []


async def test_local_filters_search_and_sort(make_sandbox, client_for, make_gallery):
    sandbox = make_sandbox(library=0)
    gallery = make_gallery(client_for(sandbox), page_size=2, autoload=False)
    gallery.show_sceneries(
        [
            scenery(1, name="Beach at noon"),
            scenery(2, name="marble studio", status="PROCESSING"),
            scenery(3, name="Aqua tiles", status="FAILED"),
            scenery(4, name="Beach at dusk", status="PENDING"),
            Scenery(id="s5", name="Undated", thumbnail=None, status="DONE", voting=None, created_at=None),
        ]
    )
    await gallery.wait_idle()
    assert [s.id for s in gallery.sceneries] == ["s4", "s2", "s1", "s5"], "failed (s3) only when asked"
    assert ids(gallery) == ["s4", "s2"] and gallery.page_count == 2
    assert gallery.count_text == "1-2 of 4 · 1 failed not shown"
    gallery.page = 1
    assert ids(gallery) == ["s1", "s5"]

    gallery.state_filter = "in progress"
    assert [s.id for s in gallery.sceneries] == ["s4", "s2"]
    assert gallery.page == 0 and gallery.page_count == 1
    assert gallery.count_text == "1-2 of 2 · 5 loaded"
    gallery.state_filter = "done"
    assert [s.id for s in gallery.sceneries] == ["s1", "s5"]
    gallery.state_filter = "failed"
    assert [s.id for s in gallery.sceneries] == ["s3"]

    gallery.state_filter = "all"
    gallery.search = "BEACH"
    assert [s.id for s in gallery.sceneries] == ["s4", "s1"]
    gallery.search = "nothing like this"
    assert gallery.sceneries == [] and gallery.cards == []
    assert gallery.status_message == NO_MATCH_MESSAGE

    gallery.search = ""
    gallery.sort = "oldest"
    assert [s.id for s in gallery.sceneries] == ["s1", "s2", "s4", "s5"]
    gallery.sort = "name"
    assert [s.name for s in gallery.sceneries] == [
        "Beach at dusk",
        "Beach at noon",
        "marble studio",
        "Undated",
    ]
    await gallery.wait_idle()


async def test_search_matches_the_prompt_the_journal_knows(make_sandbox, client_for, make_gallery, tmp_path):
    sandbox = make_sandbox(library=6)
    client = client_for(sandbox)
    library = await client.list_sceneries()
    made_by = [s.id for s in library[:2]]
    journal = Journal(tmp_path / "journal.jsonl")
    journal.record_registration(
        make_registration(
            tuple(made_by),
            "b-1",
            prompt="Zebra-striped velvet chaise",
            submitted_at=datetime(2026, 3, 20, tzinfo=timezone.utc),
        ),
        base_url=client.base_url,
        key_id=client.key_id,
    )
    gallery = make_gallery(client, autoload=False, journal=journal)
    await gallery.refresh()
    assert not any("zebra" in s.name.casefold() for s in library)
    gallery.search = "zebra"
    assert sorted(s.id for s in gallery.sceneries) == sorted(made_by)
    assert {c["prompt"] for c in gallery.cards} == {"Zebra-striped velvet chaise"}
    assert "Zebra-striped velvet chaise" in gallery.static_html(), "the caption is the prompt"


async def test_one_batch_keeps_the_order_the_server_created_it_in(make_sandbox, client_for, make_gallery):
    sandbox = make_sandbox(library=0, processing_seconds=(30, 30))
    client = client_for(sandbox)
    registration = await client.register_ideas("Five chairs in a row", count=5)
    gallery = make_gallery(client, autoload=False)
    gallery.add_prompts(
        {i: registration.preferences for i in registration.record_ids}, order=registration.record_ids
    )
    await gallery.refresh()
    assert len({s.created_at for s in gallery.sceneries}) == 1, "one batch shares one creation time"
    assert ids(gallery) == list(registration.record_ids)
    gallery.sort = "oldest"
    assert ids(gallery) == list(registration.record_ids)


async def test_approved_toggle_fetches_the_approved_list(make_sandbox, client_for, make_gallery):
    sandbox = make_sandbox(library=12)
    gallery = make_gallery(client_for(sandbox), page_size=24, autoload=False)
    await gallery.refresh()
    everything = len(gallery.sceneries)
    listed = sandbox.stats()["list_requests"]

    gallery.status_filter = "approved"  # the "Approved" segment in the view
    await gallery.wait_idle()
    assert sandbox.stats()["list_requests"] == listed + 1
    assert gallery.sceneries and all(s.is_approved for s in gallery.sceneries)
    assert all(c["vote"] == "approved" for c in gallery.cards)
    assert len(gallery.sceneries) < everything
    assert gallery.count_text == f"1-{len(gallery.sceneries)} of {len(gallery.sceneries)}"

    from_browser(gallery, {"kind": "refresh"})  # the view's Refresh button
    await gallery.wait_idle()
    assert sandbox.stats()["list_requests"] == listed + 2


async def test_a_rejected_key_is_reported_in_plain_words(make_sandbox, client_for, make_gallery):
    sandbox = make_sandbox(library=3)
    gallery = make_gallery(client_for(sandbox, "mk_live_nokey.secret"), autoload=False)
    await gallery.refresh()
    assert "rejected (401)" in gallery.status_message
    assert gallery.message_kind == "error" and "Traceback" not in gallery.message
    assert gallery.sceneries == [] and gallery.cards == []


async def test_an_error_after_a_good_load_keeps_the_cards(make_sandbox, client_for, make_gallery):
    sandbox = make_sandbox(library=3)
    gallery = make_gallery(client_for(sandbox), autoload=False)
    await gallery.refresh()
    sandbox.set_faults(api_error_rate=1.0)
    await gallery.refresh()
    assert "(500)" in gallery.status_message
    assert "Showing the list loaded before." in gallery.status_message
    assert gallery.message_kind == "error" and len(gallery.cards) == 3
    sandbox.set_faults(api_error_rate=0.0)
    await gallery.refresh()
    assert gallery.status_message == "" and gallery.message_kind == "info"


async def test_loading_and_a_slow_server_are_said_in_plain_words(make_sandbox, client_for, make_gallery):
    sandbox = make_sandbox(library=2, api_latency_ms=800)
    gallery = make_gallery(client_for(sandbox), autoload=False, slow_after=0.1)
    refreshing = asyncio.ensure_future(gallery.refresh())
    await asyncio.sleep(0)
    assert gallery.status_message == LOADING_MESSAGE
    await eventually(lambda: gallery.status_message == SLOW_MESSAGE)
    assert "retrying" in gallery.message
    await refreshing
    assert gallery.status_message == ""
    assert len(gallery.sceneries) == 2


async def test_an_empty_account_invites_to_generate(make_sandbox, client_for, make_gallery):
    sandbox = make_sandbox(library=0)
    gallery = make_gallery(client_for(sandbox), autoload=False)
    await gallery.refresh()
    assert gallery.status_message == EMPTY_MESSAGE
    assert gallery.cards == [] and gallery.count_text == "0 of 0"


async def test_contact_sheet_of_the_selection(make_sandbox, client_for, make_gallery, tmp_path: Path):
    sandbox = make_sandbox(library=8)
    gallery = make_gallery(client_for(sandbox), page_size=4, autoload=False)
    await gallery.refresh()
    with pytest.raises(ValueError, match="select"):
        gallery.contact_sheet()

    gallery.selected_ids = [gallery.cards[0]["id"], gallery.cards[1]["id"], gallery.sceneries[6].id]
    await gallery.wait_idle()
    sheet = gallery.contact_sheet()
    assert sheet.width >= 2400, "printable: A4 landscape at 200 dpi"
    assert gallery.thumbnail_of(gallery.sceneries[6].id) is not None, "the off-page picture was loaded"

    everything = gallery.contact_sheet(selected_only=False)
    assert everything.width == sheet.width and everything.height >= sheet.height

    png = gallery.save_contact_sheet(tmp_path / "review.png")
    jpg = gallery.save_contact_sheet(str(tmp_path / "review.JPG"))
    with Image.open(png) as image:
        assert (image.format, image.size) == ("PNG", sheet.size)
    with Image.open(jpg) as image:
        assert (image.format, image.size) == ("JPEG", sheet.size)
    pdf = gallery.save_contact_sheet(tmp_path / "review.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    with pytest.raises(ValueError, match=r"\.png"):
        gallery.save_contact_sheet(tmp_path / "review.gif")


async def test_static_html_fallback_inlines_the_loaded_thumbnails(make_sandbox, client_for, make_gallery):
    sandbox = make_sandbox(library=5)
    gallery = make_gallery(client_for(sandbox), autoload=False)
    await gallery.refresh()
    bundle = displayed(gallery)
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == gallery.model_id
    html = bundle["text/html"]
    assert html.count("data:image/jpeg;base64,") == 5
    assert "http://" not in html
    for s in gallery.sceneries:
        assert s.name in html


async def test_no_credentials_reach_the_cdn_or_the_widget_state(make_sandbox, client_for, make_gallery):
    sandbox = make_sandbox(library=12)
    gallery = make_gallery(client_for(sandbox), page_size=8, autoload=False)
    link = wire(gallery)
    await gallery.refresh()
    gallery.page = 1
    gallery.open_id = gallery.cards[0]["id"]
    await gallery.wait_idle()
    await eventually(lambda: gallery.preview.get("image") == "ready")
    stats = sandbox.stats()
    assert stats["cdn_requests"] > 0
    assert stats["cdn_requests_with_credentials"] == 0
    sent = json.dumps([data for data, _ in link.sent])
    assert_key_absent(gallery, sandbox.api_key, displayed(gallery)["text/html"], repr(gallery), sent)


async def test_close_stops_loading_and_closes_the_model(make_sandbox, client_for):
    sandbox = make_sandbox(library=12, cdn_latency_ms=200)
    before = asyncio.all_tasks()
    gallery = SceneryGallery(client_for(sandbox), thumb_px=PX, page_size=8)
    models = tree(gallery)
    ids_before = [w.model_id for w in models]
    live_before = live_models()
    refreshing = asyncio.ensure_future(gallery.refresh())
    await eventually(lambda: bool(gallery.cards))  # the list is shown, thumbnails are on their way
    assert any(card["thumb"] == 0 for card in gallery.cards)
    gallery.close()
    assert all(w.comm is None for w in models)
    assert live_models() == live_before - len(ids_before)
    await asyncio.wait_for(refreshing, 5)  # a caller awaiting refresh() returns at once
    await gallery.wait_idle()
    await settled(before | {refreshing})
    gallery.close()  # closing twice is harmless


async def test_bad_arguments_are_refused_before_anything_is_built(make_sandbox, client_for):
    client = client_for(make_sandbox(library=0))
    live_before = live_models()
    with pytest.raises(ValueError, match="'all' or 'approved'"):
        SceneryGallery(client, status_filter="done", autoload=False)
    with pytest.raises(ValueError, match="page_size"):
        SceneryGallery(client, page_size=0, autoload=False)
    with pytest.raises(ValueError, match="thumb_px"):
        SceneryGallery(client, thumb_px=8, autoload=False)
    with pytest.raises(TypeError, match="QameraClient"):
        SceneryGallery("not a client", autoload=False)  # type: ignore[arg-type]
    assert live_models() == live_before


async def test_search_needs_every_word_in_any_order_and_finds_a_template_by_its_text(
    make_sandbox, client_for, make_gallery
):
    sandbox = make_sandbox(library=0)
    gallery = make_gallery(client_for(sandbox), autoload=False)
    gallery.show_sceneries([scenery(n, name=f"Picture {n}") for n in range(1, 5)])
    gallery.add_prompts(
        {
            "s1": "Rustic walnut table, morning window light",
            "s2": "oak countertop, warm light",
            "s3": "marble countertop, warm light",
            "s4": "Crème brûlée on an oak board",
        }
    )
    await gallery.wait_idle()
    gallery.search = "walnut morning"
    assert [s.id for s in gallery.sceneries] == ["s1"]
    gallery.search = "MORNING Walnut"
    assert [s.id for s in gallery.sceneries] == ["s1"]
    gallery.search = "creme brulee"
    assert [s.id for s in gallery.sceneries] == ["s4"]
    gallery.search = "{oak"
    assert sorted(s.id for s in gallery.sceneries) == ["s2", "s4"]
    gallery.search = "{oak|marble} countertop"
    assert sorted(s.id for s in gallery.sceneries) == ["s2", "s3"]
    await gallery.wait_idle()


async def test_a_failed_picture_cannot_be_selected(make_sandbox, client_for, make_gallery):
    """Issue 21: a failed tile has no box, and a browser that sends its id anyway is not followed."""
    gallery = make_gallery(client_for(make_sandbox(library=0)), autoload=False)
    gallery.show_sceneries([scenery(1), scenery(2, status="FAILED")])
    await gallery.wait_idle()
    gallery.selected_ids = ["s2", "s1"]
    assert gallery.selected_ids == ["s1"]
