"""Review in the engine: marks that refuse bad input with a sentence and store nothing, one book per
account shared by every view, filters and sort by marks, review rows and their exports, and the keys."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from qamera_widgets.client import Scenery
from qamera_widgets.engine.jobs.runs import Run
from qamera_widgets.engine.review import (
    FLAGS,
    MAX_STARS,
    REVIEW_COLUMNS,
    Intent,
    Mark,
    MarkBook,
    MarkError,
    MemoryMarkStore,
    Origin,
    collect_originals,
    compare_ids,
    export_review,
    filter_by_marks,
    help_rows,
    help_text,
    intent_from_message,
    key_intent,
    keymap_table,
    mark_book,
    mark_books,
    mark_request,
    mark_targets,
    marks_from_trait,
    origins_of,
    picture_file_name,
    request_from_message,
    review_csv,
    review_rows,
    review_zip,
    sort_by_rating,
    use_store,
)
from qamera_widgets.engine.review.book import open_default_store
from qamera_widgets.engine.review.keys import BINDINGS, INTENTS, MARK_INTENTS, normalize_key
from qamera_widgets.engine.store import JobRecord

URL = "http://127.0.0.1:8123"
WHEN = datetime(2026, 12, 1, 21, 14, 5, tzinfo=timezone.utc)


def scenery(scenery_id: str, **fields: Any) -> Scenery:
    item = {"id": scenery_id, "name": f"name {scenery_id}", "status": "DONE", "voting": None}
    item.update(fields)
    return Scenery.from_api(item)


@pytest.fixture
def store() -> Iterator[MemoryMarkStore]:
    """A store shared by every book made in the test; the process's books are forgotten around it."""
    shared = MemoryMarkStore()
    mark_books.clear()
    use_store(lambda: shared)
    yield shared
    use_store(open_default_store)
    mark_books.clear()


def book_on(store: MemoryMarkStore, key_id: str = "key1") -> MarkBook:
    return MarkBook(URL, key_id, store=store)


# Validation: a sentence naming the fix, nothing stored.

NOT_A_FLAG = st.one_of(
    st.text().filter(lambda t: t not in FLAGS),
    st.integers(),
    st.booleans(),
    st.floats(allow_nan=False),
    st.lists(st.text(max_size=3), max_size=2),
)
NOT_STARS = st.one_of(
    st.integers().filter(lambda n: not 0 <= n <= MAX_STARS),
    st.booleans(),
    st.text(max_size=5),
    st.floats(allow_nan=False),
    st.none().map(lambda _: object()),
)


@given(flag=NOT_A_FLAG)
def test_any_flag_but_pick_reject_or_empty_is_refused_and_nothing_is_stored(flag: object) -> None:
    shared = MemoryMarkStore()
    book = book_on(shared)
    book.mark("a", flag="pick")
    before, writes = book.marks(), shared.writes
    with pytest.raises(MarkError, match='flag="pick"'):
        book.mark(["a", "b"], flag=flag, stars=3)
    assert book.marks() == before and shared.writes == writes


@given(stars=NOT_STARS)
def test_stars_that_are_not_a_whole_number_from_0_to_5_are_refused_and_nothing_is_stored(
    stars: object,
) -> None:
    shared = MemoryMarkStore()
    book = book_on(shared)
    with pytest.raises(MarkError, match="whole number from 0 to 5"):
        book.mark(["a"], flag="pick", stars=stars)
    assert book.marks() == {} and shared.writes == 0


@given(flag=st.sampled_from(FLAGS), stars=st.integers(0, MAX_STARS))
def test_every_valid_mark_is_kept_and_read_back_from_the_store(flag: str, stars: int) -> None:
    shared = MemoryMarkStore()
    book_on(shared).mark("a", flag=flag, stars=stars)
    assert book_on(shared).get("a") == Mark(flag, stars)
    assert shared.marks(URL, "key1") == ({"a": (flag, stars)} if flag or stars else {})


@pytest.mark.parametrize(
    ("flag", "stars", "words"),
    [
        ("maybe", None, "not 'maybe'"),
        ("Pick", None, "write it in lower case"),
        (True, None, "not True"),
        (None, 7, "7 is outside 0-5"),
        (None, "3", "write the number without quotes"),
        (None, True, "yes/no value"),
        (None, 2.5, "not a whole number"),
    ],
)
def test_the_sentence_says_what_was_wrong_and_what_to_write(flag: object, stars: object, words: str) -> None:
    with pytest.raises(MarkError, match=words):
        mark_request(["a"], flag=flag, stars=stars)


def test_a_mark_that_sets_nothing_says_how_to_set_something() -> None:
    with pytest.raises(MarkError, match=r'mark\(ids, flag="pick"\)'):
        mark_request(["a"])


def test_marks_for_ids_the_view_does_not_know_are_refused_by_name_and_nothing_is_stored() -> None:
    shared = MemoryMarkStore()
    book = book_on(shared)
    with pytest.raises(MarkError, match=r"'ghost' is not a picture this view shows, so nothing was marked"):
        book.mark(["a", "ghost"], flag="pick", known={"a", "b"})
    many = [f"x{n}" for n in range(5)]
    with pytest.raises(MarkError, match=r"'x0', 'x1', 'x2' and 2 more are not pictures"):
        book.mark(many, stars=2, known={"a"})
    assert book.marks() == {} and shared.writes == 0


@pytest.mark.parametrize("ids", [None, 3, b"abc", {"a": 1}, [""], ["  "], [7], ["a" * 201]])
def test_ids_that_are_not_scenery_ids_are_refused(ids: object) -> None:
    with pytest.raises(MarkError, match="scenery id"):
        mark_request(ids, flag="pick")


@pytest.mark.parametrize(
    ("message", "words"),
    [
        ({"kind": "mark", "ids": ["a"], "flag": "maybe"}, "not 'maybe'"),
        ({"kind": "mark", "ids": ["a"], "stars": "3"}, "without quotes"),
        ({"kind": "mark", "ids": "a", "flag": "pick"}, "list of scenery ids"),
        ({"kind": "mark", "ids": ["elsewhere"], "flag": "pick"}, "not a picture this view shows"),
        ({"kind": "mark", "ids": ["a"], "flag": "pick", "secret": 1}, "not secret"),
        ({"kind": "mark", "ids": ["a"]}, "Say what to set"),
    ],
)
def test_a_crafted_mark_message_from_the_browser_gets_the_same_sentence_and_stores_nothing(
    message: dict[str, object], words: str
) -> None:
    shared = MemoryMarkStore()
    book = book_on(shared)
    with pytest.raises(MarkError, match=words):
        book.apply(request_from_message(message, known={"a", "b"}))
    assert book.marks() == {} and shared.writes == 0
    good = request_from_message({"kind": "mark", "ids": ["a", "b"], "stars": 2}, known={"a", "b"})
    assert book.apply(good) == {"a": Mark("", 2), "b": Mark("", 2)}


def test_ids_may_be_one_id_sceneries_or_a_list_and_repeats_count_once() -> None:
    assert mark_request("a", flag="pick").ids == ("a",)
    assert mark_request([scenery("b"), "a", "b", "a"], stars=1).ids == ("b", "a")


def test_a_crafted_trait_value_is_read_back_only_when_every_entry_is_a_mark() -> None:
    assert marks_from_trait({"a": {"flag": "pick", "stars": 3}, "b": {"stars": 1}}) == {
        "a": Mark("pick", 3),
        "b": Mark("", 1),
    }
    crafted: list[object] = [
        [],
        {"a": "pick"},
        {"a": {"flag": "maybe"}},
        {"a": {"stars": 9}},
        {"a": {"flag": "", "x": 1}},
    ]
    for bad in crafted:
        with pytest.raises(MarkError):
            marks_from_trait(bad)


OPS = st.lists(
    st.tuples(
        st.lists(st.sampled_from("abcd"), min_size=1, max_size=3),
        st.one_of(st.none(), st.sampled_from(FLAGS)),
        st.one_of(st.none(), st.integers(0, MAX_STARS)),
    ).filter(lambda op: op[1] is not None or op[2] is not None),
    max_size=12,
)


@given(OPS)
def test_marks_after_any_sequence_of_valid_marks_equal_a_plain_model_in_memory_and_in_the_store(
    ops: list[tuple[list[str], str | None, int | None]],
) -> None:
    shared = MemoryMarkStore()
    book = book_on(shared)
    model: dict[str, tuple[str, int]] = {}
    for ids, flag, stars in ops:
        book.mark(ids, flag=flag, stars=stars)
        for i in ids:
            old = model.get(i, ("", 0))
            model[i] = (old[0] if flag is None else flag, old[1] if stars is None else stars)
    expected = {i: v for i, v in model.items() if v != ("", 0)}
    assert {i: m.as_tuple() for i, m in book.marks().items()} == expected
    assert shared.marks(URL, "key1") == expected
    assert book.trait() == {i: {"flag": f, "stars": s} for i, (f, s) in expected.items()}


# The book: one per account, shared, kept, never keyed by the secret.


def test_every_view_of_one_account_gets_the_same_book_and_other_accounts_their_own(
    store: MemoryMarkStore,
) -> None:
    assert mark_book(URL, "key1") is mark_book(URL + "/", "key1")
    assert mark_book(URL, "key1") is not mark_book(URL, "key2")
    assert mark_book(URL, "key1") is not mark_book("http://127.0.0.1:8124", "key1")
    heard: list[Mapping[str, Mark]] = []
    unsubscribe = mark_book(URL, "key1").subscribe(heard.append)
    mark_book(URL, "key1").mark(["a"], flag="pick")
    mark_book(URL, "key2").mark(["a"], flag="reject")
    assert heard == [{"a": Mark("pick", 0)}]
    unsubscribe()
    mark_book(URL, "key1").mark(["a"], stars=4)
    assert len(heard) == 1


def test_a_new_kernel_finds_the_marks_of_the_previous_one_in_the_store(store: MemoryMarkStore) -> None:
    mark_book(URL, "key1").mark(["a", "b"], flag="pick", stars=5)
    mark_book(URL, "key1").mark(["b"], flag="")
    mark_books.clear()  # what a restart leaves: the store, and no book in memory
    fresh = mark_book(URL, "key1")
    assert fresh.marks() == {"a": Mark("pick", 5), "b": Mark("", 5)}
    assert fresh.persistent


class RecordingStore(MemoryMarkStore):
    """Remembers every account key it was asked about."""

    def __init__(self) -> None:
        super().__init__()
        self.keys: list[tuple[str, str]] = []

    def marks(self, base_url: str, key_id: str) -> dict[str, tuple[str, int]]:
        self.keys.append((base_url, key_id))
        return super().marks(base_url, key_id)

    def set_marks(self, base_url: str, key_id: str, marks: Mapping[str, tuple[str, int]]) -> None:
        self.keys.append((base_url, key_id))
        super().set_marks(base_url, key_id, marks)


def test_a_whole_key_given_as_key_id_is_cut_to_its_public_id_before_anything_is_kept() -> None:
    recording = RecordingStore()
    mark_books.clear()
    use_store(lambda: recording)
    try:
        book = mark_book(URL, "mk_live_abc123.S3cretPart")
        book.mark(["a"], flag="pick")
        assert book is mark_book(URL, "abc123")
    finally:
        use_store(open_default_store)
        mark_books.clear()
    assert set(recording.keys) == {(URL, "abc123")}
    assert recording.marks(URL, "abc123") == {"a": ("pick", 0)}
    assert "S3cret" not in repr(book)


def test_reload_brings_in_another_kernels_marks_and_tells_the_views(store: MemoryMarkStore) -> None:
    here, elsewhere = book_on(store), book_on(store)
    heard: list[Mapping[str, Mark]] = []
    here.subscribe(heard.append)
    elsewhere.mark(["a"], flag="reject")
    assert here.get("a") == Mark()
    assert here.reload() == {"a": Mark("reject", 0)}
    assert heard == [{"a": Mark("reject", 0)}] and here.get("a") == Mark("reject", 0)


class FailingStore(MemoryMarkStore):
    def __init__(self) -> None:
        super().__init__()
        self.broken = True

    def set_marks(self, base_url: str, key_id: str, marks: Mapping[str, tuple[str, int]]) -> None:
        if self.broken:
            raise OSError("disk full")
        super().set_marks(base_url, key_id, marks)


def test_a_store_that_cannot_write_keeps_the_mark_for_the_session_says_why_and_catches_up() -> None:
    failing = FailingStore()
    book = MarkBook(URL, "key1", store=failing)
    book.mark(["a"], flag="pick")
    assert book.get("a") == Mark("pick", 0)
    assert "kept for this session only" in book.unsaved and "disk full" in book.unsaved
    assert book.reload() == {} and book.get("a") == Mark("pick", 0), "a reload must not drop unsaved marks"
    failing.broken = False
    book.mark(["b"], stars=2)
    assert failing.marks(URL, "key1") == {"a": ("pick", 0), "b": ("", 2)}
    assert book.unsaved == ""


class OlderStore(MemoryMarkStore):
    """A store written by some other version, holding values this one cannot read."""

    def marks(self, base_url: str, key_id: str) -> dict[str, tuple[str, int]]:
        return {"a": ("maybe", 3), "b": ("pick", 2), "c": "junk", "d": ("", 9)}  # type: ignore[dict-item]


class FallenBackStore(MemoryMarkStore):
    """A store that keeps marks in memory after its file failed, and says so (as LocalStore does)."""

    problem = "The local store is kept in memory only: the disk is full."


def test_a_store_that_fell_back_to_memory_is_reported_as_unsaved() -> None:
    book = MarkBook(URL, "key1", store=FallenBackStore())
    book.mark(["a"], flag="pick")
    assert book.unsaved == FallenBackStore.problem and book.get("a") == Mark("pick", 0)


def test_a_stored_value_this_version_cannot_read_is_ignored_not_fatal() -> None:
    assert MarkBook(URL, "key1", store=OlderStore()).marks() == {"b": Mark("pick", 2)}


def test_one_broken_listener_does_not_keep_the_others_from_hearing() -> None:
    book = MarkBook(URL, "key1")
    heard: list[Mapping[str, Mark]] = []

    def broken(_changed: Mapping[str, Mark]) -> None:
        raise RuntimeError("view gone")

    book.subscribe(broken)
    book.subscribe(heard.append)
    book.mark(["a"], stars=1)
    assert heard == [{"a": Mark("", 1)}]
    assert not book.persistent and "in memory only" in repr(book)


def test_setting_what_is_already_there_changes_nothing_and_tells_no_one() -> None:
    shared = MemoryMarkStore()
    book = book_on(shared)
    book.mark(["a"], flag="pick")
    heard: list[Mapping[str, Mark]] = []
    book.subscribe(heard.append)
    assert book.mark(["a"], flag="pick") == {}
    assert heard == [] and shared.writes == 1


# Filters and sort.

MARKS = {"p5": Mark("pick", 5), "p2": Mark("pick", 2), "r": Mark("reject", 0), "s3": Mark("", 3)}
IDS = ["u1", "p2", "r", "s3", "p5", "u2"]


@pytest.mark.parametrize(
    ("show", "min_stars", "expected"),
    [
        ("all", 0, IDS),
        ("picks", 0, ["p2", "p5"]),
        ("rejects", 0, ["r"]),
        ("unmarked", 0, ["u1", "u2"]),
        ("all", 3, ["s3", "p5"]),
        ("picks", 3, ["p5"]),
    ],
)
def test_filters_by_marks_keep_order_for_cards_and_sceneries_alike(
    show: str, min_stars: int, expected: list[str]
) -> None:
    cards = [{"id": i} for i in IDS]
    sceneries = [scenery(i) for i in IDS]
    assert [c["id"] for c in filter_by_marks(cards, MARKS, show=show, min_stars=min_stars)] == expected
    assert [s.id for s in filter_by_marks(sceneries, MARKS, show=show, min_stars=min_stars)] == expected


def test_a_filter_that_cannot_be_meant_says_so() -> None:
    with pytest.raises(MarkError, match="'picks', 'rejects', 'unmarked'"):
        filter_by_marks([], MARKS, show="approved")
    with pytest.raises(MarkError, match="shows nothing"):
        filter_by_marks([], MARKS, show="unmarked", min_stars=2)
    with pytest.raises(MarkError, match="0 to 5"):
        filter_by_marks([], MARKS, min_stars=6)


def test_sort_by_rating_is_best_first_and_keeps_the_order_among_equals() -> None:
    assert [c["id"] for c in sort_by_rating([{"id": i} for i in IDS], MARKS)] == [
        "p5",
        "s3",
        "p2",
        "u1",
        "r",
        "u2",
    ]
    assert [c["id"] for c in sort_by_rating([{"id": i} for i in IDS], MARKS, highest_first=False)] == [
        "u1",
        "r",
        "u2",
        "p2",
        "s3",
        "p5",
    ]


# Review rows and exports.


def comparison_batch() -> JobRecord:
    return JobRecord(
        base_url=URL,
        key_id="key1",
        prompt="oak countertop, soft light",
        count=2,
        record_ids=("c1", "c2"),
        batch_id="batch-7",
        order_id="o",
        reservation_id="r",
        credits_reserved=20,
        submitted_at=WHEN,
        comparison="cmp-1",
        template="{oak|marble} countertop, {soft|warm} light",
        parts=(("oak", True), (" countertop, ", False), ("soft", True), (" light", False)),
    )


def test_rows_carry_what_the_picture_is_where_it_came_from_and_what_was_decided() -> None:
    run = Run(key="k", prompt="a red chair", count=1, batch_id="batch-8", record_ids=("plain",))
    origins = origins_of([comparison_batch(), run])
    sceneries = [
        scenery("c1", createdAt="2026-12-01T21:14:05Z", thumbnail="http://cdn/c1.jpg", voting="APPROVED"),
        scenery("plain", status="PROCESSING"),
        scenery("lib", voting="PENDING"),
        scenery("c1"),
    ]
    rows = review_rows(
        sceneries,
        {"c1": Mark("pick", 4)},
        origins=origins,
        prompts={"lib": "from the journal"},
        statuses={"plain": "TIMED_OUT"},
    )
    assert [list(r) for r in rows] == [list(REVIEW_COLUMNS)] * 3
    assert rows[0] == {
        "id": "c1",
        "name": "name c1",
        "prompt": "oak countertop, soft light",
        "run": "batch-7",
        "template": "{oak|marble} countertop, {soft|warm} light",
        "varying": "oak | soft",
        "flag": "pick",
        "stars": 4,
        "status": "DONE",
        "vote": "approved",
        "created": "2026-12-01T21:14:05Z",
        "thumbnail": "http://cdn/c1.jpg",
    }
    assert (rows[1]["prompt"], rows[1]["run"], rows[1]["template"], rows[1]["varying"]) == (
        "a red chair",
        "batch-8",
        "",
        "",
    )
    assert (rows[1]["status"], rows[1]["flag"], rows[1]["stars"]) == ("TIMED_OUT", "", 0)
    assert (rows[2]["prompt"], rows[2]["vote"], rows[2]["created"]) == (
        "from the journal",
        "not reviewed",
        "",
    )
    assert origins["c2"] == Origin(
        "oak countertop, soft light", "batch-7", comparison_batch().template, ("oak", "soft")
    )


CELL = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)


@given(st.lists(CELL, min_size=1, max_size=4))
def test_no_csv_cell_can_start_a_spreadsheet_formula_and_the_text_survives_behind_the_quote(
    texts: list[str],
) -> None:
    rows = [{"id": f"i{n}", "name": text, "prompt": text, "stars": 3} for n, text in enumerate(texts)]
    parsed = list(csv.DictReader(io.StringIO(review_csv(rows), newline="")))
    for row, text in zip(parsed, texts, strict=True):
        for cell in (row["name"], row["prompt"]):
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
            assert cell == ("'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text)
        assert row["stars"] == "3"


def test_export_review_writes_utf8_csv_or_json_and_refuses_other_names(tmp_path: Path) -> None:
    rows = review_rows(
        [scenery("a", name="=cmd|' /C calc'!A0"), scenery("b", name="Küche, Ölgemälde 🌿")],
        {"a": Mark("reject", 1)},
    )
    written = export_review(tmp_path / "review.CSV", rows)
    text = written.read_bytes().decode("utf-8")
    parsed = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [r["id"] for r in parsed] == ["a", "b"] and list(parsed[0]) == list(REVIEW_COLUMNS)
    assert parsed[0]["name"] == "'=cmd|' /C calc'!A0" and parsed[1]["name"] == "Küche, Ölgemälde 🌿"
    assert (parsed[0]["flag"], parsed[0]["stars"]) == ("reject", "1")
    assert json.loads(export_review(tmp_path / "review.json", rows).read_text("utf-8")) == rows
    with pytest.raises(
        ValueError, match=r"Use a \.csv or \.json file name for a review export, not 'review\.xlsx'"
    ):
        export_review(tmp_path / "review.xlsx", rows)
    with pytest.raises(ValueError, match="does not exist"):
        export_review(tmp_path / "missing" / "review.csv", rows)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["review.CSV", "review.json"], (
        "no partial file is left"
    )
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert written.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777, "shareable like any new file"


@given(CELL, CELL, st.sampled_from(["jpeg", "png", "webp", "tiff"]))
def test_a_picture_file_name_is_safe_anywhere_and_leads_to_its_row(
    prompt: str, scenery_id: str, fmt: str
) -> None:
    name = picture_file_name({"id": scenery_id, "prompt": prompt}, fmt)
    stem, ext = name.rsplit(".", 1)
    assert ext == {"jpeg": "jpg", "png": "png", "webp": "webp", "tiff": "img"}[fmt]
    assert all(ch.isascii() and (ch.isalnum() or ch == "-") for ch in stem)
    assert stem and not stem.startswith("-") and len(name) <= 130


def test_a_file_name_reads_as_the_prompt_then_the_id() -> None:
    assert picture_file_name({"id": "7f3a-09", "prompt": "Oak countertop, soft light!"}, "jpeg") == (
        "oak-countertop-soft-light-7f3a-09.jpg"
    )
    assert picture_file_name({"id": "x", "name": "Only a name"}, "png") == "only-a-name-x.png"


def png(color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), color).save(out, "PNG")
    return out.getvalue()


def test_the_zip_holds_the_pictures_and_the_csv_whose_file_column_leads_to_each() -> None:
    rows = review_rows(
        [scenery("a/1", name="same"), scenery("a?1", name="same"), scenery("none", status="FAILED")],
        {"a/1": Mark("pick", 5)},
    )
    pictures = {"a/1": (png((255, 0, 0)), "png"), "a?1": (png((0, 255, 0)), "png")}
    with zipfile.ZipFile(io.BytesIO(review_zip(rows, pictures))) as archive:
        table = list(csv.DictReader(io.StringIO(archive.read("review.csv").decode("utf-8"), newline="")))
        assert [r["file"] for r in table] == ["same-a-1.png", "same-a-1-2.png", ""]
        for row in table[:2]:
            assert archive.read(row["file"]) == pictures[row["id"]][0]
        assert sorted(archive.namelist()) == ["review.csv", "same-a-1-2.png", "same-a-1.png"]
    assert table[0]["flag"] == "pick"


def test_a_zip_over_the_cap_or_without_pictures_is_refused_with_a_sentence() -> None:
    rows = review_rows([scenery("a")], {})
    with pytest.raises(ValueError, match="more than 0 MB: select fewer pictures"):
        review_zip(rows, {"a": (b"x" * 10, "png")}, max_bytes=5)
    with pytest.raises(ValueError, match="nothing to put in a zip"):
        review_zip(rows, {})


async def test_collecting_originals_stops_at_the_cap_instead_of_holding_everything_first() -> None:
    rows = review_rows([scenery(f"s{n}", thumbnail=f"http://cdn/{n}") for n in range(5)], {})
    asked: list[str] = []

    async def fetch(url: str) -> tuple[bytes, str] | None:
        asked.append(url)
        return b"x" * 40, "png"

    with pytest.raises(ValueError, match="select fewer pictures"):
        await collect_originals(rows, fetch, max_bytes=100)
    assert len(asked) == 3


# Keys.


def bound(key: str, **options: Any) -> Intent:
    """The intent of a key that must have one."""
    found = key_intent(key, **options)
    assert found is not None, key
    return found


@pytest.mark.parametrize("context", ["grid", "large"])
def test_lightrooms_culling_keys_mark_in_both_places(context: str) -> None:
    def of(key: str) -> tuple[str, int | None] | None:
        intent = key_intent(key, context=context)
        return None if intent is None else (intent.name, intent.stars)

    assert of("p") == of("P") == ("pick", None)
    assert of("x") == of("Delete") == ("reject", None) and of("u") == ("clear_flag", None)
    assert [of(str(n)) for n in range(1, 6)] == [("stars", n) for n in range(1, 6)]
    assert of("Digit3") == of("Numpad3") == ("stars", 3)
    assert of("0") == ("clear_stars", None) and of("6") is None
    assert of(" ") == of("Space") == ("toggle_select", None)
    assert of("?") == ("help", None) and of("c") == ("compare", None)
    assert of("ArrowRight") == ("next", None) and of("Left") == ("prev", None)


def test_auto_advance_is_on_in_the_large_view_off_in_the_grid_and_shift_does_the_opposite() -> None:
    assert bound("p", context="large").advance is True
    assert bound("p", context="large", shift=True).advance is False
    assert bound("3", context="large", auto_advance=False).advance is False
    assert bound("3", context="large", auto_advance=False, shift=True).advance is True
    assert bound("x", context="grid").advance is False
    assert bound("X", context="grid", shift=True).advance is True
    assert key_intent("z", context="large", shift=True) == key_intent("z", context="large")


def test_view_keys_work_only_in_the_large_view_and_enter_esc_mean_what_the_place_needs() -> None:
    for key in ("z", "t", "+", "=", "-"):
        assert key_intent(key, context="grid") is None
    names = {k: bound(k, context="large").name for k in ("z", "t", "+", "-", "Esc")}
    assert names == {"z": "zoom_toggle", "t": "tile", "+": "zoom_in", "-": "zoom_out", "Esc": "close"}
    assert bound("Escape", context="grid").name == "clear_selection"
    assert bound("Enter", context="grid").name == "open"
    assert key_intent("Enter", context="large") is None


def test_keys_with_ctrl_alt_or_cmd_belong_to_the_browser() -> None:
    for modifier in ("ctrl", "alt", "meta"):
        assert key_intent("c", context="grid", **{modifier: True}) is None


@given(st.text(max_size=12), st.sampled_from(["grid", "large"]), st.booleans())
def test_a_key_outside_the_table_is_no_intent_and_every_intent_is_a_known_one(
    key: str, context: str, shift: bool
) -> None:
    intent = key_intent(key, context=context, shift=shift)
    bound = {k for b in BINDINGS for k in b.keys if context in b.contexts}
    assert (intent is None) == (normalize_key(key) not in bound)
    if intent is not None:
        assert intent.name in INTENTS
        if intent.is_mark:
            flag, stars = intent.mark()
            mark_request(["a"], flag=flag, stars=stars)  # every mark key makes a valid mark


@pytest.mark.parametrize(
    ("message", "words"),
    [
        ({"key": "p", "context": "sidebar"}, '"grid"'),
        ({"key": 5, "context": "grid"}, "short string"),
        ({"key": "p" * 21, "context": "grid"}, "short string"),
        ({"key": "p", "context": "grid", "shift": "yes"}, "true or false"),
        ({"key": "p", "context": "grid", "auto_advance": 1}, "absent"),
    ],
)
def test_a_crafted_key_message_is_refused_with_a_sentence(message: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        intent_from_message(message)


def test_a_well_formed_key_message_maps_like_the_key_itself() -> None:
    message = {"key": "P", "context": "large", "shift": True, "auto_advance": True}
    assert intent_from_message(message) == key_intent("p", context="large", shift=True)


def test_the_table_for_the_browser_is_plain_data_that_maps_every_key_as_python_does() -> None:
    table = json.loads(json.dumps(keymap_table()))
    for entry in table:
        for key in entry["keys"]:
            for context in entry["contexts"]:
                intent = key_intent(key, context=context)
                assert intent is not None and (intent.name, intent.stars) == (
                    entry["intent"],
                    entry.get("stars"),
                )
    assert {e["intent"] for e in table} == set(INTENTS)


def test_help_lists_every_key_once_with_what_it_does() -> None:
    rows = help_rows()
    assert ("P", "Pick") in rows and ("1 \u2013 5", "Rate 1 to 5 stars") in rows
    assert sum(1 for keys, _ in rows if keys == "1 \u2013 5") == 1
    assert ("Z", "100 % or fit to the screen (large view)") in rows
    assert any(keys.startswith("Shift") for keys, _ in rows)
    assert ("Z", "100 % or fit to the screen") in help_rows("large")
    assert all(keys != "Z" for keys, _ in help_rows("grid"))
    assert help_text("grid").splitlines()[0].split() == ["P", "Pick"]
    assert {b.intent for b in BINDINGS} >= set(MARK_INTENTS)


def test_a_mark_key_marks_the_selection_when_the_focused_picture_is_in_it_else_that_picture() -> None:
    assert mark_targets("b", ["a", "b", "c"]) == ("a", "b", "c")
    assert mark_targets("z", ["a", "b"]) == ("z",)
    assert mark_targets("", []) == ()


def test_compare_takes_two_to_four_pictures() -> None:
    assert compare_ids(["a", "b", "a"]) == ("a", "b")
    for chosen in (["a"], ["a", "b", "c", "d", "e"]):
        with pytest.raises(
            ValueError, match=f"Select 2 to 4 pictures to compare them side by side; {len(chosen)}"
        ):
            compare_ids(chosen)
