"""Issue 21, "Failed pictures": each run with failures offers "Retry N failed", asked beside its button with
the cost; one new job for Python's own count of the failures, through the form's submit machine, journaled
with a link to its run, drawn inside that run (also after a restart) and counted with it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from qamera_widgets.engine.jobs.budgets import Budget
from qamera_widgets.engine.jobs.journal import Journal
from qamera_widgets.engine.review import MarkError
from qamera_widgets.engine.store import forget_stores
from qamera_widgets.widgets.board import VISIBLE_RUNS
from qamera_widgets.widgets.studio import Studio
from tests._widget_support import eventually, fast_client, from_browser, settled

pytestmark = pytest.mark.usefixtures("widgets_home")

FLAKY = {"seed": 2, "failure_rate": 0.3}
"""With this seed the sandbox's first four new pictures (after its 12 library ones) go FAILED, DONE,
FAILED, DONE and the next two DONE: a run of 4 with 2 failures, then a job of 2 that succeeds."""
PROMPT = "Brushed steel kettle on a slate counter"


def studio_for(sandbox: Any, closing: list[Any], api_key: str | None = None, **options: Any) -> Studio:
    client = fast_client(sandbox, api_key)
    closing.append(client)
    studio = Studio(client, sandbox=sandbox, refresh_debounce=0.05, account_interval=0.1, **options)
    closing.append(studio)
    return studio


async def run_with_failures(studio: Studio) -> str:
    """Generate 4 pictures (2 fail with FLAKY) and wait until they settled; the run's key."""
    from_browser(studio.form, {"kind": "generate", "prompt": PROMPT, "count": 4})
    await studio.wait_idle(timeout=30)
    await eventually(lambda: studio.board.runs[0].get("retry", {}).get("count") == 2)
    return str(studio.board.runs[0]["key"])


async def studio_with_failures(
    make_sandbox: Callable[..., Any], closing: list[Any]
) -> tuple[Any, Studio, str]:
    """A sandbox that fails pictures, a Studio on it, and the key of its first run with failures."""
    sandbox = make_sandbox(**FLAKY)
    studio = studio_for(sandbox, closing)
    return sandbox, studio, await run_with_failures(studio)


async def restart(studio: Studio, sandbox: Any, closing: list[Any]) -> Studio:
    """A later session on the same store (a kernel restart): a new Studio once it has drawn its runs."""
    studio.close()
    forget_stores()
    again = studio_for(sandbox, closing)
    await again.wait_idle(timeout=30)
    await eventually(lambda: bool(again.board.runs))
    return again


async def retried(studio: Studio, key: str) -> dict[str, Any]:
    """Press "Retry N failed" on the run `key`, then Yes; the run as drawn once the answer is in."""
    from_browser(studio.board, {"kind": "retry_failed", "key": key})
    from_browser(studio.board, {"kind": "retry_failed", "key": key, "yes": True})
    await studio.wait_idle(timeout=30)
    return next(r for r in studio.board.runs if r["key"] == key)


async def spend_twenty(studio: Studio) -> None:
    """Another job of 2 pictures (both DONE with FLAKY): 20 credits gone for good."""
    from_browser(studio.form, {"kind": "generate", "prompt": "Something else entirely", "count": 2})
    await studio.wait_idle(timeout=30)


async def test_retry_asks_with_the_cost_then_sends_one_job_drawn_inside_the_run(
    make_sandbox: Callable[..., Any], closing: list[Any]
) -> None:
    sandbox, studio, key = await studio_with_failures(make_sandbox, closing)
    run = studio.board.runs[0]
    assert (run["total"], run["done"], run["failed"]) == (4, 2, 2)
    assert run["retries"] == [] and run["retry"]["question"] == ""

    from_browser(studio.board, {"kind": "retry_failed", "key": key})
    asked = studio.board.runs[0]["retry"]["question"]
    assert asked == (
        "Retry 2 failed pictures of \u201cBrushed steel kettle on a slate counter\u201d? "
        "20 credits will be reserved."
    )
    assert sandbox.stats()["registered_batches"] == 1, "asking sends nothing"

    # Yes, clicked twice before the answer: one job, and the button is gone at once.
    from_browser(studio.board, {"kind": "retry_failed", "key": key, "yes": True})
    from_browser(studio.board, {"kind": "retry_failed", "key": key, "yes": True})
    drawn = studio.board.runs[0]
    assert drawn["retry"]["count"] == 0, "a retry on its way is not offered again"
    assert [line["text"] for line in drawn["retries"]] == ["Retry · 2 pictures · sending…"]
    await studio.wait_idle(timeout=30)
    await eventually(lambda: studio.board.runs[0]["done"] == 4)

    assert sandbox.stats()["registered_batches"] == 2, "exactly one new job"
    assert len(studio.board.runs) == 1, "the retry is part of the same run"
    drawn = studio.board.runs[0]
    assert drawn["key"] == key
    assert (drawn["total"], drawn["done"], drawn["failed"]) == (6, 4, 2)
    (line,) = drawn["retries"]
    assert line["text"].startswith("Retry · 2 pictures · ") and len(line["ids"]) == 2
    cards = {c["id"]: c for c in studio.board.cards}
    assert all(cards[i]["state"] == "done" for i in line["ids"]), "the retry's cards are drawn"
    assert drawn["retry"]["count"] == 0, "the same failures are not offered again"
    assert studio.board.message == "", "a second click of Yes is no error"
    jobs = Journal().batches()
    assert [j.count for j in jobs] == [4, 2] and jobs[1].retry_of == key and jobs[1].prompt == PROMPT
    assert studio.form.status == "", "the retry never speaks in the form"
    exported = studio.board.static_html()
    assert exported.count("Retry · 2 pictures") == 1 and exported.count("<figure") == 6, "in the export too"

    # A later session on the same store draws the retry inside its run again.
    again = await restart(studio, sandbox, closing)
    (restored,) = again.board.runs
    assert restored["key"] == key and (restored["total"], restored["done"]) == (6, 4)
    assert [len(line["ids"]) for line in restored["retries"]] == [2]
    assert restored["retry"]["count"] == 0


async def test_a_refused_retry_is_said_beside_its_button_and_sends_nothing(
    make_sandbox: Callable[..., Any], closing: list[Any]
) -> None:
    """The per-key budget refuses: the sentence is beside the button, the run keeps offering the retry."""
    sandbox = make_sandbox(**FLAKY)
    studio = studio_for(sandbox, closing, budget=Budget(55))
    key = await run_with_failures(studio)  # 40 reserved, 20 given back: 35 left
    await spend_twenty(studio)  # 15 left, less than the retry's 20
    key_row = next(r for r in studio.board.runs if r["key"] == key)
    assert key_row["retry"]["count"] == 2
    drawn = await retried(studio, key)
    retry = drawn["retry"]
    assert retry["note_kind"] == "error" and "budget" in retry["note"], retry
    assert retry["count"] == 2 and drawn["retries"] == []
    assert sandbox.stats()["registered_batches"] == 2, "nothing sent for the retry"
    assert "budget" not in studio.form.status


async def test_an_account_that_cannot_pay_is_said_beside_the_button(
    make_sandbox: Callable[..., Any], closing: list[Any]
) -> None:
    """402 from the server: the refusal is beside the button, not lost, and nothing stays drawn."""
    sandbox = make_sandbox(**FLAKY)
    studio = studio_for(sandbox, closing, sandbox.issue_key(credits=50))
    key = await run_with_failures(studio)  # 40 reserved, 20 refunded: 30 left
    await spend_twenty(studio)  # 10 left
    drawn = await retried(studio, key)
    retry = drawn["retry"]
    assert retry["note_kind"] == "error" and "Not enough credits" in retry["note"], retry
    assert drawn["retries"] == [] and retry["count"] == 2, "the refused retry is no longer drawn"
    assert sandbox.stats()["registered_batches"] == 2
    assert "Not enough" not in studio.form.status


@pytest.mark.parametrize(
    "crafted",
    [
        {"kind": "retry_failed", "key": "no-such-run", "yes": True},
        {"kind": "retry_failed", "key": 12, "yes": True},
        {"kind": "retry_failed", "key": "KEY", "yes": "yes"},
        {"kind": "retry_failed", "key": "KEY", "yes": True, "count": 20},
        {"kind": "retry_failed", "key": "KEY", "count": 20},
    ],
    ids=["unknown-key", "key-not-text", "yes-not-bool", "count-with-yes", "count"],
)
async def test_a_crafted_retry_message_is_refused_and_sends_no_job(
    make_sandbox: Callable[..., Any],
    closing: list[Any],
    crafted: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    sandbox, studio, key = await studio_with_failures(make_sandbox, closing)
    from_browser(studio.board, {"kind": "retry_failed", "key": key})  # asked: a yes would now be taken
    message = {name: (key if value == "KEY" else value) for name, value in crafted.items()}
    with caplog.at_level(logging.DEBUG, logger="qamera_widgets.widgets"):
        from_browser(studio.board, message)
        await studio.wait_idle(timeout=30)
    assert sandbox.stats()["registered_batches"] == 1, "no job"
    refused = [r.getMessage() for r in caplog.records if "retry_failed" in r.getMessage()]
    assert refused, "the refusal is logged"
    if crafted["key"] == "no-such-run":
        assert studio.board.message == "There are no failed pictures to retry in that run; nothing was sent."


async def test_a_run_and_its_retry_fold_as_one_run(
    make_sandbox: Callable[..., Any], closing: list[Any]
) -> None:
    _, studio, key = await studio_with_failures(make_sandbox, closing)
    from_browser(studio.board, {"kind": "retry_failed", "key": key})
    from_browser(studio.board, {"kind": "retry_failed", "key": key, "yes": True})
    await studio.wait_idle(timeout=30)
    before = set(__import__("asyncio").all_tasks())
    for n in range(VISIBLE_RUNS):
        from_browser(studio.form, {"kind": "generate", "prompt": f"Later idea {n}", "count": 1})
        await studio.wait_idle(timeout=30)
    await settled(before)
    assert studio.board.folded_runs["count"] == 1, studio.board.folded_runs
    assert studio.board.folded_runs["text"].startswith("1 earlier run · 6 pictures")


async def test_a_retry_whose_answer_was_lost_is_resent_under_its_key_never_charged_twice(
    make_sandbox: Callable[..., Any], closing: list[Any]
) -> None:
    """The server saved the retry but the answer was cut off: the note says so, the button offers it
    again, and a second yes resends the same job under its idempotency key (one batch, one link)."""
    sandbox, studio, key = await studio_with_failures(make_sandbox, closing)
    sandbox.set_faults(drop_after_register=1)
    from_browser(studio.board, {"kind": "retry_failed", "key": key})
    from_browser(studio.board, {"kind": "retry_failed", "key": key, "yes": True})
    await studio.wait_idle(timeout=30)
    drawn = studio.board.runs[0]
    assert drawn["retry"]["note_kind"] == "error" and "idempotency key" in drawn["retry"]["note"]
    assert drawn["retries"] == [] and drawn["retry"]["count"] == 2, "offered again, to resend safely"
    assert sandbox.stats()["registered_batches"] == 2, "the server did save it"
    from_browser(studio.board, {"kind": "retry_failed", "key": key})
    from_browser(studio.board, {"kind": "retry_failed", "key": key, "yes": True})
    await studio.wait_idle(timeout=30)
    await eventually(lambda: studio.board.runs[0]["done"] == 4)
    assert sandbox.stats()["registered_batches"] == 2, "replayed under the same key, not charged twice"
    assert sandbox.stats()["idempotent_replays"] == 1
    (line,) = studio.board.runs[0]["retries"]
    assert len(line["ids"]) == 2 and studio.board.runs[0]["retry"]["note"] == ""
    assert [j.retry_of for j in Journal().batches()] == ["", key]


async def test_a_failed_picture_takes_no_mark_from_a_key_or_from_python(
    make_sandbox: Callable[..., Any], closing: list[Any]
) -> None:
    """A failed tile has nothing to review: P on it in the browser (the card is focusable, the key reaches
    the kernel) and `studio.mark(...)` are refused with one sentence, and nothing is stored."""
    _, studio, _ = await studio_with_failures(make_sandbox, closing)
    cards = [c for c in studio.board.cards if c["run"] == studio.board.runs[0]["key"]]
    failed = next(c["id"] for c in cards if c["state"] == "failed")
    done = next(c["id"] for c in cards if c["state"] == "done")

    from_browser(studio.board, {"kind": "mark", "ids": [failed], "flag": "pick"})  # handled at once
    assert studio.board.message_kind == "error"
    assert "failed to generate, so there is nothing to mark" in studio.board.message
    assert failed not in studio.marks and failed not in studio.board.marks
    with pytest.raises(MarkError, match="failed to generate"):
        studio.mark([done, failed], flag="pick")
    assert studio.marks == {}, "nothing of a refused call is stored, not even the good id"
    studio.mark(done, flag="pick")
    assert studio.marks == {done: {"flag": "pick", "stars": 0}}
    studio.mark([failed], flag="", stars=0)  # clearing is no mark: a mark from before can be taken off
    assert failed not in studio.marks
