"""The pure parts of "Retry N failed" (engine.jobs.retry_failed): which failures a retry replaces, how a
run and its retries are counted and folded as one run, and the question's words; and the store's schema
step that adds the link (a version-1 file still opens, its jobs unchanged)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

from qamera_widgets.contract import DONE, FAILED
from qamera_widgets.engine.jobs.retry_failed import (
    attach_retries,
    combined_counts,
    retry_line,
    retry_question,
    retryable,
)
from qamera_widgets.engine.jobs.runs import Run, folded_line, grouped, newest_first
from qamera_widgets.engine.store import DB_FILE, forget_stores, open_store
from qamera_widgets.engine.store.records import APPLICATION_ID, SCHEMA_VERSION
from qamera_widgets.engine.store.schema import _SCHEMA

T0 = datetime(2026, 3, 20, 12, 0, tzinfo=timezone.utc)


def run(key: str, ids: str, minutes: int, *, retry_of: str = "", confirmed: bool = True) -> Run:
    record_ids = tuple(f"{key}-{c}" for c in ids)
    return Run(
        key,
        "oak table",
        len(record_ids),
        key,
        T0 + timedelta(minutes=minutes) if confirmed else None,
        record_ids,
        retry_of=retry_of,
    )


def test_retries_are_drawn_inside_their_run_and_the_rest_alone() -> None:
    first, other = run("a", "wxyz", 0), run("b", "w", 1)
    retry1, retry2 = run("r1", "xz", 2, retry_of="a"), run("r2", "z", 3, retry_of="a")
    stray = run("r9", "w", 4, retry_of="gone")  # its run is older than the history read
    own, retries = attach_retries([retry2, first, stray, other, retry1])
    assert [r.key for r in own] == ["a", "r9", "b"]
    assert [r.key for r in retries["a"]] == ["r1", "r2"], "oldest first"
    # Drawn (and folded) by the run's own time: a retry does not move its run to the top.
    assert [[r.key for r in e] for e in grouped(newest_first(own))] == [["r9"], ["b"], ["a"]]


def test_only_the_newest_jobs_failures_are_offered_once_everything_settled() -> None:
    first = run("a", "wxyz", 0)
    status = {"a-w": DONE, "a-x": FAILED, "a-y": DONE, "a-z": FAILED}
    assert retryable(first, [], status) == ("a-x", "a-z")
    assert retryable(first, [], {**status, "a-y": "PROCESSING"}) == (), "not while anything runs"
    waiting = run("r1", "xz", 1, retry_of="a", confirmed=False)
    assert retryable(first, [waiting], status) == (), "not while a retry waits for its server"
    retry = run("r1", "xz", 1, retry_of="a")
    assert retryable(first, [retry], {**status, "r1-x": DONE}) == (), "the retry is still running"
    settled = {**status, "r1-x": DONE, "r1-z": DONE}
    assert retryable(first, [retry], settled) == (), "the same failures are never offered twice"
    assert retryable(first, [retry], {**settled, "r1-z": FAILED}) == ("r1-z",), "the retry's own failure"


def test_a_run_and_its_retries_count_and_fold_as_one_run() -> None:
    first, retry = run("a", "wxyz", 0), run("r1", "xz", 5, retry_of="a")
    status = {"a-w": DONE, "a-x": FAILED, "a-y": DONE, "a-z": FAILED, "r1-x": DONE, "r1-z": DONE}
    counts = combined_counts([first, retry], status)
    assert (counts.total, counts.done, counts.failed) == (6, 4, 2)
    assert counts.text() == "4 of 6 done · 2 failed"
    assert folded_line([[first, retry], [run("b", "w", 1)]], {**status, "b-w": DONE})["text"] == (
        "2 earlier runs · 7 pictures · 50 consumed · 20 refunded"
    )
    line = retry_line(retry, ["r1-x", "r1-z"], status)
    assert line["text"].startswith("Retry · 2 pictures · ") and line["progress"] == "2 of 2 done"


def test_the_question_says_the_count_the_prompt_and_the_cost() -> None:
    assert retry_question("Brushed steel kettle on a slate counter, soft light from the left", 2) == (
        "Retry 2 failed pictures of \u201cBrushed steel kettle on a slate counter…\u201d? "
        "20 credits will be reserved."
    )
    one = retry_question("oak", 1)
    assert one == "Retry 1 failed picture of \u201coak\u201d? 10 credits will be reserved."


def test_a_version_1_store_still_opens_and_gains_the_retry_link(tmp_path: Path) -> None:
    assert SCHEMA_VERSION == 2
    path = tmp_path / DB_FILE
    old = sqlite3.connect(path, isolation_level=None)
    old.executescript(_SCHEMA)  # the shape version 1 wrote, before the link existed
    old.execute(f"PRAGMA application_id={APPLICATION_ID}")
    old.execute("PRAGMA user_version=1")
    old.execute(
        "INSERT INTO registrations (base_url, job_key, key_id, prompt, count, record_ids, batch_id, "
        "order_id, reservation_id, credits_reserved, idempotency_key, submitted_at, open_count) "
        "VALUES ('https://app.example', 'b1', 'k', 'old prompt', 1, '[\"r1\"]', 'b1', 'o', 'v', 10, 'i', "
        "'2026-03-20T13:00:00+00:00', 1)"
    )
    old.execute("INSERT INTO records VALUES ('https://app.example', 'r1', 1, 0)")
    old.close()
    forget_stores()
    store = open_store(tmp_path)
    (job,) = store.jobs()
    assert (job.prompt, job.batch_id, job.retry_of) == ("old prompt", "b1", "")
    store.record_registration(
        {
            "base_url": "https://app.example",
            "key_id": "k",
            "prompt": "old prompt",
            "count": 1,
            "record_ids": ["r2"],
            "batch_id": "b2",
            "credits_reserved": 10,
            "idempotency_key": "i2",
            "submitted_at": "2026-03-20T13:05:00+00:00",
            "retry_of": "b1",
        }
    )
    forget_stores()
    assert [(j.batch_id, j.retry_of) for j in open_store(tmp_path).jobs()] == [("b1", ""), ("b2", "b1")]
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA user_version").fetchone()[0] == 2
    check.close()
