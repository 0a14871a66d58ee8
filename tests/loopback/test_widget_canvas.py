"""The results canvas as a browser sees it, over the sandbox on loopback: cards as data, pictures pulled
as binary buffers that cross once, the large view, selection downloads, and status kept apart from votes."""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import json
import zipfile
from typing import Any

import httpx
import pytest
from PIL import Image, ImageChops, ImageStat

from qamera_widgets.client import Scenery
from qamera_widgets.engine.jobs.status import card_state, vote_state
from qamera_widgets.engine.pictures.imaging import MAX_PREVIEW_PX
from qamera_widgets.engine.pictures.sheets import CONTACT_SHEET_MARGIN as MARGIN
from qamera_widgets.engine.pictures.sheets import SHEET_GAP_PX, sheet_grid
from qamera_widgets.widgets.gallery import SceneryGallery
from tests._widget_support import eventually, from_browser, wire

PX = 96
VOTES = {"approved", "rejected", "none"}


def difference(image: Image.Image, data: bytes) -> float:
    """Mean absolute difference per channel (0-255) between `image` and the encoded picture `data`."""
    with Image.open(io.BytesIO(data)) as other:
        other_rgb = other.convert("RGB").resize(image.size)
    return sum(ImageStat.Stat(ImageChops.difference(image, other_rgb)).mean) / 3


def by_id(gallery: SceneryGallery) -> dict[str, Scenery]:
    return {s.id: s for s in gallery.sceneries}


def test_status_and_vote_never_share_a_value() -> None:
    statuses = [
        "DONE",
        "FAILED",
        "ERROR",
        "REJECTED",
        "PENDING",
        "PROCESSING",
        "WAITING",
        "TIMED_OUT",
        "APPROVED",
        "pending",
        "",
        "SOMETHING_NEW",
    ]
    votes = ["APPROVED", "REJECTED", "PENDING", "DONE", "FAILED", "", None]
    states = {card_state(s)[0] for s in statuses}
    assert {vote_state(v) for v in votes} == VOTES
    assert states.isdisjoint(VOTES)
    # The "PENDING PENDING" card: a queued picture that nobody reviewed yet.
    assert card_state("PENDING") == ("queued", "Queued") and vote_state("PENDING") == "none"
    assert card_state("DONE") == ("done", ""), "a finished picture shows no status words"
    assert card_state("FAILED") == ("failed", "Failed · credits refunded")
    assert card_state("<b>ODD</b>") == ("other", "<b>ODD</b>"), "unknown statuses are shown, not guessed"


@pytest.mark.shared_sandbox
async def test_cards_are_small_dicts_and_status_and_vote_are_separate_fields(gallery_for) -> None:
    gallery, _ = await gallery_for(library=4)
    cards = gallery.get_state()["cards"]
    assert len(cards) == 4
    for card in cards:
        assert set(card) == {
            "id",
            "name",
            "prompt",
            "state",
            "label",
            "vote",
            "created",
            "since",
            "thumb",
            "run",
        }
        assert card["state"] == "done" and card["label"] == ""
        assert card["vote"] in VOTES
        assert len(json.dumps(card)) < 400


@pytest.mark.shared_sandbox
async def test_pictures_are_pulled_as_binary_buffers_that_cross_the_comm_once(gallery_for) -> None:
    gallery, _ = await gallery_for(library=4)
    link = wire(gallery)
    cards = gallery.cards
    assert all(c["thumb"] > 0 for c in cards), "each finished card names the picture version Python holds"
    assert len({c["thumb"] for c in cards}) == len(cards)
    assert "base64" not in json.dumps(gallery.get_state()), "no picture rides in the widget state"

    from_browser(gallery, {"kind": "hello", "ids": []})
    from_browser(gallery, {"kind": "want", "ids": [c["id"] for c in cards]})
    [(message, buffers)] = link.messages("thumbs")
    assert [item["id"] for item in message["pictures"]] == [c["id"] for c in cards]
    for card, item, data in zip(cards, message["pictures"], buffers, strict=True):
        thumb = gallery.thumbnail_of(card["id"])
        assert thumb is not None and data == thumb.data
        assert (item["v"], item.get("fmt", "jpeg")) == (card["thumb"], thumb.format)
        with Image.open(io.BytesIO(data)) as image:
            assert image.size == (PX, PX)
    everything = b"".join(b for _, bs in link.sent for b in bs)
    text = json.dumps([data for data, _ in link.sent])
    for data in buffers:
        assert everything.count(data) == 1, "each picture crossed once"
        assert base64.b64encode(data)[:64].decode() not in text, "and never as base64"


@pytest.mark.shared_sandbox
async def test_the_large_view_loads_a_preview_that_is_answered_on_want(gallery_for) -> None:
    gallery, _ = await gallery_for(library=3)
    link = wire(gallery)
    card = gallery.cards[1]
    scenery = by_id(gallery)[card["id"]]
    gallery.open_id = card["id"]  # what a click (or Enter) on the card does
    assert gallery.preview["id"] == card["id"] and gallery.preview["image"] in ("loading", "ready")
    await eventually(lambda: gallery.preview.get("image") == "ready")
    preview = gallery.preview
    assert preview["url"] == scenery.thumbnail and preview["name"] == scenery.name
    assert preview["vote"] in VOTES and preview["created"]
    assert 0 < max(preview["w"], preview["h"]) <= MAX_PREVIEW_PX
    assert link.messages() == [], "the big picture waits until the view asks for it"

    from_browser(gallery, {"kind": "want", "ids": [], "preview": card["id"]})
    [(message, [data])] = link.messages("preview")
    assert message["id"] == card["id"]
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (preview["w"], preview["h"])

    gallery.open_id = ""  # Esc
    assert gallery.preview == {}


async def test_the_large_view_of_an_unfinished_card_says_so_without_loading(gallery_for) -> None:
    gallery, sandbox = await gallery_for(library=0)
    gallery.show_sceneries([Scenery("busy", "Busy", None, "PROCESSING", "PENDING", None)])
    gallery.open_id = "busy"
    assert gallery.preview["image"] == "none" and gallery.preview["label"] == "Processing"
    assert sandbox.stats()["cdn_requests"] == 0


@pytest.mark.shared_sandbox
async def test_a_contact_sheet_download_sends_one_png_of_the_selection(gallery_for) -> None:
    gallery, _ = await gallery_for(library=8, page_size=3)
    link = wire(gallery)
    on_page, off_page = gallery.cards[0]["id"], gallery.sceneries[6].id
    from_browser(gallery, {"kind": "download", "what": "sheet", "ids": [on_page, off_page]})
    await eventually(lambda: bool(link.messages("file")))
    [(message, [data])] = link.messages("file")
    assert (message["name"], message["mime"]) == ("contact-sheet.png", "image/png")
    assert gallery.selected_ids == [on_page, off_page], "the download takes the selection the view showed"
    with Image.open(io.BytesIO(data)) as sheet:
        assert sheet.format == "PNG" and sheet.size == gallery.contact_sheet().size
        _cols, side, top = sheet_grid(2)
        left = MARGIN + side + SHEET_GAP_PX
        tile = sheet.convert("RGB").crop((left, top, left + side, top + side))
    # The picture from another page is the real one, not a placeholder tile.
    real = await gallery.loader.load(by_id(gallery)[off_page].thumbnail, size=PX)
    assert real.placeholder is None
    assert difference(tile, real.data) < 12 < difference(tile, gallery.loader.placeholder("no preview").data)
    assert gallery.message == ""


async def test_an_originals_download_is_a_zip_of_the_files_at_their_urls(gallery_for) -> None:
    gallery, sandbox = await gallery_for(library=5)
    link = wire(gallery)
    chosen = [c["id"] for c in gallery.cards[:3]]
    from_browser(gallery, {"kind": "download", "what": "zip", "ids": chosen})
    await eventually(lambda: bool(link.messages("file")))
    [(message, [data])] = link.messages("file")
    assert (message["name"], message["mime"]) == ("sceneries.zip", "application/zip")
    async with httpx.AsyncClient() as http:
        originals = [(await http.get(by_id(gallery)[i].thumbnail or "")).content for i in chosen]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        members = [archive.read(name) for name in names[1:]]
        table = list(csv.DictReader(io.StringIO(archive.read("review.csv").decode("utf-8"))))
    assert names[0] == "review.csv", "the review's table sits beside the pictures"
    assert members == originals
    assert [row["id"] for row in table] == chosen
    assert [row["file"] for row in table] == names[1:], "each file name leads to its row"
    assert sandbox.stats()["cdn_requests_with_credentials"] == 0


@pytest.mark.shared_sandbox
async def test_a_file_answers_the_download_request_it_was_made_for(gallery_for) -> None:
    """Every view of a model receives the file; the echoed id lets only the asking view save it."""
    gallery, _ = await gallery_for(library=3)
    link = wire(gallery)
    chosen = [gallery.cards[0]["id"]]
    from_browser(gallery, {"kind": "download", "what": "sheet", "ids": chosen, "request": "view1-1"})
    await eventually(lambda: len(link.messages("file")) == 1)
    assert [m["request"] for m, _ in link.messages("file")] == ["view1-1"]
    # A request id that is not a short text is a malformed message: dropped, nothing is made.
    from_browser(gallery, {"kind": "download", "what": "sheet", "ids": chosen, "request": {"x": 1}})
    await asyncio.sleep(0.3)
    assert len(link.messages("file")) == 1


@pytest.mark.shared_sandbox
async def test_a_download_without_a_selection_says_what_to_do(gallery_for) -> None:
    gallery, _ = await gallery_for(library=2)
    link = wire(gallery)
    from_browser(gallery, {"kind": "download", "what": "sheet", "ids": []})
    assert link.messages("file") == []
    assert gallery.message_kind == "error" and "Select some pictures first" in gallery.message


@pytest.mark.shared_sandbox
async def test_unknown_or_malformed_intents_change_nothing(gallery_for) -> None:
    gallery, _ = await gallery_for(library=2)
    link = wire(gallery)
    before = gallery.get_state()
    for content in (
        {"kind": "nonsense"},
        {"kind": "want", "ids": "not a list"},
        {"no": "kind"},
        {"kind": "download", "what": "everything", "ids": []},
    ):
        from_browser(gallery, content)
    assert gallery.get_state() == before and link.messages() == []


@pytest.mark.shared_sandbox
async def test_a_name_with_a_lone_surrogate_still_reaches_the_browser(gallery_for) -> None:
    gallery, _ = await gallery_for(library=0)
    gallery.show_sceneries([Scenery("odd", "Broken \ud800 name", None, "DONE", None, None)])
    [card] = gallery.cards
    card["name"].encode("utf-8")  # what the comm does with every string it sends
    assert card["name"].startswith("Broken ") and card["name"].endswith(" name")


@pytest.mark.shared_sandbox
async def test_a_silent_page_gets_no_more_pushes_until_a_view_speaks_again(
    gallery_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from qamera_widgets.engine.pictures import versions as pictures
    from qamera_widgets.widgets import canvas

    monkeypatch.setattr(pictures, "LISTENER_TIMEOUT_SECONDS", 0.2)
    gallery, _ = await gallery_for(library=3)
    link = wire(gallery)
    from_browser(gallery, {"kind": "hello", "ids": []})
    link.clear()
    listing = gallery.sceneries

    def flip(n: int) -> None:
        target = listing[n]
        vote = "REJECTED" if target.voting != "REJECTED" else "APPROVED"
        changed = Scenery(target.id, target.name, target.thumbnail, target.status, vote, target.created_at)
        listing[n] = changed
        gallery.show_sceneries(list(listing))

    flip(0)
    await asyncio.sleep(canvas.PATCH_WINDOW_SECONDS * 2)
    assert len(link.messages("patch")) == 1, "a view that spoke lately gets the change"
    link.clear()
    await asyncio.sleep(0.3)  # the tab was closed: no "alive" comes any more
    flip(1)
    await asyncio.sleep(canvas.PATCH_WINDOW_SECONDS * 2)
    assert link.messages("patch") == [], "nobody is listening: nothing is pushed"
    from_browser(gallery, {"kind": "hello", "ids": []})  # a page opens again
    [(patch, _)] = link.messages("patch")
    assert listing[1].id in {c["id"] for c in patch["cards"]}, "and gets what changed meanwhile"
