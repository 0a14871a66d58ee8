"""The status board on a sandbox: pictures, failing requests, restarts, revoked keys, close and resume."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from qamera_widgets.engine.jobs.journal import Journal
from qamera_widgets.engine.jobs.runs import count_statuses
from qamera_widgets.engine.jobs.tracking import (
    WAITING,
    tracker_for,
)
from qamera_widgets.widgets.board import StatusBoard
from qamera_widgets.widgets.form import PromptForm
from tests._widget_support import (
    assert_key_absent,
    eventually,
    fast_client,
    from_browser,
    tree,
    wire,
)
from tests.unit.test_widget_board import card_ids, cards_by_id, submit

pytestmark = pytest.mark.usefixtures("widgets_home")


async def test_placeholders_turn_into_pictures_that_the_view_pulls_once(
    make_sandbox: Callable[..., Any], closing: list[Any], widgets_home: Path
) -> None:
    sandbox = make_sandbox(failure_rate=0.3, processing_seconds=(0.05, 0.3))
    client = fast_client(sandbox)
    closing.append(client)
    form, board = PromptForm(client), StatusBoard(client)
    closing.extend([form, board])
    form.on_submit(board.track)
    link = wire(board)
    reg = await submit(form, "Walnut shelf in morning light", 8)
    assert sandbox.stats()["registered_batches"] == 1
    assert len(board.runs) == 1 and card_ids(board) == list(reg.record_ids)
    assert all(c["thumb"] == 0 for c in board.cards), "placeholders first"
    await board.wait(timeout=30)

    listed = {s.id: s.status for s in await client.list_sceneries()}
    assert board.statuses == {i: listed[i] for i in reg.record_ids}
    assert set(board.statuses.values()) <= {"DONE", "FAILED"}
    cards = cards_by_id(board)
    done = [i for i, s in board.statuses.items() if s == "DONE"]
    failed = [i for i, s in board.statuses.items() if s == "FAILED"]
    assert done and failed, "seed 1234 at 30% failures finishes some of each"
    assert all(cards[i]["thumb"] > 0 and cards[i]["label"] == "" for i in done)
    assert all(cards[i]["thumb"] == 0 and "refunded" in cards[i]["label"] for i in failed)
    assert all(not buffers for _, buffers in link.sent), "nothing is pushed before the view asks"

    from_browser(board, {"kind": "want", "ids": list(reg.record_ids)})
    [(message, buffers)] = link.messages("thumbs")
    assert [item["id"] for item in message["pictures"]] == done
    thumbs = [board.thumbnail_of(i) for i in done]
    assert buffers == [thumb.data for thumb in thumbs if thumb is not None] and len(buffers) == len(done)

    counts = count_statuses(board.statuses.values())
    assert board.runs[0]["credits"] == counts.credits_text()
    assert board.runs[0]["credits"] == f"{counts.done * 10} consumed · {counts.failed * 10} refunded"
    ledger = sandbox.account()
    assert (ledger["consumed"], ledger["refunded"]) == (counts.done * 10, counts.failed * 10)
    assert Journal(widgets_home / "journal.jsonl").pending() == []
    assert sandbox.stats()["cdn_requests_with_credentials"] == 0
    assert_key_absent(board, sandbox.api_key, json.dumps([data for data, _ in link.sent]))


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
    assert [r["prompt"] for r in board.runs] == [f"Concrete plinth, take {n}" for n in (2, 1, 0)]
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
    assert [r["prompt"] for r in board.runs] == ["Terracotta steps at dusk"]
    assert card_ids(board) == list(reg.record_ids)
    assert board.resume() == []
    await board.wait(timeout=30)
    assert set(board.statuses.values()) <= {"DONE", "FAILED"}
    assert Journal(journal_path).pending(base_url=after.base_url, key_id=after.key_id) == []


async def test_a_revoked_key_stops_polling_and_says_so(slow_sandbox: Any, closing: list[Any]) -> None:
    key = slow_sandbox.issue_key()
    client = fast_client(slow_sandbox, key)
    closing.append(client)
    form, board = PromptForm(client), StatusBoard(client)
    closing.extend([form, board])
    form.on_submit(board.track)
    await submit(form, "Glass block wall", 2)
    slow_sandbox.revoke_key(key)
    with pytest.raises(Exception, match="401"):
        await board.wait(timeout=20)
    assert "401" in board.message and board.message_kind == "error"
    assert_key_absent(board, key)


async def test_close_stops_polling_for_its_records_and_closes_its_models(
    slow_sandbox: Any, closing: list[Any]
) -> None:
    client = fast_client(slow_sandbox)
    closing.append(client)
    first, second = StatusBoard(client), StatusBoard(client)
    closing.append(second)
    reg = await client.register_ideas("Slate tile floor", 2)
    first.track(reg)
    second.track(reg)
    tracker = tracker_for(client)
    await eventually(lambda: all(s.status != WAITING for s in tracker.states.values()))
    models = tree(first)
    first.close()
    assert all(w.comm is None for w in models)
    assert tracker.running, "the other board still shows these records"
    with pytest.raises(RuntimeError, match="closed"):
        first.track(reg)
    second.close()
    assert not tracker.running


async def test_resume_warns_about_submissions_that_were_never_confirmed(
    sandbox: Any, closing: list[Any], widgets_home: Path
) -> None:
    journal = Journal(widgets_home / "journal.jsonl")
    sandbox.set_faults(drop_after_register=1)
    before = fast_client(sandbox)
    form = PromptForm(before, journal=journal)
    form.prompt, form.count = "Velvet drape, moody light", 2
    assert await form.submit() is None
    key = form.pending_retry_key
    form.close()
    await before.aclose()

    after = fast_client(sandbox)
    closing.append(after)
    board = StatusBoard(after, journal=Journal(widgets_home / "journal.jsonl"))
    closing.append(board)
    assert board.resume() == []
    assert key is not None and key in board.message and "never confirmed" in board.message
    assert "Velvet drape" in board.message and board.message_kind == "error"
