"""Studio: the three widgets on one poll, the gallery fed without requests, sandbox mode and from_env."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import ipywidgets
import pytest

from qamera_widgets.client import QameraClient, Registration, Scenery
from qamera_widgets.connect import Connection
from qamera_widgets.journal import Journal
from qamera_widgets.tracking import RecordState, TrackerEvent, tracker_for
from qamera_widgets.widgets import studio as studio_module
from qamera_widgets.widgets.board import StatusBoard
from qamera_widgets.widgets.studio import SANDBOX_BADGE_TEXT, Studio, account_text

from ._widget_support import assert_key_absent, eventually, fast_client, html_text, tree

NOW = datetime(2026, 3, 20, 13, 0, tzinfo=timezone.utc)


pytestmark = pytest.mark.usefixtures("widgets_home")


def studio_for(sandbox: Any, closing: list[Any], **options: Any) -> Studio:
    client = fast_client(sandbox)
    closing.append(client)
    options.setdefault("refresh_debounce", 0.1)
    options.setdefault("account_interval", 0.1)
    studio = Studio(client, sandbox=sandbox, **options)
    closing.append(studio)
    return studio


async def generate(studio: Studio, prompt: str, count: int) -> Registration:
    studio.form.prompt.value = prompt
    studio.form.count.value = count
    studio.form.generate.click()
    registration = await studio.form.submit()
    assert registration is not None, studio.form.status.value
    return registration


async def released(studio: Studio) -> None:
    """Until what a closed Studio hands back (its client, a sandbox it started) is released."""
    pending = list(studio._tasks._tasks)
    if pending:
        await asyncio.wait(pending, timeout=15)


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


def finishing(record_id: str, listed: tuple[Scenery, ...]) -> TrackerEvent:
    scenery = Scenery(record_id, f"Scenery {record_id}", None, "DONE", "PENDING", NOW)
    changes = MappingProxyType({record_id: RecordState(record_id, "DONE", scenery, NOW)})
    return TrackerEvent("update", changes, sceneries=listed)


async def test_a_burst_of_finished_records_updates_the_gallery_once(
    make_sandbox: Callable[..., Any], closing: list[Any]
) -> None:
    studio = studio_for(make_sandbox(), closing, refresh_debounce=0.2)
    await studio.gallery.wait_idle()
    listed: tuple[Scenery, ...] = ()
    for n in range(20):
        listed = (Scenery(f"new-{n}", f"New {n}", None, "DONE", "PENDING", NOW), *listed)
        studio._on_tracker_event(finishing(f"new-{n}", listed))
    assert studio.gallery_updates == 0
    await eventually(lambda: studio.gallery_updates == 1)
    assert {s.id for s in studio.gallery.sceneries} == {s.id for s in listed}
    studio._on_tracker_event(finishing("late", listed))
    await eventually(lambda: studio.gallery_updates == 2)


async def test_sandbox_mode_shows_a_badge_and_the_account_live(
    make_sandbox: Callable[..., Any], closing: list[Any]
) -> None:
    sandbox = make_sandbox()
    studio = studio_for(sandbox, closing)
    assert "qw-studio" in studio._dom_classes
    assert html_text(studio.sandbox_badge) == SANDBOX_BADGE_TEXT
    assert studio.sandbox_badge.layout.display is None and studio.account.layout.display is None
    await eventually(lambda: "available" in studio.account.value)
    assert html_text(studio.account) == f"Sandbox account: {account_text(sandbox.account())}"
    await generate(studio, "Linen backdrop", 3)
    await studio.board.wait(timeout=30)
    live = f"Sandbox account: {account_text(sandbox.account())}"
    await eventually(lambda: html_text(studio.account) == live)
    assert "30 consumed" in html_text(studio.account)

    plain = Studio(studio.client)
    closing.append(plain)
    assert plain.sandbox_badge.layout.display == "none" and plain.account.layout.display == "none"


async def test_from_env_without_a_key_starts_a_sandbox_and_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("QAMERA_API_KEY", "QAMERA_BASE_URL", "QAMERA_SANDBOX_ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    studio = Studio.from_env(processing_seconds=(0.05, 0.2), rate_limit=None)
    try:
        assert studio.sandbox is not None
        assert capsys.readouterr().out == "", "said once, inside the widget, not also printed"
        assert "No QAMERA_API_KEY set" in html_text(studio.notice)
        assert "sandbox" in html_text(studio.notice)
        assert studio.sandbox_badge.layout.display is None
        base_url = studio.sandbox.base_url
        assert port_is_open(base_url)
        assert_key_absent(studio, studio.sandbox.api_key)
    finally:
        studio.close()
    await released(studio)
    assert not port_is_open(base_url)


async def test_from_env_with_a_key_talks_to_that_service_without_a_sandbox_badge(
    make_sandbox: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox = make_sandbox()
    monkeypatch.setenv("QAMERA_API_KEY", sandbox.api_key)
    monkeypatch.setenv("QAMERA_BASE_URL", sandbox.base_url)
    monkeypatch.delenv("QAMERA_SANDBOX_ADMIN_TOKEN", raising=False)
    studio = Studio.from_env()
    try:
        assert studio.sandbox is None
        assert studio.client.base_url == sandbox.base_url
        assert "real credits" in html_text(studio.notice)
        assert studio.sandbox_badge.layout.display == "none"
        await studio.gallery.wait_idle()
        assert_key_absent(studio, sandbox.api_key)
    finally:
        studio.close()
    await released(studio)
    assert port_is_open(sandbox.base_url), "a sandbox the Studio did not start stays up"


async def test_the_api_key_never_appears_in_any_widget_state(
    make_sandbox: Callable[..., Any], closing: list[Any]
) -> None:
    sandbox = make_sandbox(failure_rate=0.3)
    studio = studio_for(sandbox, closing)
    registration = await generate(studio, "Key check: mk_live_ lookalike <b>bold</b>", 4)
    await studio.board.wait(timeout=30)
    await eventually(lambda: set(registration.record_ids) <= {s.id for s in studio.gallery.sceneries})
    await studio.gallery.wait_idle()
    assert len(tree(studio)) > 100
    assert_key_absent(studio, sandbox.api_key)
    bundle = studio._repr_mimebundle_()
    assert bundle is not None and "application/vnd.jupyter.widget-view+json" in bundle
    static = bundle["text/html"]
    assert registration.batch_id in static and SANDBOX_BADGE_TEXT in static
    assert "&lt;b&gt;bold&lt;/b&gt;" in static and "<b>bold</b>" not in static
    assert sandbox.api_key not in static and sandbox.api_key.split(".", 1)[1] not in static


async def test_close_stops_the_tasks_and_closes_every_widget(
    make_sandbox: Callable[..., Any], closing: list[Any]
) -> None:
    sandbox = make_sandbox(processing_seconds=(5.0, 6.0))
    studio = studio_for(sandbox, closing)
    await generate(studio, "Unfinished when closed", 2)
    tracker = studio.board.tracker
    assert tracker.running
    widgets = tree(studio)
    running = [task for part in (studio, studio.board, studio.gallery) for task in part._tasks._tasks]
    assert running, "the account watcher and the board's elapsed-time ticker run"
    studio.close()
    assert all(w.comm is None for w in widgets)
    assert not tracker.running
    await asyncio.wait(running, timeout=2)
    assert all(task.cancelled() for task in running)


async def test_a_submission_builds_its_widgets_in_the_click_and_its_task_only_fills_them(
    make_sandbox: Callable[..., Any], closing: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = make_sandbox(processing_seconds=(0.2, 0.4))
    studio = studio_for(sandbox, closing)
    await studio.gallery.wait_idle()
    built_in: list[asyncio.Task[Any] | None] = []
    monkeypatch.setattr(
        ipywidgets.Widget, "_widget_construction_callback", lambda _w: built_in.append(asyncio.current_task())
    )
    studio.form.prompt.value = "Oak bench in a sunny courtyard"
    studio.form.count.value = 3
    studio.form.generate.click()
    [section] = studio.board.sections.children
    assert section.layout.display == "none", "hidden until the server confirms the job"
    registration = await studio.form.submit()
    assert registration is not None
    assert studio.board.sections.children == (section,) and section.layout.display is None
    assert set(studio.board.record_ids) == set(registration.record_ids)
    await studio.wait_idle(timeout=30)
    assert built_in, "the click built the section"
    assert set(built_in) == {asyncio.current_task()}, "no widget was built in a background task"


async def test_a_refused_submission_hides_its_section_and_the_next_one_reuses_it(
    make_sandbox: Callable[..., Any], closing: list[Any]
) -> None:
    sandbox = make_sandbox()
    client = fast_client(sandbox, sandbox.issue_key(credits=40))
    closing.append(client)
    studio = Studio(client, refresh_debounce=0.1)
    closing.append(studio)
    studio.form.prompt.value = "Too expensive for this account"
    studio.form.count.value = 10
    assert await studio.form.submit() is None
    [section] = studio.board.sections.children
    assert section.layout.display == "none" and studio.board.record_ids == ()
    assert "No batches tracked" in studio.board.static_html()
    registration = await generate(studio, "Affordable", 3)
    assert studio.board.sections.children == (section,) and section.layout.display is None
    assert set(studio.board.record_ids) == set(registration.record_ids)


async def test_closing_mid_submission_journals_the_job_before_stopping_its_sandbox(
    monkeypatch: pytest.MonkeyPatch, widgets_home: Any
) -> None:
    for name in ("QAMERA_API_KEY", "QAMERA_BASE_URL", "QAMERA_SANDBOX_ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    studio = Studio.from_env(processing_seconds=(0.05, 0.2), rate_limit=None, api_latency_ms=300)
    assert studio.sandbox is not None
    base_url = studio.sandbox.base_url
    journal = Journal(widgets_home / "journal.jsonl")
    journaled_at_client_close: list[int] = []
    aclose = studio.client.async_client.aclose

    async def watched_aclose() -> None:
        journaled_at_client_close.append(len(journal.pending()))
        await aclose()

    monkeypatch.setattr(studio.client.async_client, "aclose", watched_aclose)
    studio.form.prompt.value = "Closed before the server answered"
    studio.form.count.value = 2
    studio.form.generate.click()
    await asyncio.sleep(0.05)
    studio.close()
    await released(studio)
    [batch] = journal.pending()
    assert batch.prompt == "Closed before the server answered" and len(batch.record_ids) == 2
    assert journaled_at_client_close == [1], "the client (and its retries) outlive the POST in flight"
    assert not port_is_open(base_url)


async def test_closing_does_not_block_the_loop_while_its_sandbox_stops(
    make_sandbox: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = make_sandbox()
    stopped_in: list[int] = []

    class SlowToStop:
        api_key = sandbox.api_key

        def account(self) -> dict[str, int]:
            return sandbox.account()

        def stop(self) -> None:
            time.sleep(0.5)
            stopped_in.append(threading.get_ident())

    client = QameraClient(sandbox.api_key, sandbox.base_url, rate_limit_per_minute=None)
    monkeypatch.setattr(
        studio_module, "connect", lambda **_options: Connection(client, SlowToStop(), started_sandbox=True)
    )
    studio = Studio.from_env()
    started = time.perf_counter()
    studio.close()
    assert time.perf_counter() - started < 0.3
    await released(studio)
    assert len(stopped_in) == 1 and stopped_in[0] != threading.get_ident()
