"""Issue 21, "Failed pictures" for comparisons: each prompt of a comparison is a job of its own, so each
row (matrix cell) with failures offers "Retry N failed" for its own count; Yes sends one job of that
prompt through the same desk, drawn in that row after its own cards, counted in the comparison's header,
still one run when folded, and back in its row after a restart."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from qamera_widgets.engine.jobs.journal import Journal
from qamera_widgets.widgets.board import VISIBLE_RUNS
from qamera_widgets.widgets.studio import Studio
from tests._widget_support import eventually, from_browser
from tests.loopback.test_retry_failed import FLAKY, restart, studio_for

pytestmark = pytest.mark.usefixtures("widgets_home")

TEMPLATE = "{oak|marble} table, {warm|cool} light"


def settled_rows(studio: Studio) -> list[dict[str, Any]]:
    return list(studio.board.runs[0]["rows"])


async def comparison_with_failures(studio: Studio) -> list[dict[str, Any]]:
    """Send the 4-prompt comparison of 2 pictures each and wait until every row settled; its rows."""
    from_browser(studio.form, {"kind": "generate", "prompt": TEMPLATE, "count": 2})
    from_browser(studio.form, {"kind": "confirm", "yes": True})
    await studio.wait_idle(timeout=30)
    await eventually(
        lambda: (
            len(studio.board.runs) == 1
            and studio.board.runs[0].get("kind") == "compare"
            and studio.board.runs[0]["done"] + studio.board.runs[0]["failed"] == 8
        ),
        timeout=30,
    )
    rows = settled_rows(studio)
    assert sum(r["failed"] for r in rows) > 0, "FLAKY fails some of the comparison's pictures"
    return rows


def row_of(studio: Studio, key: str) -> dict[str, Any]:
    return next(r for r in studio.board.runs[0]["rows"] if r["key"] == key)


async def test_each_comparison_row_with_failures_offers_its_own_retry_drawn_in_its_cell(
    make_sandbox: Callable[..., Any], closing: list[Any]
) -> None:
    sandbox = make_sandbox(**FLAKY)
    studio = studio_for(sandbox, closing)
    rows = await comparison_with_failures(studio)
    assert [r["retry"]["count"] for r in rows] == [r["failed"] for r in rows], "each row its own count"
    assert all(r["retries"] == [] and "cell" in r for r in rows)
    before = studio.board.runs[0]
    failing = next(r for r in rows if r["failed"])
    key, prompt, failed = failing["key"], failing["prompt"], failing["failed"]

    from_browser(studio.board, {"kind": "retry_failed", "key": key})
    what = "picture" if failed == 1 else "pictures"
    assert row_of(studio, key)["retry"]["question"] == (
        f"Retry {failed} failed {what} of \u201c{prompt}\u201d? {failed * 10} credits will be reserved."
    )
    assert sandbox.stats()["registered_batches"] == 4, "asking sends nothing"
    from_browser(studio.board, {"kind": "retry_failed", "key": key, "yes": True})
    from_browser(studio.board, {"kind": "retry_failed", "key": key, "yes": True})  # double click
    await studio.wait_idle(timeout=30)
    await eventually(lambda: row_of(studio, key)["pending"] == 0 and bool(row_of(studio, key)["retries"]))

    assert sandbox.stats()["registered_batches"] == 5, "exactly one new job"
    jobs = Journal().batches()
    assert len(jobs) == 5 and (jobs[-1].prompt, jobs[-1].count, jobs[-1].retry_of) == (prompt, failed, key)
    assert len(studio.board.runs) == 1, "the retry is part of the comparison"
    header = studio.board.runs[0]
    row = row_of(studio, key)
    (line,) = row["retries"]
    assert len(line["ids"]) == failed and line["text"].startswith(f"Retry · {failed} ")
    assert row["total"] == 2 + failed and row["cell"] == failing["cell"], "drawn in the same cell"
    assert header["total"] == before["total"] + failed, "the header counts the retry"
    assert header["done"] + header["failed"] == 8 + failed
    assert header["meta"].startswith(f"Comparison registered: 5 jobs, {8 + failed} pictures, ")
    assert set(line["ids"]) <= set(header["ids"]), "the large view steps through the retry too"
    drawn = [c["id"] for c in studio.board.cards]
    own = row["ids"]
    assert drawn.index(line["ids"][0]) > max(drawn.index(i) for i in own), "after the row's own cards"
    others = [r for r in header["rows"] if r["key"] != key]
    assert all(r["retries"] == [] for r in others)
    exported = studio.board.static_html()
    assert exported.count("Retry · ") == 1 and exported.count("<figure") == 8 + failed, "in the export too"

    # A later session on the same store draws the retry in the same row again.
    again = await restart(studio, sandbox, closing)
    (restored,) = again.board.runs
    assert restored["kind"] == "compare" and restored["total"] == header["total"]
    back = row_of(again, key)
    assert [len(line["ids"]) for line in back["retries"]] == [failed] and back["cell"] == failing["cell"]


async def test_a_comparison_and_its_retries_fold_as_one_run(
    make_sandbox: Callable[..., Any], closing: list[Any]
) -> None:
    studio = studio_for(make_sandbox(**FLAKY), closing)
    rows = await comparison_with_failures(studio)
    failing = [r for r in rows if r["failed"]]
    for row in failing:
        from_browser(studio.board, {"kind": "retry_failed", "key": row["key"]})
        from_browser(studio.board, {"kind": "retry_failed", "key": row["key"], "yes": True})
        await studio.wait_idle(timeout=30)
    retried = sum(r["failed"] for r in failing)
    for n in range(VISIBLE_RUNS):
        from_browser(studio.form, {"kind": "generate", "prompt": f"Later idea {n}", "count": 1})
        await studio.wait_idle(timeout=30)
    assert studio.board.folded_runs["count"] == 1, studio.board.folded_runs
    assert studio.board.folded_runs["text"].startswith(f"1 earlier run · {8 + retried} pictures")


async def test_a_crafted_retry_for_a_row_without_failures_sends_nothing(
    make_sandbox: Callable[..., Any], closing: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    sandbox = make_sandbox(**FLAKY)
    studio = studio_for(sandbox, closing)
    rows = await comparison_with_failures(studio)
    clean = next((r for r in rows if not r["failed"]), None)
    assert clean is not None, "FLAKY leaves some rows without failures"
    with caplog.at_level(logging.DEBUG, logger="qamera_widgets.widgets"):
        from_browser(studio.board, {"kind": "retry_failed", "key": clean["key"]})
        from_browser(studio.board, {"kind": "retry_failed", "key": clean["key"], "yes": True})
        # The comparison's own key names no job: nothing to retry under it either.
        from_browser(studio.board, {"kind": "retry_failed", "key": studio.board.runs[0]["key"], "yes": True})
        await studio.wait_idle(timeout=30)
    assert sandbox.stats()["registered_batches"] == 4, "no job"
    assert row_of(studio, clean["key"])["retry"] == {"count": 0, "question": "", "note": "", "note_kind": ""}
    assert [r.getMessage() for r in caplog.records if "retry_failed" in r.getMessage()], "refusals logged"
    assert studio.board.message == "There are no failed pictures to retry in that run; nothing was sent."
