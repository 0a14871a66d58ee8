"""Marks on the views (library, runs, studio): the Python API, the browser's `mark` message, and the
local store behind them (a real SQLite file in the test's QAMERA_WIDGETS_HOME)."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from qamera_widgets.client import AsyncQameraClient
from qamera_widgets.engine.review import MarkError, mark_books
from qamera_widgets.engine.store import DB_FILE, forget_stores
from qamera_widgets.widgets.gallery import SceneryGallery
from tests._widget_support import from_browser, wire


@pytest.fixture
async def library(make_sandbox: Callable[..., Any]) -> AsyncIterator[Callable[..., Any]]:
    """`await library(sandbox)`: a loaded SceneryGallery on that sandbox; all closed at teardown."""
    made: list[tuple[SceneryGallery, AsyncQameraClient]] = []

    async def make(sandbox: Any, **options: Any) -> SceneryGallery:
        client = AsyncQameraClient(sandbox.api_key, sandbox.base_url, max_retries=0)
        gallery = SceneryGallery(client, thumb_px=64, autoload=False, **options)
        made.append((gallery, client))
        await gallery.refresh()
        return gallery

    yield make
    for gallery, client in made:
        gallery.close()
        await gallery.loader.aclose()
        await client.aclose()


def ids(gallery: SceneryGallery) -> list[str]:
    return [s.id for s in gallery.sceneries]


async def test_mark_sets_the_trait_and_picks_and_rejects_follow(make_sandbox, library):
    gallery = await library(make_sandbox(library=5))
    a, b, c, *_ = ids(gallery)
    assert gallery.marks == {}
    gallery.mark(a, flag="pick")
    gallery.mark([b, c], stars=3)
    gallery.mark(c, flag="reject")
    assert gallery.marks == {
        a: {"flag": "pick", "stars": 0},
        b: {"flag": "", "stars": 3},
        c: {"flag": "reject", "stars": 3},
    }
    assert [s.id for s in gallery.picks()] == [a]
    assert [s.id for s in gallery.rejects()] == [c]
    gallery.mark(c, flag="", stars=0)
    assert c not in gallery.marks, "an unmarked picture leaves the trait"


async def test_marks_are_in_the_sqlite_file_and_a_new_process_state_sees_them(make_sandbox, library):
    sandbox = make_sandbox(library=3)
    gallery = await library(sandbox)
    first = ids(gallery)[0]
    gallery.mark(first, flag="pick", stars=4)
    store_file = gallery.mark_book._store.folder / DB_FILE
    with sqlite3.connect(store_file) as db:
        assert db.execute("select count(*) from marks").fetchone()[0] == 1
    gallery.close()
    mark_books.clear()  # what a new kernel has: the file, and nothing in memory
    forget_stores()
    again = await library(sandbox)
    assert again.marks == {first: {"flag": "pick", "stars": 4}}
    assert [s.id for s in again.picks()] == [first]


async def test_two_views_of_one_account_share_a_mark_at_once(make_sandbox, library):
    sandbox = make_sandbox(library=3)
    one, two = await library(sandbox), await library(sandbox)
    first = ids(one)[0]
    one.mark(first, flag="reject")
    assert two.marks == {first: {"flag": "reject", "stars": 0}}


@pytest.mark.parametrize(
    ("call", "words"),
    [
        ({"flag": "maybe"}, "maybe"),
        ({"stars": 6}, "6"),
        ({"stars": -1}, "-1"),
        ({}, "Say what to set"),
    ],
)
async def test_bad_marks_from_python_say_what_to_fix_and_store_nothing(make_sandbox, library, call, words):
    gallery = await library(make_sandbox(library=2))
    with pytest.raises(MarkError, match=words):
        gallery.mark(ids(gallery), **call)
    assert gallery.marks == {} and gallery.mark_book.marks() == {}


async def test_marks_for_unknown_ids_are_refused_whole(make_sandbox, library):
    gallery = await library(make_sandbox(library=2))
    with pytest.raises(MarkError, match="no-such-id"):
        gallery.mark([ids(gallery)[0], "no-such-id"], flag="pick")
    assert gallery.marks == {} and gallery.mark_book.marks() == {}


async def test_the_browser_marks_through_a_message_checked_like_python(make_sandbox, library):
    gallery = await library(make_sandbox(library=3))
    link = wire(gallery)
    a, b, _ = ids(gallery)
    from_browser(gallery, {"kind": "mark", "ids": [a, b], "flag": "pick", "stars": None})
    assert gallery.marks == {a: {"flag": "pick", "stars": 0}, b: {"flag": "pick", "stars": 0}}
    assert any("marks" in update for update in link.updates()), "the browser is told (Python confirms)"
    link.clear()
    from_browser(gallery, {"kind": "mark", "ids": [a], "flag": "maybe"})
    assert "maybe" in gallery.message and gallery.message_kind == "error"
    assert gallery.marks[a] == {"flag": "pick", "stars": 0}, "nothing stored"
    assert link.messages("marked"), "the answer tells the view to drop the mark it drew ahead"
    from_browser(gallery, {"kind": "mark", "ids": ["not-mine"], "stars": 2})
    assert "not-mine" in gallery.message and "not-mine" not in gallery.mark_book.marks()
    from_browser(gallery, {"kind": "mark", "ids": a, "stars": 2, "evil": 1})
    assert gallery.mark_book.get(a).stars == 0
    from_browser(gallery, {"kind": "mark", "ids": [b], "stars": 5})
    assert gallery.marks[b] == {"flag": "pick", "stars": 5}, "and the view keeps working"


async def test_the_browser_cannot_write_the_marks_trait(make_sandbox, library):
    gallery = await library(make_sandbox(library=2))
    link = wire(gallery)
    gallery.set_state({"marks": {ids(gallery)[0]: {"flag": "pick", "stars": 5}}})
    assert gallery.marks == {} and gallery.mark_book.marks() == {}
    assert any(update.get("marks") == {} for update in link.updates()), "the real value is sent back"


async def test_export_review_writes_rows_that_match_the_marks(make_sandbox, library, tmp_path: Path):
    gallery = await library(make_sandbox(library=4))
    a, b, *_ = ids(gallery)
    gallery.mark(a, flag="pick", stars=5)
    gallery.mark(b, flag="reject")
    rows = gallery.review_rows()
    assert [r["id"] for r in rows] == ids(gallery)
    written_csv = gallery.export_review(tmp_path / "review.csv").read_text(encoding="utf-8")
    table = {r["id"]: (r["flag"], r["stars"]) for r in csv.DictReader(io.StringIO(written_csv))}
    assert {i: v for i, v in table.items() if v != ("", "0")} == {a: ("pick", "5"), b: ("reject", "0")}
    written = json.loads(gallery.export_review(tmp_path / "review.json").read_text(encoding="utf-8"))
    assert len(written) == 4
    with pytest.raises(ValueError, match=r"\.csv or \.json"):
        gallery.export_review(tmp_path / "review.txt")


async def test_keys_come_from_python_as_a_trait(make_sandbox, library):
    gallery = await library(make_sandbox(library=1))
    intents = {k: b["intent"] for b in gallery.keymap for k in b["keys"]}
    assert intents["p"] == "pick" and intents["x"] == "reject" and intents["3"] == "stars"
    assert any(row[0] == "?" for row in gallery.key_help)


async def test_a_studio_marks_a_run_and_the_library_shows_it_and_picks_span_both(
    make_sandbox: Callable[..., Any], closing: list[Any]
) -> None:
    from tests.loopback.test_widget_studio import generate, studio_for

    sandbox = make_sandbox(library=2, processing_seconds=(0.05, 0.2))
    studio = studio_for(sandbox, closing)
    await studio.gallery.wait_idle()
    older = [s.id for s in studio.gallery.sceneries]
    registration = await generate(studio, "Walnut shelf against a brick wall", 2)
    await studio.wait_idle(timeout=30)
    fresh = list(registration.record_ids)
    from_browser(studio.board, {"kind": "mark", "ids": [fresh[0]], "flag": "pick"})
    assert studio.gallery.marks[fresh[0]] == {"flag": "pick", "stars": 0}, "the library's card shows it"
    studio.mark(older[0], flag="pick", stars=2)
    assert [s.id for s in studio.picks()] == [fresh[0], older[0]]
    studio.mark(fresh[1], flag="reject")
    assert [s.id for s in studio.rejects()] == [fresh[1]]
    rows = {r["id"]: r for r in studio.review_rows()}
    assert rows[fresh[0]]["prompt"] == "Walnut shelf against a brick wall" and rows[fresh[0]]["run"]
    assert set(studio.marks) == {fresh[0], fresh[1], older[0]}
    with pytest.raises(MarkError):
        studio.mark("no-such-picture", flag="pick")
    import zipfile

    with zipfile.ZipFile(io.BytesIO(await studio.picks_zip())) as archive:
        table = list(csv.DictReader(io.StringIO(archive.read("review.csv").decode("utf-8"))))
    assert [row["id"] for row in table] == [fresh[0], older[0]] and all(row["file"] for row in table)
    assert studio.picks_contact_sheet().width > 0


async def test_the_library_filters_by_marks_and_sorts_by_rating(make_sandbox, library):
    gallery = await library(make_sandbox(library=6))
    a, b, c, d, *_ = ids(gallery)
    gallery.mark(a, flag="pick", stars=2)
    gallery.mark(b, flag="pick", stars=5)
    gallery.mark(c, flag="reject", stars=1)
    gallery.mark_filter = "picks"
    assert ids(gallery) == [a, b] and [card["id"] for card in gallery.cards] == [a, b]
    gallery.mark(d, flag="pick")
    assert ids(gallery) == [a, b, d], "a new pick joins the filtered list at once"
    gallery.mark_filter, gallery.min_stars = "all", 2
    assert ids(gallery) == [a, b]
    gallery.min_stars, gallery.sort = 0, "rating"
    assert ids(gallery)[:3] == [b, a, c], "best first, the newest first among equals"
    gallery.sort = "newest"
    gallery.min_stars = 3
    gallery.mark_filter = "unmarked"
    assert gallery.min_stars == 0, "unmarked pictures have no stars"
    assert set(ids(gallery)) == set(ids_all(gallery)) - {a, b, c, d}


def ids_all(gallery: SceneryGallery) -> list[str]:
    return [s.id for s in gallery._all or []]


async def test_the_library_filters_by_the_services_review(make_sandbox, library):
    gallery = await library(make_sandbox(library=8))
    votes = {s.id: s.voting for s in gallery.sceneries}
    gallery.vote_filter = "approved"
    assert ids(gallery) and all(votes[i] == "APPROVED" for i in ids(gallery))
    gallery.vote_filter = "not reviewed"
    assert all(votes[i] not in ("APPROVED", "REJECTED") for i in ids(gallery))


async def test_bad_filter_values_are_refused_with_a_sentence(make_sandbox, library):
    import traitlets

    gallery = await library(make_sandbox(library=2))
    with pytest.raises(traitlets.TraitError, match="0 to 5"):
        gallery.min_stars = 6
    with pytest.raises(traitlets.TraitError):
        gallery.mark_filter = "maybe"
    assert (gallery.mark_filter, gallery.min_stars) == ("all", 0)
    assert len(ids(gallery)) == 2, "the view keeps working"


async def test_the_runs_filter_by_marks(make_sandbox: Callable[..., Any], closing: list[Any]) -> None:
    from tests.loopback.test_widget_studio import generate, studio_for

    studio = studio_for(make_sandbox(processing_seconds=(0.05, 0.2)), closing)
    registration = await generate(studio, "Slate floor, cool light", 3)
    await studio.wait_idle(timeout=30)
    first, second, third = registration.record_ids
    studio.board.mark(second, flag="pick", stars=1)
    studio.board.mark(third, stars=4)
    studio.board.mark_filter = "picks"
    assert [c["id"] for c in studio.board.cards] == [second]
    assert studio.board.runs[0]["ids"] == [second]
    studio.board.mark_filter, studio.board.rating_first = "all", True
    assert [c["id"] for c in studio.board.cards] == [third, second, first]


async def test_export_review_from_the_browser_downloads_rows_that_match_marks(make_sandbox, library):
    from tests._widget_support import eventually

    gallery = await library(make_sandbox(library=4))
    a, b, *_ = ids(gallery)
    gallery.mark(a, flag="pick", stars=3)
    gallery.mark(b, flag="reject")
    link = wire(gallery)
    from_browser(gallery, {"kind": "download", "what": "review", "ids": []})
    await eventually(lambda: bool(link.messages("file")))
    [(message, [data])] = link.messages("file")
    assert (message["name"], message["mime"]) == ("review.csv", "text/csv")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    marked = {
        r["id"]: {"flag": r["flag"], "stars": int(r["stars"])} for r in rows if r["flag"] or r["stars"] != "0"
    }
    assert marked == gallery.marks


async def test_picks_as_a_contact_sheet_and_as_a_zip(make_sandbox, library, tmp_path: Path):
    import zipfile

    from PIL import Image

    from tests._widget_support import eventually

    gallery = await library(make_sandbox(library=4))
    link = wire(gallery)
    from_browser(gallery, {"kind": "download", "what": "picks_zip", "ids": []})
    assert "Nothing is picked yet" in gallery.message and not link.messages("file")
    a, b, *_ = ids(gallery)
    gallery.mark([a, b], flag="pick")
    sheet = await gallery.save_picks_contact_sheet(tmp_path / "picks.png")
    with Image.open(sheet) as image:
        assert image.width > 0
    saved = await gallery.save_picks_zip(tmp_path / "picks.zip")
    with zipfile.ZipFile(saved) as archive:
        names = archive.namelist()
    assert names[0] == "review.csv" and len(names) == 3
    from_browser(gallery, {"kind": "download", "what": "picks_sheet", "ids": []})
    await eventually(lambda: bool(link.messages("file")))
    [(message, [data])] = link.messages("file")
    assert message["name"] == "picks-contact-sheet.png" and data[:4] == b"\x89PNG"
