"""PromptForm against the sandbox over loopback: what is sent, how often, and what the user reads."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from qamera_widgets.client import AsyncQameraClient, Registration
from qamera_widgets.journal import Journal
from qamera_widgets.widgets._common import TaskSet
from qamera_widgets.widgets.form import UNCONFIRMED_MESSAGE, PromptForm, Submission, cost_text, field_errors

from ._widget_support import assert_key_absent, fast_client, html_text

pytestmark = pytest.mark.usefixtures("widgets_home")


@pytest.fixture
async def made() -> AsyncIterator[Callable[..., Any]]:
    """Factory for forms and clients that are closed at teardown, even when the test fails."""
    forms: list[PromptForm] = []
    clients: list[AsyncQameraClient] = []

    def make(sandbox: Any, api_key: str | None = None, **options: Any) -> PromptForm:
        client = fast_client(sandbox, api_key, **options)
        clients.append(client)
        form = PromptForm(client)
        forms.append(form)
        return form

    yield make
    for form in forms:
        form.close()
    for client in clients:
        await client.aclose()


PROMPT = "Sunlit marble countertop with soft shadows"


def fill(form: PromptForm, prompt: str = PROMPT, count: int = 3) -> None:
    form.prompt.value = prompt
    form.count.value = count


def test_cost_is_said_before_submitting_and_follows_the_count() -> None:
    assert cost_text(10) == "10 sceneries, 100 credits reserved now, refunded for any that fail"
    assert cost_text(1) == "1 scenery, 10 credits reserved now, refunded for any that fail"
    client = AsyncQameraClient("mk_test_k1.secret", "http://127.0.0.1:9")
    form = PromptForm(client)
    try:
        assert "10 sceneries, 100 credits reserved now" in form.cost.value
        form.count.value = 4
        assert "4 sceneries, 40 credits reserved now, refunded for any that fail" in form.cost.value
    finally:
        form.close()


@pytest.mark.parametrize(
    ("prompt", "count", "field"),
    [
        ("", 10, "prompt"),
        ("   \n ", 10, "prompt"),
        ("x" * 2001, 10, "prompt"),
        ("a fine prompt", 0, "count"),
        ("a fine prompt", 21, "count"),
    ],
)
async def test_invalid_input_is_explained_next_to_the_field_and_sends_nothing(
    make_sandbox: Callable[..., Any], made: Callable[..., PromptForm], prompt: str, count: int, field: str
) -> None:
    sandbox = make_sandbox()
    form = made(sandbox)
    fill(form, prompt, count)
    form.generate.click()
    assert await form.submit() is None
    error = form.prompt_error if field == "prompt" else form.count_error
    other = form.count_error if field == "prompt" else form.prompt_error
    assert "qw-form-error" in error._dom_classes
    assert html_text(error) == field_errors(prompt, count)[field]
    assert error.layout.display is None and other.value == ""
    assert sandbox.stats()["api_requests"] == 0
    form.prompt.value = "a fine prompt"
    form.count.value = 5
    assert form.prompt_error.value == "" and form.count_error.value == ""


async def test_five_fast_clicks_send_exactly_one_post(
    make_sandbox: Callable[..., Any], made: Callable[..., PromptForm]
) -> None:
    sandbox = make_sandbox()
    form = made(sandbox)
    seen: list[Registration] = []
    form.on_submit(seen.append)
    fill(form)
    form.generate.click()
    assert form.generate.disabled and form.submitting
    for _ in range(4):
        form.generate.click()
    registration = await form.submit()
    assert registration is not None and seen == [registration]
    stats = sandbox.stats()
    assert stats["register_requests"] == 1 and stats["registered_batches"] == 1
    assert not form.generate.disabled and not form.submitting


async def test_success_is_journaled_before_it_is_shown_then_summarised(
    make_sandbox: Callable[..., Any], widgets_home: Path
) -> None:
    sandbox = make_sandbox()
    client = fast_client(sandbox)
    shown_when_journaled: list[str] = []
    journal_threads: list[int] = []
    journaled_when_called_back: list[int] = []

    class WatchedJournal(Journal):
        def record_registration(self, registration: Registration, **kwargs: Any) -> None:
            shown_when_journaled.append(form.status.value)
            journal_threads.append(threading.get_ident())
            super().record_registration(registration, **kwargs)

    form = PromptForm(client, journal=WatchedJournal())
    form.on_submit(lambda _reg: journaled_when_called_back.append(len(Journal().batches())))
    try:
        fill(form, count=2)
        registration = await form.submit()
        assert registration is not None
        assert "Job registered" not in shown_when_journaled[0]
        assert journaled_when_called_back == [1]
        # fsync can take a while on a busy disk: it must not freeze the kernel's loop meanwhile.
        assert journal_threads and journal_threads[0] != threading.get_ident()
        pending = Journal(widgets_home / "journal.jsonl").pending()
        assert [b.batch_id for b in pending] == [registration.batch_id]
        assert pending[0].key_id == client.key_id
        summary = html_text(form.status)
        for value in (registration.batch_id, registration.order_id, registration.reservation_id):
            assert value in summary
        assert "Credits reserved 20" in summary
        assert_key_absent(form, sandbox.api_key)
    finally:
        form.close()
        await client.aclose()


async def test_history_keeps_submitted_prompts_to_pick_again(
    make_sandbox: Callable[..., Any], made: Callable[..., PromptForm]
) -> None:
    form = made(make_sandbox())
    fill(form, "first idea", 1)
    await form.submit()
    fill(form, "second idea", 2)
    await form.submit()
    assert form.history_prompts == [("second idea", 2), ("first idea", 1)]
    assert form.history.layout.display is None and len(form.history.options) == 2
    form.history.value = 1
    assert (form.prompt.value, form.count.value) == ("first idea", 1)


async def test_402_says_what_is_needed_and_what_the_account_has(
    make_sandbox: Callable[..., Any], made: Callable[..., PromptForm]
) -> None:
    sandbox = make_sandbox()
    form = made(sandbox, sandbox.issue_key(credits=40))
    fill(form, count=10)
    assert await form.submit() is None
    assert html_text(form.status) == "Not enough credits: this needs 100, the account has 40."
    assert form.retry.layout.display == "none"
    assert sandbox.stats()["registered_batches"] == 0


async def test_401_says_the_key_was_rejected(
    make_sandbox: Callable[..., Any], made: Callable[..., PromptForm]
) -> None:
    sandbox = make_sandbox()
    key = sandbox.issue_key()
    sandbox.revoke_key(key)
    form = made(sandbox, key)
    fill(form)
    assert await form.submit() is None
    assert "The API key was rejected (401)" in html_text(form.status)
    assert_key_absent(form, key)


async def test_429_after_retries_says_nothing_was_charged(
    make_sandbox: Callable[..., Any], made: Callable[..., PromptForm]
) -> None:
    sandbox = make_sandbox(rate_limit=1)
    form = made(sandbox, max_retries=1)
    await form._client.list_sceneries()
    fill(form)
    assert await form.submit() is None
    assert "rate limiting this key (429)" in html_text(form.status)
    assert sandbox.stats()["registered_batches"] == 0


async def test_500_on_submit_is_unconfirmed_and_the_retry_reuses_the_key(
    make_sandbox: Callable[..., Any], made: Callable[..., PromptForm]
) -> None:
    sandbox = make_sandbox(api_error_rate=1.0)
    form = made(sandbox)
    fill(form)
    assert await form.submit() is None
    assert html_text(form.status) == UNCONFIRMED_MESSAGE
    assert form.retry.layout.display is None
    key = form.pending_retry_key
    assert key
    sandbox.set_faults(api_error_rate=0.0)
    form.prompt.value = "an edit after the failure must not change what the retry sends"
    form.retry.click()
    registration = await form.retry_unconfirmed()
    assert registration is not None
    assert registration.idempotency_key == key
    assert registration.preferences == PROMPT
    assert form.retry.layout.display == "none" and form.pending_retry_key is None
    assert sandbox.stats()["registered_batches"] == 1


async def test_dropped_answer_after_registration_retries_without_a_second_batch(
    make_sandbox: Callable[..., Any], made: Callable[..., PromptForm], widgets_home: Path
) -> None:
    sandbox = make_sandbox()
    sandbox.set_faults(drop_after_register=1)
    form = made(sandbox)
    fill(form, count=4)
    form.generate.click()
    assert await form.submit() is None
    assert html_text(form.status) == UNCONFIRMED_MESSAGE
    assert sandbox.stats()["registered_batches"] == 1
    assert Journal(widgets_home / "journal.jsonl").batches() == []
    key = form.pending_retry_key
    form.retry.click()
    form.retry.click()
    registration = await form.retry_unconfirmed()
    assert registration is not None and registration.idempotency_key == key
    stats = sandbox.stats()
    assert stats["registered_batches"] == 1 and stats["idempotent_replays"] == 1
    assert stats["register_requests"] == 2
    ledger = sandbox.account()
    assert ledger["reserved"] + ledger["consumed"] + ledger["refunded"] == 40
    assert ledger["available"] + ledger["reserved"] + ledger["consumed"] == 1000
    assert [b.batch_id for b in Journal(widgets_home / "journal.jsonl").batches()] == [registration.batch_id]
    assert sandbox.audit() == []


async def test_closing_the_form_mid_submission_still_journals_the_charged_job(
    make_sandbox: Callable[..., Any], widgets_home: Path
) -> None:
    sandbox = make_sandbox(api_latency_ms=300)
    client = fast_client(sandbox)
    form = PromptForm(client)
    called_back: list[Registration] = []
    form.on_submit(called_back.append)
    try:
        fill(form, count=2)
        form.generate.click()
        task = form._inflight
        assert task is not None
        await asyncio.sleep(0.05)
        shown = form.status.value
        form.close()
        registration = await asyncio.wait_for(task, 10)
        assert registration is not None
        assert sandbox.stats()["registered_batches"] == 1
        assert [b.batch_id for b in Journal(widgets_home / "journal.jsonl").pending()] == [
            registration.batch_id
        ]
        assert form.status.value == shown and "Job registered" not in shown
        assert called_back == [] and not form.submitting
    finally:
        await client.aclose()


async def test_an_unconfirmed_submission_is_journaled_until_its_retry_is_confirmed(
    make_sandbox: Callable[..., Any], made: Callable[..., PromptForm], widgets_home: Path
) -> None:
    sandbox = make_sandbox(api_error_rate=1.0)
    form = made(sandbox)
    fill(form, count=2)
    assert await form.submit() is None
    journal = Journal(widgets_home / "journal.jsonl")
    [attempt] = journal.unconfirmed()
    assert (attempt.prompt, attempt.count, attempt.idempotency_key) == (PROMPT, 2, form.pending_retry_key)
    assert (attempt.base_url, attempt.key_id) == (form._client.base_url, form._client.key_id)
    sandbox.set_faults(api_error_rate=0.0)
    registration = await form.retry_unconfirmed()
    assert registration is not None
    assert journal.unconfirmed() == []
    assert [b.batch_id for b in journal.pending()] == [registration.batch_id]


async def test_generate_again_after_a_lost_answer_resends_the_same_job_under_its_key(
    make_sandbox: Callable[..., Any], made: Callable[..., PromptForm]
) -> None:
    sandbox = make_sandbox()
    sandbox.set_faults(drop_after_register=1)
    form = made(sandbox)
    started: list[Submission] = []
    form.on_start(started.append)
    fill(form, count=3)
    form.generate.click()
    assert await form.submit() is None
    key = form.pending_retry_key
    form.generate.click()
    registration = await form.submit()
    assert registration is not None and registration.idempotency_key == key
    stats = sandbox.stats()
    assert stats["registered_batches"] == 1 and stats["idempotent_replays"] == 1
    assert [s.idempotency_key for s in started] == [key, key]
    fill(form, count=3)
    again = await form.submit()
    assert again is not None and again.idempotency_key != key, "a confirmed job is not resent"
    assert sandbox.stats()["registered_batches"] == 2


async def test_a_different_prompt_after_a_lost_answer_is_a_new_job_and_keeps_the_retry(
    make_sandbox: Callable[..., Any], made: Callable[..., PromptForm]
) -> None:
    sandbox = make_sandbox()
    sandbox.set_faults(drop_after_register=1)
    form = made(sandbox)
    fill(form, count=3)
    assert await form.submit() is None
    key = form.pending_retry_key
    fill(form, "a different idea", 3)
    other = await form.submit()
    assert other is not None and other.idempotency_key != key
    assert form.pending_retry_key == key and form.retry.layout.display is None
    retried = await form.retry_unconfirmed()
    assert retried is not None and retried.idempotency_key == key
    assert sandbox.stats()["registered_batches"] == 2


def test_a_click_without_a_running_loop_leaves_the_form_usable() -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)  # set but not running, as in a plain script
    form = PromptForm(AsyncQameraClient("mk_test_k1.secret", "http://127.0.0.1:9"))
    try:
        fill(form)
        form.generate.click()
        assert not form.submitting and not form.generate.disabled
        assert "No running event loop" in html_text(form.status)
        assert TaskSet().spawn(asyncio.sleep(0)) is None
        assert asyncio.all_tasks(loop) == set()
    finally:
        form.close()
        asyncio.set_event_loop(None)
        loop.close()
