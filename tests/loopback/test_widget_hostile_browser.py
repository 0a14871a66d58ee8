"""A Voilà page is a user too: crafted trait updates and comm messages, delivered the way the browser
delivers them (`browser_sets`, `from_browser`), against a gallery and a form on a loopback sandbox. What
the view may write is checked in Python; what it may not is refused and restored; downloads are bounded."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import logging
import threading
import zipfile
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import traitlets
from PIL import Image

from qamera_widgets.engine.jobs.journal import Journal
from qamera_widgets.engine.pictures import sheets as exports
from qamera_widgets.engine.pictures.loader import ThumbnailLoader
from qamera_widgets.widgets.form import PromptForm
from tests._widget_support import browser_sets, eventually, fast_client, from_browser, wire

PX = 64


@pytest.fixture
def gallery_px() -> int:
    return PX  # small pictures: these tests are about what the browser sends, not about pixels


def restored(link: Any, name: str) -> list[Any]:
    """The values of `name` the kernel sent back to the view (after refusing what it wrote)."""
    return [update[name] for update in link.updates() if name in update]


# 1. Browser-writable traits are validated, the others are not writable from the browser.


@pytest.mark.shared_sandbox
async def test_thumb_px_from_the_browser_is_refused_and_restored(gallery_for) -> None:
    gallery, _ = await gallery_for(library=3)
    link = wire(gallery)
    browser_sets(gallery, thumb_px=99999)
    assert gallery.thumb_px == PX
    assert restored(link, "thumb_px")[-1] == PX, "the view is told the kernel's value again"
    with pytest.raises(traitlets.TraitError, match="thumb_px"):
        gallery.thumb_px = 6000  # a Python write is checked by the same validator


@pytest.mark.shared_sandbox
async def test_traits_the_view_only_draws_cannot_be_written_from_it(gallery_for) -> None:
    gallery, _ = await gallery_for(library=3)
    cards, title = list(gallery.cards), gallery.title
    link = wire(gallery)
    browser_sets(gallery, cards=[{}], title="forged", message="forged", page_count=999, count_text="x")
    assert gallery.cards == cards and gallery.title == title and gallery.page_count == 1
    assert restored(link, "cards")[-1] == cards
    # The page still works afterwards: a sheet and the static copy draw from intact cards.
    gallery.selected_ids = [cards[0]["id"]]
    await gallery.wait_pictures()
    assert gallery.contact_sheet().width >= exports.SHEET_WIDTH_PX
    assert "qw-canvas-static" in gallery.static_html()


@pytest.mark.shared_sandbox
async def test_selection_search_and_page_from_the_browser_are_bounded(gallery_for) -> None:
    gallery, _ = await gallery_for(library=4)
    link = wire(gallery)
    first = gallery.cards[0]["id"]
    browser_sets(gallery, selected_ids=[first, first, first])
    assert gallery.selected_ids == [first], "duplicates are dropped"
    browser_sets(gallery, selected_ids=[f"id-{i}" for i in range(10_000)])
    assert gallery.selected_ids == [first] and restored(link, "selected_ids")[-1] == [first]
    browser_sets(gallery, selected_ids=[{"id": 1}])
    assert gallery.selected_ids == [first]
    browser_sets(gallery, search="x" * 100_000)
    assert gallery.search == ""
    browser_sets(gallery, page="1e9")
    browser_sets(gallery, page=2.0)
    browser_sets(gallery, sort="DROP TABLE")
    assert gallery.page == 0 and gallery.sort == "newest"
    browser_sets(gallery, open_id="y" * 10_000)
    assert gallery.open_id == ""
    browser_sets(gallery, search="scenery")  # a reasonable write still goes through
    assert gallery.search == "scenery"


@pytest.mark.shared_sandbox
async def test_a_sheet_of_too_many_pictures_says_so_and_draws_nothing(gallery_for) -> None:
    gallery, _ = await gallery_for(library=exports.MAX_SHEET_TILES + 2, page_size=100)
    link = wire(gallery)
    from_browser(gallery, {"kind": "download", "what": "sheet", "ids": [s.id for s in gallery.sceneries]})
    await eventually(lambda: gallery.message_kind == "error")
    assert f"at most {exports.MAX_SHEET_TILES}" in gallery.message and not link.messages("file")


@pytest.mark.shared_sandbox
async def test_the_sheet_is_drawn_off_the_loop(gallery_for, monkeypatch: pytest.MonkeyPatch) -> None:
    gallery, _ = await gallery_for(library=3)
    threads: list[threading.Thread] = []
    real = exports.contact_sheet

    def recording(*args: Any, **kwargs: Any) -> Image.Image:
        threads.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(exports, "contact_sheet", recording)
    link = wire(gallery)
    from_browser(gallery, {"kind": "download", "what": "pdf", "ids": [c["id"] for c in gallery.cards]})
    await eventually(lambda: bool(link.messages("file")))
    [(message, [data])] = link.messages("file")
    assert message["mime"] == "application/pdf" and data.startswith(b"%PDF")
    assert threads and threading.main_thread() not in threads


# 2. Downloads: one at a time per canvas, a bound across canvases, originals fetched once.


async def test_eight_zip_clicks_make_one_zip_and_fetch_each_original_once(gallery_for) -> None:
    gallery, sandbox = await gallery_for(library=6)
    ids = [s.id for s in gallery.sceneries]
    link = wire(gallery)
    before = sandbox.stats()["cdn_requests"]
    for _ in range(8):
        from_browser(gallery, {"kind": "download", "what": "zip", "ids": ids})
    await eventually(lambda: bool(link.messages("file")))
    await asyncio.sleep(0.2)  # any second zip would be under way by now
    [(_message, [data])] = link.messages("file")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert len(archive.namelist()) == len(ids) + 1  # the pictures and review.csv beside them
    assert sandbox.stats()["cdn_requests"] - before == len(ids)


async def test_downloads_across_canvases_are_bounded_and_share_fetches(
    gallery_for, make_sandbox: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = make_sandbox(library=5)
    loader = ThumbnailLoader(size=PX)
    galleries = [(await gallery_for(sandbox=sandbox, loader=loader))[0] for _ in range(4)]
    active = peak = 0
    real = exports.zip_originals

    async def counting(*args: Any) -> Any:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        try:
            return await real(*args)
        finally:
            active -= 1

    monkeypatch.setattr(exports, "zip_originals", counting)
    links = [wire(g) for g in galleries]
    ids = [s.id for s in galleries[0].sceneries]
    before = sandbox.stats()["cdn_requests"]
    for gallery in galleries:
        from_browser(gallery, {"kind": "download", "what": "zip", "ids": ids})
    await eventually(lambda: all(link.messages("file") for link in links))
    assert peak <= exports.MAX_DOWNLOADS_AT_ONCE
    # Two zips ran at once on one loader, in step: each original crossed the network once for both.
    assert sandbox.stats()["cdn_requests"] - before <= 2 * len(ids)
    await loader.aclose()


# 7. Messages are checked: shapes, duplicates, counts, links.


@pytest.mark.shared_sandbox
async def test_a_want_of_one_id_500_times_sends_one_copy(gallery_for) -> None:
    gallery, _ = await gallery_for(library=2)
    await gallery.wait_pictures()
    link = wire(gallery)
    first = gallery.cards[0]["id"]
    from_browser(gallery, {"kind": "want", "ids": [first] * 500})
    [(message, buffers)] = link.messages("thumbs")
    assert [p["id"] for p in message["pictures"]] == [first] and len(buffers) == 1


@pytest.mark.shared_sandbox
async def test_unknown_and_malformed_messages_are_dropped_with_one_debug_line(
    gallery_for, caplog: pytest.LogCaptureFixture
) -> None:
    gallery, _ = await gallery_for(library=2)
    link = wire(gallery)
    crafted: list[Any] = [
        {"kind": "rm -rf"},
        {"kind": "want", "ids": "abc"},
        {"kind": "download", "what": "exe", "ids": []},
        {"kind": "use_prompt", "id": ["x"]},
        {"kind": "use_prompt"},
        {"no": "kind"},
    ]
    for message in crafted:
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="qamera_widgets.widgets"):
            from_browser(gallery, message)
        dropped = [r for r in caplog.records if r.name == "qamera_widgets.widgets"]
        assert len(dropped) == 1 and dropped[0].levelno == logging.DEBUG, message
    gallery._on_browser_message(gallery, ["not", "a", "dict"], [])
    assert link.sent == [] and gallery.message == ""


@pytest.mark.shared_sandbox
async def test_open_original_is_an_http_link_only(gallery_for) -> None:
    gallery, _ = await gallery_for(library=3)
    scenery = gallery.sceneries[0]
    for url in ("javascript:alert(1)", "data:text/html,<b>x</b>", "file:///etc/passwd", "//evil"):
        gallery._known[scenery.id] = dataclasses.replace(scenery, thumbnail=url)
        gallery.open_id = ""
        gallery.open_id = scenery.id
        assert gallery.preview["url"] == "", url
    gallery._known[scenery.id] = scenery
    gallery.open_id = ""
    gallery.open_id = scenery.id
    assert gallery.preview["url"] == scenery.thumbnail and scenery.thumbnail.startswith("http")


@pytest.fixture
async def form(sandbox: Any, tmp_path: Any) -> AsyncIterator[PromptForm]:
    client = fast_client(sandbox)
    made = PromptForm(client, journal=Journal(tmp_path / "journal.jsonl"))
    yield made
    made.close()
    await client.aclose()


@pytest.mark.parametrize("count", [0, 21, "1e9", 2.0, True, None])
async def test_a_crafted_generate_count_says_so_and_sends_nothing(
    sandbox: Any, form: PromptForm, count
) -> None:
    form.prompt, form.count = "A quiet harbour at dawn", 2
    from_browser(form, {"kind": "generate", "prompt": form.prompt, "count": count})
    await form.wait_idle()
    assert sandbox.stats()["registered_batches"] == 0, "never the previous count"
    assert form.status_kind == "error" and "nothing was sent" in form.status
    assert form.count == 2


async def test_the_form_takes_only_the_prompt_and_count_from_the_view(form: PromptForm) -> None:
    link = wire(form)
    browser_sets(form, max_count=10_000, price_per_picture=0, status="forged", can_retry=True)
    assert (form.max_count, form.price_per_picture, form.status, form.can_retry) == (20, 10, "", False)
    assert restored(link, "price_per_picture")[-1] == 10
    browser_sets(form, prompt="p" * 1_000_000)
    assert 2000 < len(form.prompt) <= 4 * 2000, "kept long enough to be called too long, never unbounded"
    browser_sets(form, count=99)
    assert form.count != 99
