"""Studio: the form, the runs and the library on one poll, a bounded number of widget models however long
the session, "use this prompt", sandbox mode and from_env."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import urlsplit

import pytest

from qamera_widgets.client import QameraClient, Registration
from qamera_widgets.connect import Connection
from qamera_widgets.engine.account import account_text
from qamera_widgets.engine.jobs.journal import Journal
from qamera_widgets.engine.jobs.tracking import tracker_for
from qamera_widgets.sandbox import SandboxHandle
from qamera_widgets.widgets import studio as studio_module
from qamera_widgets.widgets.board import VISIBLE_RUNS, StatusBoard
from qamera_widgets.widgets.studio import SANDBOX_BADGE_TEXT, Studio
from tests._widget_support import (
    assert_key_absent,
    displayed,
    eventually,
    fast_client,
    from_browser,
    live_models,
    settled,
    tree,
)

pytestmark = pytest.mark.usefixtures("widgets_home")

MAX_MODELS = 15
"""Issue 14: a studio is at most this many widget models, after one batch or fifty."""


def studio_for(sandbox: Any, closing: list[Any], **options: Any) -> Studio:
    client = fast_client(sandbox)
    closing.append(client)
    options.setdefault("refresh_debounce", 0.1)
    options.setdefault("account_interval", 0.1)
    studio = Studio(client, sandbox=sandbox, **options)
    closing.append(studio)
    return studio


def click_generate(studio: Studio, prompt: str, count: int) -> None:
    """Generate in the form's view, with the fields as typed."""
    from_browser(studio.form, {"kind": "generate", "prompt": prompt, "count": count})


async def generate(studio: Studio, prompt: str, count: int) -> Registration:
    click_generate(studio, prompt, count)
    registration = await studio.form.submit()
    assert registration is not None, studio.form.status
    return registration


def drawn_size(board: StatusBoard) -> int:
    """Bytes of what the board draws: its cards, run headers and the folded line."""
    state = board.get_state()
    return len(json.dumps([state["cards"], state["runs"], state["folded_runs"]]))


def port_is_open(url: str) -> bool:
    parts = urlsplit(url)
    with socket.socket() as probe:
        probe.settimeout(1.0)
        return probe.connect_ex((parts.hostname or "127.0.0.1", parts.port or 80)) == 0


async def test_two_boards_and_the_gallery_share_one_list_request_per_tick(
    make_sandbox: Callable[..., Any], closing: list[Any]
) -> None:
    sandbox = make_sandbox(processing_seconds=(1.0, 2.5), failure_rate=0.2)
    studio = studio_for(sandbox, closing)
    await studio.gallery.wait_idle()
    extra = StatusBoard(studio.client)
    closing.append(extra)
    tracker = studio.board.tracker
    assert tracker is tracker_for(studio.client) is extra.tracker
    ticks = 0
    poll_once = tracker.poll_once

    async def counted_poll() -> Any:
        nonlocal ticks
        ticks += 1
        return await poll_once()

    tracker.poll_once = counted_poll  # type: ignore[method-assign]
    sandbox.reset_stats()
    registration = await generate(studio, "Brushed steel table, overhead light", 4)
    extra.track(registration)
    await studio.board.wait(timeout=30)
    await extra.wait(timeout=30)
    await eventually(lambda: set(registration.record_ids) <= {s.id for s in studio.gallery.sceneries})
    await studio.gallery.wait_idle()
    assert ticks >= 2
    assert sandbox.stats()["list_requests"] == ticks
    assert extra.statuses == studio.board.statuses
    shown = {s.id: s.status for s in studio.gallery.sceneries}
    assert {i: shown[i] for i in registration.record_ids} == studio.board.statuses


async def test_a_burst_of_finished_records_updates_the_library_once_without_a_request(
    make_sandbox: Callable[..., Any], closing: list[Any]
) -> None:
    sandbox = make_sandbox(processing_seconds=(0.05, 0.6))
    studio = studio_for(sandbox, closing, refresh_debounce=60)
    await studio.gallery.wait_idle()
    listed = sandbox.stats()["list_requests"]
    registration = await generate(studio, "Twenty stools in a row", 20)
    await studio.board.wait(timeout=30)
    assert studio.gallery_updates == 0, "finishing records wait out the quiet spell together"
    polls = sandbox.stats()["list_requests"] - listed
    await studio.wait_idle()  # skips the quiet spell
    assert studio.gallery_updates == 1
    assert set(registration.record_ids) <= {s.id for s in studio.gallery.sceneries}
    assert sandbox.stats()["list_requests"] - listed == polls, "the library used the tracker's list"


async def test_a_submission_shows_its_run_in_the_click_and_the_answer_fills_it_in_place(
    make_sandbox: Callable[..., Any], closing: list[Any]
) -> None:
    sandbox = make_sandbox(processing_seconds=(0.2, 0.4))
    studio = studio_for(sandbox, closing)
    await studio.gallery.wait_idle()
    models = live_models()
    click_generate(studio, "Oak bench in a sunny courtyard", 3)
    [run] = studio.board.runs
    assert run["prompt"] == "Oak bench in a sunny courtyard" and "waiting for the server" in run["meta"]
    assert [c["state"] for c in studio.board.cards] == ["waiting"] * 3
    registration = await studio.form.submit()
    assert registration is not None
    [run] = studio.board.runs
    assert run["ids"] == list(registration.record_ids)
    assert [c["id"] for c in studio.board.cards] == list(registration.record_ids)
    await studio.wait_idle(timeout=30)
    assert all(c["state"] == "done" and c["thumb"] > 0 for c in studio.board.cards)
    assert live_models() == models, "no widget model was built for the run"


async def test_a_refused_submission_removes_its_run(
    make_sandbox: Callable[..., Any], closing: list[Any]
) -> None:
    sandbox = make_sandbox()
    client = fast_client(sandbox, sandbox.issue_key(credits=40))
    closing.append(client)
    studio = Studio(client, refresh_debounce=0.1)
    closing.append(studio)
    click_generate(studio, "Too expensive for this account", 10)
    assert len(studio.board.runs) == 1
    assert await studio.form.submit() is None
    assert studio.board.runs == [] and studio.board.cards == [] and studio.board.record_ids == ()
    registration = await generate(studio, "Affordable", 3)
    assert [r["prompt"] for r in studio.board.runs] == ["Affordable"]
    assert set(studio.board.record_ids) == set(registration.record_ids)


async def test_the_model_count_stays_the_same_after_fifty_batches(
    make_sandbox: Callable[..., Any], closing: list[Any]
) -> None:
    sandbox = make_sandbox(credits=2000)
    studio = studio_for(sandbox, closing)
    await generate(studio, "Batch 0", 1)
    await studio.wait_idle(timeout=30)
    models = [w.model_id for w in tree(studio)]
    live = live_models()
    drawn_after_one = drawn_size(studio.board)
    assert len(models) <= MAX_MODELS
    for n in range(1, 50):
        await generate(studio, f"Batch {n}", 1)
    await studio.wait_idle(timeout=60)
    assert [w.model_id for w in tree(studio)] == models
    assert live_models() == live
    board = studio.board
    assert len(board.runs) == VISIBLE_RUNS and board.folded_runs["count"] == 50 - VISIBLE_RUNS
    assert len(board.cards) == VISIBLE_RUNS
    assert drawn_size(board) < (VISIBLE_RUNS + 1) * drawn_after_one, "what the board draws stays bounded"


async def test_use_this_prompt_fills_the_form(make_sandbox: Callable[..., Any], closing: list[Any]) -> None:
    sandbox = make_sandbox()
    studio = studio_for(sandbox, closing)
    registration = await generate(studio, "Rattan chair by a window", 2)
    await studio.wait_idle(timeout=30)
    assert studio.gallery.can_use_prompt and studio.board.can_use_prompt
    studio.form.prompt = "something else"
    picked = registration.record_ids[1]
    studio.gallery.open_id = picked  # the large view of a library card
    from_browser(studio.gallery, {"kind": "use_prompt", "id": picked})
    assert studio.form.prompt == "Rattan chair by a window" and studio.gallery.open_id == ""
    studio.form.prompt = "something else"
    from_browser(studio.board, {"kind": "use_run_prompt", "key": studio.board.runs[0]["key"]})
    assert studio.form.prompt == "Rattan chair by a window"


async def test_sandbox_mode_shows_a_badge_and_the_account_live(
    make_sandbox: Callable[..., Any], closing: list[Any]
) -> None:
    sandbox = make_sandbox()
    studio = studio_for(sandbox, closing)
    assert "qw-studio" in studio._dom_classes
    assert studio.gallery.collapsed is True, "its pictures are in Runs: the library starts as one line"
    assert studio.form.badge == SANDBOX_BADGE_TEXT
    await eventually(lambda: "available" in studio.form.account)
    assert studio.form.account == f"Credits: {account_text(sandbox.account())}"
    await generate(studio, "Linen backdrop", 3)
    await studio.board.wait(timeout=30)
    await eventually(lambda: studio.form.account == f"Credits: {account_text(sandbox.account())}")
    assert "30 consumed" in studio.form.account

    plain = Studio(studio.client)
    closing.append(plain)
    assert plain.form.badge == "" and plain.form.account == ""


async def test_from_env_without_a_key_starts_a_sandbox_and_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("QAMERA_API_KEY", "QAMERA_BASE_URL", "QAMERA_SANDBOX_ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    before = asyncio.all_tasks()
    studio = Studio.from_env(processing_seconds=(0.05, 0.2), rate_limit=None)
    try:
        assert studio.sandbox is not None
        assert capsys.readouterr().out == "", "said once, inside the widget, not also printed"
        assert "No QAMERA_API_KEY set" in studio.form.notice and "sandbox" in studio.form.notice
        assert studio.form.badge == SANDBOX_BADGE_TEXT
        assert "real credits" not in studio.form.notice, "the badge says it; the notice does not say it again"
        base_url = studio.sandbox.base_url
        assert port_is_open(base_url)
        assert studio.sandbox.api_key is not None
        assert_key_absent(studio, studio.sandbox.api_key)
    finally:
        studio.close()
    await settled(before)
    assert not port_is_open(base_url)


async def test_from_env_with_a_key_talks_to_that_service_without_a_sandbox_badge(
    make_sandbox: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = make_sandbox()
    monkeypatch.setenv("QAMERA_API_KEY", sandbox.api_key)
    monkeypatch.setenv("QAMERA_BASE_URL", sandbox.base_url)
    monkeypatch.delenv("QAMERA_SANDBOX_ADMIN_TOKEN", raising=False)
    before = asyncio.all_tasks()
    studio = Studio.from_env()
    try:
        assert studio.sandbox is None
        assert studio.client.base_url == sandbox.base_url
        assert "real credits" in studio.form.notice
        assert studio.form.badge == ""
        await studio.gallery.wait_idle()
        assert_key_absent(studio, sandbox.api_key)
    finally:
        studio.close()
    await settled(before)
    assert port_is_open(sandbox.base_url), "a sandbox the Studio did not start stays up"


async def test_the_api_key_never_appears_in_any_widget_state(
    make_sandbox: Callable[..., Any], closing: list[Any]
) -> None:
    sandbox = make_sandbox(failure_rate=0.3)
    studio = studio_for(sandbox, closing)
    registration = await generate(studio, "Key check: mk_live_ lookalike <b>bold</b>", 4)
    await studio.wait_idle(timeout=30)
    missing = set(registration.record_ids) - {s.id for s in studio.gallery.sceneries}
    assert all(studio.board.statuses[i] == "FAILED" for i in missing), "only failed ones are left out"
    assert len(tree(studio)) <= MAX_MODELS
    bundle = displayed(studio)
    assert "application/vnd.jupyter.widget-view+json" in bundle
    static = bundle["text/html"]
    assert SANDBOX_BADGE_TEXT in static
    assert "&lt;b&gt;bold&lt;/b&gt;" in static and "<b>bold</b>" not in static
    assert_key_absent(studio, sandbox.api_key, static, repr(studio))


async def test_close_stops_the_tasks_and_closes_every_model(slow_sandbox: Any, closing: list[Any]) -> None:
    before = asyncio.all_tasks()
    studio = studio_for(slow_sandbox, closing)
    await generate(studio, "Unfinished when closed", 2)
    tracker = studio.board.tracker
    assert tracker.running
    models = tree(studio)
    live = live_models()
    studio.close()
    assert all(w.comm is None for w in models)
    assert live_models() == live - len(models)
    assert not tracker.running
    await settled(before)  # the account watcher, the loaders and the tracker all end
    studio.close()  # closing twice is harmless


async def test_closing_mid_submission_journals_the_job_before_stopping_its_sandbox(
    monkeypatch: pytest.MonkeyPatch, widgets_home: Any
) -> None:
    for name in ("QAMERA_API_KEY", "QAMERA_BASE_URL", "QAMERA_SANDBOX_ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    before = asyncio.all_tasks()
    studio = Studio.from_env(processing_seconds=(0.05, 0.2), rate_limit=None, api_latency_ms=300)
    assert studio.sandbox is not None and isinstance(studio.client, QameraClient)
    base_url = studio.sandbox.base_url
    journal = Journal(widgets_home / "journal.jsonl")
    journaled_at_client_close: list[int] = []
    aclose = studio.client.async_client.aclose

    async def watched_aclose() -> None:
        journaled_at_client_close.append(len(journal.pending()))
        await aclose()

    monkeypatch.setattr(studio.client.async_client, "aclose", watched_aclose)
    click_generate(studio, "Closed before the server answered", 2)
    await asyncio.sleep(0.05)
    studio.close()
    await settled(before)
    [batch] = journal.pending()
    assert batch.prompt == "Closed before the server answered" and len(batch.record_ids) == 2
    assert journaled_at_client_close == [1], "the client (and its retries) outlive the POST in flight"
    assert not port_is_open(base_url)


async def test_closing_does_not_block_the_loop_while_its_sandbox_stops(
    make_sandbox: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = make_sandbox()
    may_stop = threading.Event()
    stopped_in: list[int] = []

    class SlowToStop:
        api_key = sandbox.api_key

        def account(self) -> dict[str, int]:
            account: dict[str, int] = sandbox.account()
            return account

        def stop(self) -> None:
            may_stop.wait(10)  # on the loop's thread this would hold the loop for the whole wait
            stopped_in.append(threading.get_ident())

    client = QameraClient(sandbox.api_key, sandbox.base_url, rate_limit_per_minute=None)
    monkeypatch.setattr(
        studio_module,
        "connect",
        lambda **_options: Connection(client, cast(SandboxHandle, SlowToStop()), started_sandbox=True),
    )
    before = asyncio.all_tasks()
    studio = Studio.from_env()
    studio.close()
    await asyncio.sleep(0.05)
    assert stopped_in == [], "close() returned without waiting for the sandbox to stop"
    may_stop.set()
    await settled(before)
    assert len(stopped_in) == 1 and stopped_in[0] != threading.get_ident()


async def test_run_again_asks_in_the_run_and_edit_restores_prompt_and_count(
    make_sandbox: Callable[..., Any], closing: list[Any]
) -> None:
    """Issue 21: "Run again" asks beside its button and leaves the form alone; "Edit" restores the
    run's template and count and puts the focus in the prompt box; the last job's line leaves the form
    once the next prompt is written."""
    sandbox = make_sandbox()
    studio = studio_for(sandbox, closing)
    click_generate(studio, "{oak|marble} stool", 2)
    from_browser(studio.form, {"kind": "confirm", "yes": True})
    await studio.form.wait_idle()
    # What the comparison registered is said in its run, never in the form (issue 21).
    assert studio.form.status == "" and studio.form.batch_id == ""
    assert studio.board.runs[0]["meta"].startswith("Comparison registered: 2 jobs, 4 pictures, 40 credits · ")
    studio.form.prompt, studio.form.count = "a half-written idea", 5
    assert studio.form.status == "" and studio.form.batch_id == ""
    key = studio.board.runs[0]["key"]

    from_browser(studio.board, {"kind": "run_again", "key": key})
    asked = studio.board.runs[0]["question"]
    assert asked == "Run this again: 2 prompts × 2 pictures = 4 pictures, 40 credits?"
    assert studio.form.confirm == "" and (studio.form.prompt, studio.form.count) == ("a half-written idea", 5)
    from_browser(studio.board, {"kind": "run_again", "key": key, "yes": False})
    assert studio.board.runs[0]["question"] == "" and sandbox.stats()["registered_batches"] == 2
    from_browser(studio.board, {"kind": "run_again", "key": key, "yes": True})  # never asked again
    assert sandbox.stats()["registered_batches"] == 2
    from_browser(studio.board, {"kind": "run_again", "key": key})
    from_browser(studio.board, {"kind": "run_again", "key": key, "yes": True})
    await studio.form.wait_idle()
    assert sandbox.stats()["registered_batches"] == 4
    assert (studio.form.prompt, studio.form.count) == ("a half-written idea", 5), "the form is left alone"

    focus = studio.form.focus_prompt
    from_browser(studio.board, {"kind": "use_run_prompt", "key": studio.board.runs[-1]["key"]})
    assert (studio.form.prompt, studio.form.count) == ("{oak|marble} stool", 2)
    assert studio.form.focus_prompt == focus + 1


async def test_a_new_studio_rebuilds_recent_prompts_and_the_count_from_the_store(
    make_sandbox: Callable[..., Any], closing: list[Any]
) -> None:
    """Issue 21: after a kernel restart the recent prompts (a template as itself) and the count return."""
    sandbox = make_sandbox()
    first = studio_for(sandbox, closing)
    click_generate(first, "{linen|velvet} backdrop", 3)
    from_browser(first.form, {"kind": "confirm", "yes": True})
    await first.form.wait_idle()
    first.close()
    again = studio_for(sandbox, closing)
    await again.wait_idle(timeout=30)
    assert again.form.history_prompts == [("{linen|velvet} backdrop", 3)]
    assert again.form.count == 3
