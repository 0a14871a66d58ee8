"""StatusBoard: runs of live cards fed by the shared tracker, the journal after a restart, folding, and what
crosses the comm when a status changes."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from qamera_widgets.client import AsyncQameraClient, Registration, Scenery
from qamera_widgets.engine.jobs.journal import Journal
from qamera_widgets.engine.jobs.runs import count_statuses
from qamera_widgets.engine.jobs.tracking import (
    TIMED_OUT,
    WAITING,
    JobTracker,
    RecordState,
    TrackerEvent,
)
from qamera_widgets.engine.pictures.loader import ThumbnailLoader
from qamera_widgets.widgets.board import VISIBLE_RUNS, StatusBoard
from qamera_widgets.widgets.canvas import PATCH_WINDOW_SECONDS
from qamera_widgets.widgets.form import PromptForm
from tests._widget_support import (
    eventually,
    from_browser,
    live_models,
    wire,
)
from tests.helpers.records import make_registration

NOW = datetime(2026, 3, 20, 13, 0, tzinfo=timezone.utc)


pytestmark = pytest.mark.usefixtures("widgets_home")


class FakeTracker:
    """Just the tracker surface a board uses, with events pushed by the test."""

    def __init__(self) -> None:
        self.listeners: list[Callable[[TrackerEvent], None]] = []
        self._states: dict[str, RecordState] = {}
        self.untracked: list[str] = []

    @property
    def states(self) -> Mapping[str, RecordState]:
        return MappingProxyType(dict(self._states))

    def subscribe(self, callback: Callable[[TrackerEvent], None]) -> Callable[[], None]:
        self.listeners.append(callback)
        return lambda: self.listeners.remove(callback)

    def track(self, ids: Iterable[str], *, deadline: float | None = None) -> None:
        new = {i: RecordState(i, WAITING, None, NOW) for i in ids if i not in self._states}
        self.emit("update", new)

    def untrack(self, ids: Iterable[str]) -> None:
        self.untracked.extend(ids)

    def emit(self, kind: str, changes: Mapping[str, RecordState], message: str = "") -> None:
        self._states.update(changes)
        event = TrackerEvent(kind, MappingProxyType(dict(changes)), message)
        for listener in list(self.listeners):
            listener(event)


def state(record_id: str, status: str) -> RecordState:
    scenery = Scenery(record_id, f"Scenery {record_id}", None, status, "PENDING", NOW)
    return RecordState(record_id, status, scenery, NOW)


def registration(ids: tuple[str, ...], prompt: str = "Pastel podium", batch: str = "batch-1") -> Registration:
    return make_registration(ids, batch, prompt=prompt, submitted_at=NOW)


def offline_board(
    tmp_path: Path, closing: list[Any], tracker: Any = None, journal: Journal | None = None
) -> tuple[StatusBoard, Any]:
    tracker = tracker if tracker is not None else FakeTracker()
    client = AsyncQameraClient("mk_test_k1.secretpart", "http://127.0.0.1:9")
    board = StatusBoard(
        client,
        tracker=tracker,
        journal=journal if journal is not None else Journal(tmp_path / "j.jsonl"),
        loader=ThumbnailLoader(size=32),
    )
    closing.append(board)
    return board, tracker


def card_ids(board: StatusBoard) -> list[str]:
    return [c["id"] for c in board.cards]


def cards_by_id(board: StatusBoard) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in board.get_state()["cards"]}


def test_counts_and_credits_use_ten_credits_per_item() -> None:
    counts = count_statuses(["DONE"] * 7 + ["FAILED"] + ["PROCESSING", WAITING])
    assert counts.text() == "7 of 10 done · 1 failed · 2 in progress"
    assert counts.credits_text() == "20 credits reserved · 70 consumed · 10 refunded"
    assert not counts.settled
    assert count_statuses(["DONE", TIMED_OUT]).text() == "1 of 2 done · 1 no longer watched"
    assert count_statuses([]).credits_text() == "no credits"


async def test_a_runs_cards_follow_created_record_ids_order(tmp_path: Path, closing: list[Any]) -> None:
    board, _tracker = offline_board(tmp_path, closing)
    board.track(registration(("c", "a", "b", "a")))
    assert card_ids(board) == ["c", "a", "b"]
    [run] = board.runs
    assert run["ids"] == ["c", "a", "b"] and run["prompt"] == "Pastel podium"
    assert run["total"] == 3 and "batch batch-1" in run["meta"] and "3 pictures" in run["meta"]
    assert all(c["run"] == run["key"] and c["prompt"] == "Pastel podium" for c in board.cards)


async def test_a_status_change_is_a_small_patch_not_the_card_list(tmp_path: Path, closing: list[Any]) -> None:
    board, tracker = offline_board(tmp_path, closing)
    ids = tuple(f"record-{n:02d}" for n in range(20))
    board.track(registration(ids))
    link = wire(board)
    from_browser(board, {"kind": "hello", "ids": []})  # a view is drawn and listening
    seen: list[Any] = []
    board.observe(seen.append, "cards")
    whole_list = len(json.dumps(board.cards))

    tracker.emit("update", {"record-07": state("record-07", "PROCESSING")})
    await asyncio.sleep(PATCH_WINDOW_SECONDS * 2)  # changes gathered in one window go out together
    [(patch, buffers)] = link.messages("patch")
    assert [c["id"] for c in patch["cards"]] == ["record-07"] and buffers == []
    assert patch["cards"][0]["state"] == "processing"
    assert "run" not in patch["cards"][0] and "vote" not in patch["cards"][0], "only what changed"
    assert len(json.dumps(patch)) * 10 < whole_list
    assert seen == [] and all("cards" not in update for update in link.updates())
    assert cards_by_id(board)["record-07"]["state"] == "processing", "the trait holds the change too"

    link.clear()
    tracker.emit(
        "update", {"record-01": state("record-01", "DONE"), "record-02": state("record-02", "FAILED")}
    )
    await asyncio.sleep(PATCH_WINDOW_SECONDS * 2)
    [(patch, _)] = link.messages("patch")
    assert sorted(c["id"] for c in patch["cards"]) == ["record-01", "record-02"]
    [run] = board.runs
    assert (run["done"], run["failed"], run["total"]) == (1, 1, 20)
    assert run["progress"] == "1 of 20 done · 1 failed · 18 in progress"
    assert run["credits"] == "180 credits reserved · 10 consumed · 10 refunded"
    failed = cards_by_id(board)["record-02"]
    assert (failed["state"], failed["label"]) == ("failed", "Failed · credits refunded")


async def test_a_view_that_connects_late_gets_the_patched_cards(tmp_path: Path, closing: list[Any]) -> None:
    board, tracker = offline_board(tmp_path, closing)
    board.track(registration(("a", "b")))
    tracker.emit("update", {"b": state("b", "PROCESSING")})
    await asyncio.sleep(PATCH_WINDOW_SECONDS * 2)
    link = wire(board)
    from_browser(board, {"kind": "hello", "ids": []})
    [(patch, _)] = link.messages("patch")
    assert {c["id"]: c["state"] for c in patch["cards"]} == {"b": "processing"}, "what changed since sync"


async def test_a_prepared_run_shows_placeholders_and_is_confirmed_in_place(
    tmp_path: Path, closing: list[Any]
) -> None:
    board, tracker = offline_board(tmp_path, closing)
    models = live_models()
    slot = board.prepare("Pastel podium", 3)
    [run] = board.runs
    assert run["prompt"] == "Pastel podium" and "waiting for the server to confirm" in run["meta"]
    assert run["credits"] == "30 credits to reserve" and run["progress"] == "sending…"
    assert [(c["state"], c["label"]) for c in board.cards] == [("waiting", "Sending…")] * 3
    assert tuple(board.record_ids) == ()
    board.track(registration(("a", "b", "c")), slot=slot)
    [run] = board.runs
    assert board.record_ids == ("a", "b", "c") and card_ids(board) == ["a", "b", "c"]
    assert "batch batch-1" in run["meta"] and run["credits"] == "30 credits reserved"
    tracker.emit("update", {"b": state("b", "DONE")})
    assert board.runs[0]["progress"] == "1 of 3 done · 2 in progress"
    assert live_models() == models, "a run is data: no widget model is built for it"


async def test_a_released_run_disappears_and_a_batch_is_shown_once(
    tmp_path: Path, closing: list[Any]
) -> None:
    board, _tracker = offline_board(tmp_path, closing)
    slot = board.prepare("Refused for lack of credits", 3)
    board.release(slot)
    assert board.runs == [] and board.cards == [] and board.record_ids == ()
    first = board.prepare("A smaller job", 2)
    second = board.prepare("Another pending submission", 4)
    board.track(registration(("x", "y")), slot=first)
    board.track(registration(("x", "y")), slot=second)
    assert [r["ids"] for r in board.runs] == [["x", "y"]], "an already shown batch takes no second run"
    assert card_ids(board) == ["x", "y"]


async def test_runs_beyond_the_visible_ones_fold_into_one_line(tmp_path: Path, closing: list[Any]) -> None:
    board, _tracker = offline_board(tmp_path, closing)
    for n in range(VISIBLE_RUNS + 2):
        board.track(registration((f"r{n}-a", f"r{n}-b"), prompt=f"Idea {n}", batch=f"batch-{n}"))
    assert [r["prompt"] for r in board.runs] == [f"Idea {n}" for n in range(VISIBLE_RUNS + 1, 1, -1)]
    assert board.folded_runs["count"] == 2
    assert board.folded_runs["text"] == "2 earlier runs · 4 pictures · 40 credits reserved"
    assert len(board.cards) == 2 * VISIBLE_RUNS and "r0-a" not in card_ids(board)
    assert len(board.sections) == VISIBLE_RUNS + 2 and len(board.record_ids) == 2 * (VISIBLE_RUNS + 2)

    from_browser(board, {"kind": "more_runs"})  # "Show more"
    assert len(board.runs) == VISIBLE_RUNS + 2 and board.folded_runs == {}
    assert card_ids(board)[-2:] == ["r0-a", "r0-b"]

    newest = board.runs[0]["key"]
    from_browser(board, {"kind": "toggle_run", "key": newest})  # fold one run by hand
    assert board.runs[0]["collapsed"] and f"r{VISIBLE_RUNS + 1}-a" not in card_ids(board)
    from_browser(board, {"kind": "toggle_run", "key": newest})
    assert not board.runs[0]["collapsed"] and card_ids(board)[0] == f"r{VISIBLE_RUNS + 1}-a"


async def test_use_run_prompt_hands_the_prompt_to_the_callbacks(tmp_path: Path, closing: list[Any]) -> None:
    board, _tracker = offline_board(tmp_path, closing)
    board.track(registration(("a",), prompt="Copper vase on slate"))
    assert not board.can_use_prompt
    used: list[str] = []
    board.on_use_prompt(used.append)
    assert board.can_use_prompt and board.runs[0]["use_prompt"]
    from_browser(board, {"kind": "use_run_prompt", "key": board.runs[0]["key"]})
    board.open_id = "a"
    from_browser(board, {"kind": "use_prompt", "id": "a"})
    assert used == ["Copper vase on slate"] * 2 and board.open_id == "", "using a prompt closes the view"
    board.on_use_prompt(used.append, remove=True)
    assert not board.can_use_prompt


async def test_tracking_timed_out_records_again_watches_them_again(
    tmp_path: Path, closing: list[Any]
) -> None:
    class Lister:
        status = "PROCESSING"

        async def list_sceneries(self, status_filter: str = "all") -> list[Scenery]:
            return [Scenery("a", "Scenery a", None, self.status, "PENDING", NOW)]

    lister = Lister()
    now = [0.0]
    tracker = JobTracker(lister, clock=lambda: now[0], deadline=10, poll_interval=0.01)
    board, _ = offline_board(tmp_path, closing, tracker=tracker)
    try:
        board.track(["a"])
        await eventually(lambda: board.statuses["a"] == "PROCESSING")
        now[0] = 11
        await eventually(lambda: board.statuses["a"] == TIMED_OUT)
        assert "track them again" in board.message
        assert cards_by_id(board)["a"]["state"] == "timed_out"
        await eventually(lambda: not tracker.running)
        board.track(["a"])
        assert board.statuses["a"] == "PROCESSING" and tracker.running
        assert board.message == ""
        lister.status = "DONE"
        await eventually(lambda: board.statuses["a"] == "DONE")
    finally:
        await tracker.close()


async def test_final_statuses_are_journaled_in_a_worker_thread(tmp_path: Path, closing: list[Any]) -> None:
    writers: list[int] = []

    class WatchedJournal(Journal):
        def record_final(self, base_url: str, statuses: Mapping[str, str]) -> None:
            writers.append(threading.get_ident())
            super().record_final(base_url, statuses)

    journal = WatchedJournal(tmp_path / "j.jsonl")
    board, tracker = offline_board(tmp_path, closing, journal=journal)
    board.track(registration(("a", "b")))
    tracker.emit("update", {"a": state("a", "DONE"), "b": state("b", "FAILED")})
    await eventually(lambda: journal.store.counts()["finals"] == 2)  # adapted: the store, not a JSON line
    assert len(writers) == 1 and writers[0] != threading.get_ident()


async def test_tracker_problems_show_in_the_message_line(tmp_path: Path, closing: list[Any]) -> None:
    board, tracker = offline_board(tmp_path, closing)
    board.track(["x1"])
    assert board.message == ""
    tracker.emit("problem", {}, "Connection problem, retrying in 4 s.")
    assert (board.message, board.message_kind) == ("Connection problem, retrying in 4 s.", "info")
    tracker.emit("recovered", {}, "Connection restored; statuses are live again.")
    assert board.message == ""
    tracker.emit("stopped", {}, "The API key was rejected (401): polling stopped.")
    assert "401" in board.message and board.message_kind == "error"


async def test_static_html_fallback_lists_the_cards_escaped(tmp_path: Path, closing: list[Any]) -> None:
    board, tracker = offline_board(tmp_path, closing)
    board.track(registration(("r1", "r2"), prompt="<script>alert(1)</script> podium"))
    tracker.emit("update", {"r1": state("r1", "DONE")})
    static = board.static_html()
    assert "<script>" not in static and static.count("&lt;script&gt;alert(1)&lt;/script&gt; podium") >= 2
    assert "Waiting to appear" in static
    assert static.count("data:image/") == 2, "each card has a tile, a placeholder until its picture loads"
    assert "secretpart" not in static
    assert board.cards[0]["prompt"] == "<script>alert(1)</script> podium", "the view gets the text as data"


async def submit(form: PromptForm, prompt: str, count: int) -> Registration:
    """Through the view: Generate with the fields, then Retry safely while the server's answer gets lost."""
    from_browser(form, {"kind": "generate", "prompt": prompt, "count": count})
    result = await form.submit()
    for _ in range(20):
        if result is not None:
            return result
        assert form.pending_retry_key, form.status
        from_browser(form, {"kind": "retry"})
        result = await form.retry_unconfirmed()
    raise AssertionError("the submission was never confirmed")


async def test_the_elapsed_time_of_a_live_card_starts_when_its_status_changed(
    tmp_path: Path, closing: list[Any]
) -> None:
    board, tracker = offline_board(tmp_path, closing)
    board.track(["p"])
    started = NOW + timedelta(seconds=5)
    scenery = Scenery("p", "Scenery p", None, "PROCESSING", "PENDING", NOW)
    tracker.emit("update", {"p": RecordState("p", "PROCESSING", scenery, started)})
    assert cards_by_id(board)["p"]["since"] == int(started.timestamp() * 1000)


async def test_a_comparison_is_one_run_in_the_folded_line(tmp_path: Path, closing: list[Any]) -> None:
    """Issue 21: after runs and one six-prompt comparison, the line counts the comparison once."""
    board, _tracker = offline_board(tmp_path, closing)
    for n in range(6):
        prepared = board.prepare(f"prompt {n}", 1, comparison="cmp-1", template="{a|b|c|d|e|f}")
        board.track(registration((f"c{n}",), prompt=f"prompt {n}", batch=f"cmp-batch-{n}"), run=prepared)
    for n in range(VISIBLE_RUNS):
        board.track(registration((f"r{n}",), prompt=f"Idea {n}", batch=f"batch-{n}"))
    assert board.folded_runs["count"] == 1
    assert board.folded_runs["text"] == "1 earlier run · 6 pictures · 60 credits reserved"
    from_browser(board, {"kind": "more_runs"})
    assert len(board.runs) == VISIBLE_RUNS + 1 and board.runs[-1]["kind"] == "compare"


async def test_a_two_slot_comparison_says_its_axes_and_each_rows_cell(
    tmp_path: Path, closing: list[Any]
) -> None:
    board, _tracker = offline_board(tmp_path, closing)
    combos = [("oak", "warm"), ("oak", "cold"), ("marble", "warm"), ("marble", "cold")]
    for n, (material, light) in enumerate(combos):
        parts = ((material, True), (" top, ", False), (light, True), (" light, ", False), ("4k", True))
        prepared = board.prepare(f"{material} {light}", 1, comparison="cmp-2", template="t", parts=parts)
        board.track(registration((f"m{n}",), prompt=f"{material} {light}", batch=f"m-{n}"), run=prepared)
    [run] = board.runs
    assert [(a["label"], a["values"]) for a in run["axes"]] == [
        ("{oak|marble}", ["oak", "marble"]),
        ("{warm|cold}", ["warm", "cold"]),
    ], "the slot with one word (4k) is no axis"
    assert [row["cell"] for row in run["rows"]] == [[0, 0], [0, 1], [1, 0], [1, 1]]
