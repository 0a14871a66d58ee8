"""PromptForm against the sandbox over loopback: what is sent, how often, and what the user reads."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import traitlets

from qamera_widgets.client import AsyncQameraClient, Registration
from qamera_widgets.contract import DEFAULT_COUNT, START_COUNT, key_id_of
from qamera_widgets.engine.jobs.budgets import Budget
from qamera_widgets.engine.jobs.journal import Journal
from qamera_widgets.engine.jobs.plans import UNCONFIRMED_MESSAGE, Submission, cost_text, field_errors
from qamera_widgets.sandbox import Sandbox
from qamera_widgets.widgets.form import PromptForm
from tests._widget_support import assert_key_absent, fast_client, from_browser, live_models, tree

pytestmark = pytest.mark.usefixtures("widgets_home")


@pytest.fixture
async def made() -> AsyncIterator[Callable[..., PromptForm]]:
    """`made(sandbox, api_key=None, *, journal=None, budget=None, **client_options)`: a form on its own
    `fast_client`; both are closed at teardown, even when the test fails."""
    forms: list[PromptForm] = []
    clients: list[AsyncQameraClient] = []

    def make(
        sandbox: Any,
        api_key: str | None = None,
        *,
        journal: Journal | None = None,
        budget: Budget | None = None,
        **client_options: Any,
    ) -> PromptForm:
        client = fast_client(sandbox, api_key, **client_options)
        clients.append(client)
        form = PromptForm(client, journal=journal, budget=budget)
        forms.append(form)
        return form

    yield make
    for form in forms:
        form.close()
    for client in clients:
        await client.aclose()


@pytest.fixture
def dropping_sandbox(sandbox: Sandbox) -> Sandbox:
    """The test's sandbox, set to register the first job but drop its answer, as a cut connection would."""
    sandbox.set_faults(drop_after_register=1)
    return sandbox


@pytest.fixture
def form(sandbox: Sandbox, made: Callable[..., PromptForm]) -> PromptForm:
    """A form on the test's sandbox (the `sandbox` fixture), closed at teardown."""
    return made(sandbox)


PROMPT = "Sunlit marble countertop with soft shadows"


def fill(form: PromptForm, prompt: str = PROMPT, count: int = 3) -> None:
    """What typing does: the view syncs the prompt and the count traits."""
    form.prompt = prompt
    form.count = count


def click_generate(form: PromptForm) -> None:
    """Generate (or Ctrl+Enter) in the view: the intent carries the fields as shown."""
    from_browser(form, {"kind": "generate", "prompt": form.prompt, "count": form.count})


def test_cost_is_said_before_submitting_and_follows_the_count() -> None:
    assert cost_text(10) == "10 pictures · 100 credits reserved now, refunded for any that fail"
    assert cost_text(1) == "1 picture · 10 credits reserved now, refunded for any that fail"
    assert cost_text(0) == "Choose how many pictures to generate (1 to 20)."
    client = AsyncQameraClient("mk_test_k1.secret", "http://127.0.0.1:9")
    form = PromptForm(client)
    try:
        assert form.cost == cost_text(START_COUNT)
        form.count = 10
        assert form.cost == "10 pictures · 100 credits reserved now, refunded for any that fail"
    finally:
        form.close()


@pytest.mark.parametrize("prompt", ["", "   \n ", "x" * 2001])
async def test_an_invalid_prompt_is_explained_next_to_the_field_and_sends_nothing(
    sandbox: Sandbox, form: PromptForm, prompt: str
) -> None:
    fill(form, prompt, 10)
    click_generate(form)
    assert await form.submit() is None
    assert form.prompt_error == field_errors(prompt, 10)["prompt"]
    assert form.count_error == "" and not form.submitting
    assert sandbox.stats()["api_requests"] == 0
    form.prompt = "a fine prompt"
    assert form.prompt_error == "", "the sentence goes as soon as the prompt is fixed"


@pytest.mark.shared_sandbox
@pytest.mark.parametrize("count", [0, 21, 2.5, True, "3"])
async def test_the_count_never_holds_a_value_the_api_would_refuse(form: PromptForm, count: Any) -> None:
    assert "count" in field_errors(PROMPT, count)
    with pytest.raises(traitlets.TraitError):
        form.count = count
    from_browser(form, {"kind": "history", "index": 5})  # malformed intents are ignored too
    assert form.count == START_COUNT and form.count_error == ""


async def test_a_new_form_starts_at_four_pictures_while_the_api_default_stays_ten(
    sandbox: Sandbox, form: PromptForm
) -> None:
    assert (START_COUNT, DEFAULT_COUNT) == (4, 10)
    assert form.count == 4
    assert form.cost == "4 pictures · 40 credits reserved now, refunded for any that fail"
    form.prompt = PROMPT
    click_generate(form)
    registration = await form.submit()
    assert registration is not None and registration.count == 4 and registration.credits_reserved == 40
    async with AsyncQameraClient(sandbox.issue_key(), base_url=sandbox.base_url) as client:
        assert (await client.register_ideas(PROMPT)).count == DEFAULT_COUNT, "the client keeps the API's"


async def test_generate_sends_the_fields_the_view_showed(form: PromptForm) -> None:
    fill(form, "an older prompt the kernel still holds", 2)
    from_browser(form, {"kind": "generate", "prompt": PROMPT, "count": 4})
    registration = await form.submit()
    assert registration is not None
    assert (registration.preferences, registration.count) == (PROMPT, 4)
    assert (form.prompt, form.count) == (PROMPT, 4)


async def test_five_fast_clicks_send_exactly_one_post(sandbox: Sandbox, form: PromptForm) -> None:
    seen: list[Registration] = []
    form.on_submit(seen.append)
    fill(form)
    click_generate(form)
    assert form.submitting, "Generate is disabled from the click on"
    for _ in range(4):
        click_generate(form)
    registration = await form.submit()
    assert registration is not None and seen == [registration]
    stats = sandbox.stats()
    assert stats["register_requests"] == 1 and stats["registered_batches"] == 1
    assert not form.submitting


async def test_success_is_journaled_before_it_is_shown_then_summarised(
    sandbox: Sandbox, made: Callable[..., PromptForm], widgets_home: Path
) -> None:
    shown_when_journaled: list[str] = []
    journal_threads: list[int] = []
    journaled_when_called_back: list[int] = []
    form: PromptForm  # made below; the journal reads its status when the form writes to it

    class WatchedJournal(Journal):
        def record_registration(self, registration: Registration, **kwargs: Any) -> None:
            shown_when_journaled.append(form.status)
            journal_threads.append(threading.get_ident())
            super().record_registration(registration, **kwargs)

    form = made(sandbox, journal=WatchedJournal())
    form.on_submit(lambda _reg: journaled_when_called_back.append(len(Journal().batches())))
    fill(form, count=2)
    registration = await form.submit()
    assert registration is not None
    assert "Job registered" not in shown_when_journaled[0]
    assert journaled_when_called_back == [1]
    # fsync can take a while on a busy disk: it must not freeze the kernel's loop meanwhile.
    assert journal_threads and journal_threads[0] != threading.get_ident()
    pending = Journal(widgets_home / "journal.jsonl").pending()
    assert [b.batch_id for b in pending] == [registration.batch_id]
    assert pending[0].key_id == key_id_of(sandbox.api_key)
    assert form.status == "Job registered: 2 pictures, 20 credits reserved (refunded for any that fail)."
    assert (form.status_kind, form.batch_id) == ("ok", registration.batch_id)
    assert form.last_registration == registration and not form.can_retry
    assert_key_absent(form, sandbox.api_key)


async def test_a_journal_that_cannot_be_written_is_said_with_the_batch_id(
    make_sandbox: Callable[..., Any], made: Callable[..., PromptForm], widgets_home: Path
) -> None:
    blocker = widgets_home / "not-a-directory"
    blocker.write_text("")
    form = made(make_sandbox(), journal=Journal(blocker / "journal.jsonl"))
    fill(form, count=1)
    registration = await form.submit()
    assert registration is not None
    assert "Could not write the job journal" in form.status and "keep this batch id" in form.status
    assert form.status_kind == "error"


async def test_history_keeps_submitted_prompts_to_pick_again(form: PromptForm) -> None:
    fill(form, "first idea", 1)
    await form.submit()
    fill(form, "second idea", 2)
    await form.submit()
    assert form.history_prompts == [("second idea", 2), ("first idea", 1)]
    assert [(h["prompt"], h["count"], h["label"]) for h in form.history] == [
        ("second idea", 2, "second idea (2)"),
        ("first idea", 1, "first idea (1)"),
    ]
    from_browser(form, {"kind": "history", "index": 1})
    assert (form.prompt, form.count) == ("first idea", 1)


async def test_402_says_what_is_needed_and_what_the_account_has(
    sandbox: Sandbox, made: Callable[..., PromptForm]
) -> None:
    form = made(sandbox, sandbox.issue_key(credits=40))
    fill(form, count=10)
    assert await form.submit() is None
    assert form.status.startswith("Not enough credits: this needs 100, the account has 40. Nothing was")
    assert form.status_kind == "error" and not form.can_retry and form.batch_id == ""
    assert sandbox.stats()["registered_batches"] == 0


async def test_401_says_the_key_was_rejected(sandbox: Sandbox, made: Callable[..., PromptForm]) -> None:
    key = sandbox.issue_key()
    sandbox.revoke_key(key)
    form = made(sandbox, key)
    fill(form)
    assert await form.submit() is None
    assert "The API key was rejected (401)" in form.status
    assert_key_absent(form, key)


async def test_429_after_retries_says_nothing_was_charged(
    make_sandbox: Callable[..., Any], made: Callable[..., PromptForm]
) -> None:
    sandbox = make_sandbox(rate_limit=1)
    form = made(sandbox, max_retries=1)
    client = fast_client(sandbox)
    await client.list_sceneries()  # the key's one request this minute
    await client.aclose()
    fill(form)
    assert await form.submit() is None
    assert "rate limiting this key (429)" in form.status
    assert sandbox.stats()["registered_batches"] == 0


async def test_500_on_submit_is_unconfirmed_and_the_retry_reuses_the_key(
    make_sandbox: Callable[..., Any], made: Callable[..., PromptForm]
) -> None:
    sandbox = make_sandbox(api_error_rate=1.0)
    form = made(sandbox)
    fill(form)
    assert await form.submit() is None
    assert (form.status, form.status_kind) == (UNCONFIRMED_MESSAGE, "error")
    assert form.can_retry
    key = form.pending_retry_key
    assert key
    assert key not in str(form.get_state()), "the retry key is kept in Python, not synced"
    sandbox.set_faults(api_error_rate=0.0)
    form.prompt = "an edit after the failure must not change what the retry sends"
    from_browser(form, {"kind": "retry"})
    registration = await form.retry_unconfirmed()
    assert registration is not None
    assert registration.idempotency_key == key
    assert registration.preferences == PROMPT
    assert not form.can_retry and form.pending_retry_key is None
    assert sandbox.stats()["registered_batches"] == 1


async def test_dropped_answer_after_registration_retries_without_a_second_batch(
    dropping_sandbox: Sandbox, made: Callable[..., PromptForm], widgets_home: Path
) -> None:
    form = made(dropping_sandbox)
    fill(form, count=4)
    click_generate(form)
    assert await form.submit() is None
    assert form.status == UNCONFIRMED_MESSAGE
    assert dropping_sandbox.stats()["registered_batches"] == 1
    assert Journal(widgets_home / "journal.jsonl").batches() == []
    key = form.pending_retry_key
    from_browser(form, {"kind": "retry"})
    from_browser(form, {"kind": "retry"})
    registration = await form.retry_unconfirmed()
    assert registration is not None and registration.idempotency_key == key
    stats = dropping_sandbox.stats()
    assert stats["registered_batches"] == 1 and stats["idempotent_replays"] == 1
    assert stats["register_requests"] == 2
    ledger = dropping_sandbox.account()
    assert ledger["reserved"] + ledger["consumed"] + ledger["refunded"] == 40
    assert ledger["available"] + ledger["reserved"] + ledger["consumed"] == 1000
    assert [b.batch_id for b in Journal(widgets_home / "journal.jsonl").batches()] == [registration.batch_id]
    assert dropping_sandbox.audit() == []


async def test_closing_the_form_mid_submission_still_journals_the_charged_job(
    make_sandbox: Callable[..., Any], made: Callable[..., PromptForm], widgets_home: Path
) -> None:
    sandbox = make_sandbox(api_latency_ms=300)
    form = made(sandbox)
    models = tree(form)
    live_before = live_models()
    called_back: list[Registration] = []
    form.on_submit(called_back.append)
    fill(form, count=2)
    click_generate(form)
    assert form.submitting
    await asyncio.sleep(0.05)
    shown = form.status
    form.close()
    assert all(w.comm is None for w in models) and live_models() == live_before - len(models)
    await asyncio.wait_for(form.wait_idle(), 10)
    registration = form.last_registration
    assert registration is not None
    assert sandbox.stats()["registered_batches"] == 1
    assert [b.batch_id for b in Journal(widgets_home / "journal.jsonl").pending()] == [registration.batch_id]
    assert form.status == shown and "Job registered" not in shown
    assert called_back == [] and not form.submitting
    assert await form.submit() is None, "a closed form sends nothing more"
    assert sandbox.stats()["register_requests"] == 1


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
    assert (attempt.base_url, attempt.key_id) == (sandbox.base_url, key_id_of(sandbox.api_key))
    sandbox.set_faults(api_error_rate=0.0)
    registration = await form.retry_unconfirmed()
    assert registration is not None
    assert journal.unconfirmed() == []
    assert [b.batch_id for b in journal.pending()] == [registration.batch_id]


async def test_generate_again_after_a_lost_answer_resends_the_same_job_under_its_key(
    dropping_sandbox: Sandbox, made: Callable[..., PromptForm]
) -> None:
    form = made(dropping_sandbox)
    started: list[Submission] = []
    form.on_start(started.append)
    fill(form, count=3)
    click_generate(form)
    assert await form.submit() is None
    key = form.pending_retry_key
    click_generate(form)
    registration = await form.submit()
    assert registration is not None and registration.idempotency_key == key
    stats = dropping_sandbox.stats()
    assert stats["registered_batches"] == 1 and stats["idempotent_replays"] == 1
    assert [s.idempotency_key for s in started] == [key, key]
    fill(form, count=3)
    assert await form.submit() is None and "another batch" in form.confirm  # asks within a second
    again = await form.submit(confirmed=True)
    assert again is not None and again.idempotency_key != key, "a confirmed job is not resent"
    assert dropping_sandbox.stats()["registered_batches"] == 2


async def test_a_different_prompt_after_a_lost_answer_is_a_new_job_and_keeps_the_retry(
    dropping_sandbox: Sandbox, made: Callable[..., PromptForm]
) -> None:
    form = made(dropping_sandbox)
    fill(form, count=3)
    assert await form.submit() is None
    key = form.pending_retry_key
    fill(form, "a different idea", 3)
    other = await form.submit()
    assert other is not None and other.idempotency_key != key
    assert form.pending_retry_key == key and form.can_retry
    retried = await form.retry_unconfirmed()
    assert retried is not None and retried.idempotency_key == key
    assert dropping_sandbox.stats()["registered_batches"] == 2


def test_a_click_without_a_running_loop_leaves_the_form_usable() -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)  # set but not running, as in a plain script
    form = PromptForm(AsyncQameraClient("mk_test_k1.secret", "http://127.0.0.1:9"))
    try:
        fill(form)
        click_generate(form)
        assert not form.submitting
        assert "No running event loop" in form.status
        assert asyncio.all_tasks(loop) == set()
    finally:
        form.close()
        asyncio.set_event_loop(None)
        loop.close()


async def test_five_clicks_50_ms_apart_make_one_job_on_a_fast_sandbox(
    sandbox: Sandbox, form: PromptForm
) -> None:
    fill(form, count=2)
    for _ in range(5):
        click_generate(form)
        await asyncio.sleep(0.05)  # the sandbox answers well within this: each click finds no POST in flight
    await form.wait_idle()
    assert sandbox.stats()["registered_batches"] == 1
    assert "another batch" in form.confirm, "the later clicks ask instead of paying again"
    from_browser(form, {"kind": "confirm", "yes": False})
    assert form.confirm == "" and sandbox.stats()["registered_batches"] == 1


async def test_a_repeat_after_the_window_is_a_new_job_without_a_question(
    sandbox: Sandbox, form: PromptForm
) -> None:
    fill(form, count=1)
    assert await form.submit() is not None
    await asyncio.sleep(1.05)
    assert await form.submit() is not None and form.confirm == ""
    assert sandbox.stats()["registered_batches"] == 2


async def test_a_template_shows_its_expansions_and_asks_before_sending_one_job_each(
    sandbox: Sandbox, form: PromptForm
) -> None:
    fill(form, prompt="{oak|marble|concrete} countertop, soft light", count=2)
    assert [v["text"] for v in form.variants] == [
        "oak countertop, soft light",
        "marble countertop, soft light",
        "concrete countertop, soft light",
    ]
    assert form.variants[1]["parts"][0] == ["marble", True]
    assert form.plan == "3 prompts × 2 pictures = 6 pictures, 60 credits"
    click_generate(form)
    assert form.confirm.startswith("Generate 3 prompts × 2 pictures") and not form.submitting
    assert sandbox.stats()["registered_batches"] == 0, "nothing is sent before the yes"
    from_browser(form, {"kind": "confirm", "yes": True})
    await form.wait_idle()
    keys = {r.idempotency_key for r in form.last_registrations}
    assert [r.preferences for r in form.last_registrations] == [v["text"] for v in form.variants]
    assert len(keys) == 3 and sandbox.stats()["registered_batches"] == 3
    assert len(Journal().batches()) == 3, "each variant is journaled as its own job"


@pytest.mark.parametrize(
    ("template", "says"),
    [
        ("{oak|marble countertop", "never closed"),
        ("{oak||marble} countertop", "empty alternative"),
        ("{a|b|c|d|e} {f|g|h|i|j} chair", "the limit is 20"),
    ],
)
async def test_a_bad_template_is_a_sentence_and_nothing_is_sent(
    sandbox: Sandbox, form: PromptForm, template: str, says: str
) -> None:
    fill(form, prompt=template, count=1)
    click_generate(form)
    assert says in form.prompt_error and form.confirm == ""
    assert await form.submit(confirmed=True) is None
    assert sandbox.stats()["api_requests"] == 0


async def test_the_budget_refuses_a_job_beyond_it_before_anything_is_sent(
    sandbox: Sandbox, made: Callable[..., PromptForm]
) -> None:
    form = made(sandbox, budget=Budget(50))
    assert form.budget_text == "Budget: 50 of 50 credits left"
    fill(form, count=3)
    assert await form.submit() is not None
    assert form.budget_text == "Budget: 20 of 50 credits left"
    fill(form, prompt="A different prompt entirely", count=3)
    assert await form.submit(confirmed=True) is None
    assert "only 20 of this notebook's 50-credit budget" in form.status and form.status_kind == "error"
    fill(form, prompt="{a|b|c} chair", count=1)
    click_generate(form)
    assert form.confirm == "" and "budget" in form.status, "refused before any question"
    assert sandbox.stats()["registered_batches"] == 1


async def test_a_templates_numbers_agree_before_and_after_sending(sandbox: Sandbox, form: PromptForm) -> None:
    """Issue 21: the line beside Generate says the plan's figure; the status says what the comparison
    registered; the recent prompts list the template itself, not its expansions."""
    fill(form, prompt="{oak|marble|concrete} {warm|cold} countertop", count=2)
    assert form.plan == "6 prompts × 2 pictures = 12 pictures, 120 credits"
    assert form.cost == "12 pictures in 6 jobs · 120 credits reserved now, refunded for any that fail"
    form.count = 1
    assert form.cost.startswith("6 pictures in 6 jobs · 60 credits")
    form.count = 2
    click_generate(form)
    from_browser(form, {"kind": "confirm", "yes": True})
    await form.wait_idle()
    assert sandbox.stats()["registered_batches"] == 6
    assert form.status == (
        "Comparison registered: 6 jobs, 12 pictures, 120 credits reserved (refunded for any that fail)."
    )
    assert form.batch_id == "", "no single batch stands for six jobs"
    assert form.history_prompts == [("{oak|marble|concrete} {warm|cold} countertop", 2)]
    fill(form, prompt="plain prompt", count=3)
    assert form.cost == cost_text(3)


async def test_recent_prompts_and_the_count_come_back_from_the_store(
    sandbox: Sandbox, made: Callable[..., PromptForm]
) -> None:
    first = made(sandbox)
    fill(first, "a lone prompt", 1)
    await first.submit()
    fill(first, "{linen|velvet} backdrop", 3)
    click_generate(first)
    from_browser(first, {"kind": "confirm", "yes": True})
    await first.wait_idle()
    after_restart = made(sandbox)
    assert after_restart.history == [] and after_restart.count == START_COUNT
    after_restart.restore_history(Journal().batches())
    assert after_restart.history_prompts == [("{linen|velvet} backdrop", 3), ("a lone prompt", 1)]
    assert after_restart.count == 3
    assert after_restart.history[0]["label"] == "{linen|velvet} backdrop (3)"
