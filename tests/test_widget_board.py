"""StatusBoard: live cells from the shared tracker, the journal after a restart, and what it never shows."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from ipywidgets.widgets.widget import _instances

from qamera_widgets.client import AsyncQameraClient, Registration, Scenery
from qamera_widgets.journal import Journal
from qamera_widgets.thumbnails import ThumbnailLoader
from qamera_widgets.tracking import TIMED_OUT, WAITING, JobTracker, RecordState, TrackerEvent, tracker_for
from qamera_widgets.widgets.board import StatusBoard, count_statuses, format_elapsed
from qamera_widgets.widgets.form import PromptForm

from ._widget_support import assert_key_absent, eventually, fast_client, html_text, tree

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


def registration(ids: tuple[str, ...], prompt: str = "Pastel podium") -> Registration:
    return Registration(
        record_ids=ids, batch_id="batch-1", order_id="order-1", reservation_id="res-1",
        credits_reserved=10 * len(ids), correlation_id=None, idempotency_key="k",
        preferences=prompt, count=len(ids), submitted_at=NOW,
    )


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


def test_counts_and_credits_use_ten_credits_per_item() -> None:
    counts = count_statuses(["DONE"] * 7 + ["FAILED"] + ["PROCESSING", WAITING])
    assert counts.text() == "7 done, 1 failed, 2 running"
    assert counts.credits_text() == "70 credits consumed, 10 refunded, 20 still reserved"
    assert not counts.settled
    assert count_statuses(["DONE", "TIMED_OUT"]).text() == "1 done, 0 failed, 0 running, 1 timed out"
    assert [format_elapsed(s) for s in (0.4, 59, 61, 3725)] == ["0 s", "59 s", "1 min 01 s", "1 h 02 min"]


async def test_an_update_touches_only_the_cells_of_records_that_changed(
    tmp_path: Path, closing: list[Any]
) -> None:
    board, tracker = offline_board(tmp_path, closing)
    board.track(registration(("a", "b", "c")))
    assert board.statuses == {"a": WAITING, "b": WAITING, "c": WAITING}
    touched: list[str] = []
    for record_id in ("a", "b", "c"):
        cell = board.status_cell(record_id)
        cell.observe(lambda change, rid=record_id: touched.append(rid), names="value")
    tracker.emit("update", {"b": state("b", "PROCESSING")})
    assert touched == ["b"]
    tracker.emit("update", {"b": state("b", "DONE"), "c": state("c", "FAILED")})
    assert touched == ["b", "b", "c"]
    assert ">DONE<" in board.status_cell("b").value
    assert "qw-record-status" in board.status_cell("b")._dom_classes
    section = board._batches["batch-1"]
    assert html_text(section.counts) == "1 done, 1 failed, 1 running"
    assert html_text(section.credits) == "10 credits consumed, 10 refunded, 10 still reserved"
    assert (section.progress.value, section.progress.max) == (2, 3)


async def test_a_prepared_section_is_filled_in_without_building_a_widget(
    tmp_path: Path, closing: list[Any]
) -> None:
    board, tracker = offline_board(tmp_path, closing)
    slot = board.prepare("Pastel podium", 3)
    assert board.sections.children == (slot.box,) and slot.box.layout.display == "none"
    assert len(slot.records.children) == 3 and board.record_ids == ()
    assert "waiting for the server to confirm" in html_text(slot.header)
    assert "No batches tracked" in board.static_html()
    models_before = set(_instances)
    board.track(registration(("a", "b", "c")), slot=slot)
    assert set(_instances) == models_before, "filling a prepared section builds no widget"
    assert board.sections.children == (slot.box,) and slot.box.layout.display is None
    assert board.empty.layout.display == "none"
    assert board.record_ids == ("a", "b", "c") and board._batches["batch-1"] is slot
    assert [html_text(row.ident) for row in slot.rows] == ["a", "b", "c"]
    assert "batch batch-1" in html_text(slot.header) and "3 records" in html_text(slot.header)
    tracker.emit("update", {"b": state("b", "DONE")})
    assert html_text(slot.counts) == "1 done, 0 failed, 2 running"
    assert (slot.progress.value, slot.progress.max) == (1, 3)


async def test_a_released_section_is_hidden_and_reused_by_the_next_submission(
    tmp_path: Path, closing: list[Any]
) -> None:
    board, _tracker = offline_board(tmp_path, closing)
    slot = board.prepare("Refused for lack of credits", 3)
    surplus = slot.rows[2].box
    board.release(slot)
    assert slot.box.layout.display == "none" and board.record_ids == ()
    again = board.prepare("A smaller job", 2)
    assert again is slot and board.sections.children == (slot.box,)
    assert len(slot.rows) == 2 and len(slot.records.children) == 2 and surplus.comm is None
    bigger = board.prepare("Another pending submission", 4)
    assert bigger is not slot and len(bigger.records.children) == 4
    board.track(registration(("x", "y")), slot=slot)
    assert slot.box.layout.display is None and board.record_ids == ("x", "y")
    board.track(registration(("x", "y")), slot=bigger)
    assert bigger.box.layout.display == "none", "an already shown batch gives the section back"
    assert board.prepare("reuses it", 1) is bigger


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
        assert "track them again" in html_text(board.banner)
        await eventually(lambda: not tracker.running)
        board.track(["a"])
        assert board.statuses["a"] == "PROCESSING" and tracker.running
        assert board.banner.layout.display == "none"
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
    await eventually(lambda: journal.path.exists() and "FAILED" in journal.path.read_text())
    assert len(writers) == 1 and writers[0] != threading.get_ident()


async def test_tracker_problems_show_in_a_banner_inside_the_board(tmp_path: Path, closing: list[Any]) -> None:
    board, tracker = offline_board(tmp_path, closing)
    board.track(["x1"])
    assert board.banner.layout.display == "none"
    tracker.emit("problem", {}, "Connection problem, retrying in 4 s.")
    assert "qw-board-banner" in board.banner._dom_classes
    assert html_text(board.banner) == "Connection problem, retrying in 4 s."
    assert board.banner.layout.display is None
    tracker.emit("recovered", {}, "Connection restored; statuses are live again.")
    assert board.banner.layout.display == "none"
    tracker.emit("stopped", {}, "The API key was rejected (401): polling stopped.")
    assert "401" in html_text(board.banner)


async def test_static_html_fallback_lists_batches_escaped(tmp_path: Path, closing: list[Any]) -> None:
    board, tracker = offline_board(tmp_path, closing)
    board.track(registration(("r1", "r2"), prompt="<script>alert(1)</script> podium"))
    tracker.emit("update", {"r1": state("r1", "DONE")})
    bundle = board._repr_mimebundle_()
    assert bundle is not None and "application/vnd.jupyter.widget-view+json" in bundle
    static = bundle["text/html"]
    assert "<script>" not in static and "&lt;script&gt;" in static
    assert "r1</td><td>DONE" in static and "r2</td><td>waiting to appear" in static
    assert "<script>" not in board.sections.children[0].children[0].value
    assert "secretpart" not in static


async def submit(form: PromptForm, prompt: str, count: int) -> Registration:
    """Through the UI: type, click, and retry safely while the server's answer gets lost."""
    form.prompt.value = prompt
    form.count.value = count
    form.generate.click()
    result = await form.submit()
    for _ in range(20):
        if result is not None:
            return result
        assert form.pending_retry_key, form.status.value
        form.retry.click()
        result = await form.retry_unconfirmed()
    raise AssertionError("the submission was never confirmed")


async def test_a_form_submission_reaches_done_or_failed_matching_the_sandbox(
    make_sandbox: Callable[..., Any], closing: list[Any], widgets_home: Path
) -> None:
    sandbox = make_sandbox(failure_rate=0.3, processing_seconds=(0.05, 0.3))
    client = fast_client(sandbox)
    closing.append(client)
    form, board = PromptForm(client), StatusBoard(client)
    closing.extend([form, board])
    form.on_submit(board.track)
    form.prompt.value = "Walnut shelf in morning light"
    form.count.value = 8
    form.generate.click()
    reg = await form.submit()
    assert reg is not None and sandbox.stats()["registered_batches"] == 1
    assert len(board.sections.children) == 1 and set(board.record_ids) == set(reg.record_ids)
    await board.wait(timeout=30)
    listed = {s.id: s.status for s in await client.list_sceneries()}
    assert board.statuses == {i: listed[i] for i in reg.record_ids}
    assert set(board.statuses.values()) <= {"DONE", "FAILED"}
    for record_id, status in board.statuses.items():
        assert f">{status}<" in board.status_cell(record_id).value
    counts = count_statuses(board.statuses.values())
    assert html_text(board._batches[reg.batch_id].credits).startswith(
        f"{counts.done * 10} credits consumed, {counts.failed * 10} refunded"
    )
    ledger = sandbox.account()
    assert (ledger["consumed"], ledger["refunded"]) == (counts.done * 10, counts.failed * 10)
    assert Journal(widgets_home / "journal.jsonl").pending() == []
    done_rows = [board._rows[i] for i, s in board.statuses.items() if s == "DONE"]
    rendering = board.loader.placeholder("rendering").data
    await eventually(lambda: all(bytes(row.image.value) != rendering for row in done_rows))
    assert sandbox.stats()["cdn_requests_with_credentials"] == 0
    assert_key_absent(board, sandbox.api_key)


async def test_every_batch_completes_while_thirty_percent_of_requests_fail(
    make_sandbox: Callable[..., Any], closing: list[Any]
) -> None:
    sandbox = make_sandbox(api_error_rate=0.3, failure_rate=0.2, seed=7)
    client = fast_client(sandbox)
    closing.append(client)
    form, board = PromptForm(client), StatusBoard(client)
    closing.extend([form, board])
    form.on_submit(board.track)
    registrations = [await submit(form, f"Concrete plinth, take {n}", 4) for n in range(3)]
    await board.wait(timeout=90)
    sandbox.set_faults(api_error_rate=0.0)
    listed = {s.id: s.status for s in await client.list_sceneries()}
    ids = [i for reg in registrations for i in reg.record_ids]
    assert len(board.sections.children) == 3
    assert board.statuses == {i: listed[i] for i in ids}
    assert set(board.statuses.values()) <= {"DONE", "FAILED"}
    assert sandbox.stats()["registered_batches"] == 3
    assert sandbox.stats()["injected_errors"] > 0
    assert sandbox.audit() == []


async def test_a_board_after_a_kernel_restart_resumes_the_pending_batch(
    make_sandbox: Callable[..., Any], closing: list[Any], widgets_home: Path
) -> None:
    sandbox = make_sandbox(processing_seconds=(0.3, 0.6))
    journal_path = widgets_home / "journal.jsonl"
    before = fast_client(sandbox)
    form = PromptForm(before, journal=Journal(journal_path))
    reg = await submit(form, "Terracotta steps at dusk", 3)
    other_client = fast_client(sandbox, sandbox.issue_key())
    other_form = PromptForm(other_client, journal=Journal(journal_path))
    await submit(other_form, "Another key's job", 1)
    for widget in (form, other_form):
        widget.close()
    await before.aclose()
    await other_client.aclose()

    after = fast_client(sandbox)
    closing.append(after)
    assert tracker_for(after) is not tracker_for(before)
    board = StatusBoard(after, journal=Journal(journal_path))
    closing.append(board)
    resumed = board.resume()
    assert [b.batch_id for b in resumed] == [reg.batch_id]
    assert set(board.record_ids) == set(reg.record_ids)
    assert board.resume() == []
    await board.wait(timeout=30)
    assert set(board.statuses.values()) <= {"DONE", "FAILED"}
    assert Journal(journal_path).pending(base_url=after.base_url, key_id=after.key_id) == []


async def test_a_revoked_key_stops_polling_and_says_so_in_the_banner(
    make_sandbox: Callable[..., Any], closing: list[Any]
) -> None:
    sandbox = make_sandbox(processing_seconds=(5.0, 6.0))
    key = sandbox.issue_key()
    client = fast_client(sandbox, key)
    closing.append(client)
    form, board = PromptForm(client), StatusBoard(client)
    closing.extend([form, board])
    form.on_submit(board.track)
    await submit(form, "Glass block wall", 2)
    sandbox.revoke_key(key)
    with pytest.raises(Exception, match="401"):
        await board.wait(timeout=20)
    assert "401" in html_text(board.banner) and board.banner.layout.display is None
    assert_key_absent(board, key)


async def test_close_stops_polling_for_its_records_and_closes_every_widget(
    make_sandbox: Callable[..., Any], closing: list[Any]
) -> None:
    sandbox = make_sandbox(processing_seconds=(5.0, 6.0))
    client = fast_client(sandbox)
    closing.append(client)
    first, second = StatusBoard(client), StatusBoard(client)
    closing.append(second)
    reg = await client.register_ideas("Slate tile floor", 2)
    first.track(reg)
    second.track(reg)
    tracker = tracker_for(client)
    await eventually(lambda: all(s.status != WAITING for s in tracker.states.values()))
    widgets_before = tree(first)
    running = list(first._tasks._tasks)
    assert running, "the elapsed-time ticker runs while records are unfinished"
    first.close()
    assert all(w.comm is None for w in widgets_before)
    await asyncio.wait(running, timeout=2)
    assert all(task.cancelled() for task in running)
    assert tracker.running, "the other board still shows these records"
    second.close()
    assert not tracker.running


async def test_resume_warns_about_submissions_that_were_never_confirmed(
    sandbox: Any, closing: list[Any], widgets_home: Path
) -> None:
    journal = Journal(widgets_home / "journal.jsonl")
    sandbox.set_faults(drop_after_register=1)
    before = fast_client(sandbox)
    form = PromptForm(before, journal=journal)
    form.prompt.value, form.count.value = "Velvet drape, moody light", 2
    assert await form.submit() is None
    key = form.pending_retry_key
    form.close()
    await before.aclose()

    after = fast_client(sandbox)
    closing.append(after)
    board = StatusBoard(after, journal=Journal(widgets_home / "journal.jsonl"))
    closing.append(board)
    assert board.resume() == []
    text = html_text(board.banner)
    assert key is not None and key in text and "never confirmed" in text
    assert "Velvet drape" in text
