"""A long shared journal opens with one drawing (issue 23, item 5): `show_history` adds every batch, then
draws once, so the cost of opening grows with the jobs, not with their square. Redraws are counted (the
`runs` trait as the browser receives it), never timed."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from qamera_widgets.client import AsyncQameraClient
from qamera_widgets.engine.store import JobRecord
from qamera_widgets.widgets.board import StatusBoard
from tests._widget_support import wire

START = datetime(2026, 12, 1, 8, tzinfo=timezone.utc)


def finished_jobs(count: int) -> list[JobRecord]:
    jobs = []
    for n in range(count):
        ids = (f"rec-{n}-a", f"rec-{n}-b")
        jobs.append(
            JobRecord(
                base_url="http://127.0.0.1:9",
                key_id="k1",
                prompt=f"student {n % 30}: scene {n}",
                count=2,
                record_ids=ids,
                batch_id=f"batch-{n}",
                order_id=f"order-{n}",
                reservation_id=f"res-{n}",
                credits_reserved=20,
                submitted_at=START + timedelta(seconds=n),
                final={i: "DONE" for i in ids},
            )
        )
    return jobs


@pytest.mark.parametrize("jobs", [1000, 4000, 8000])
async def test_show_history_draws_once_however_long_the_journal(jobs: int) -> None:
    client = AsyncQameraClient("mk_test_k1.secret", "http://127.0.0.1:9")
    board = StatusBoard(client)
    try:
        link = wire(board)
        draws: list[int] = []
        board.observe(lambda change: draws.append(len(change["new"])), "runs")
        board.show_history(finished_jobs(jobs))
        assert len(draws) == 1, f"{len(draws)} redraws for {jobs} jobs"
        assert len([u for u in link.updates() if "runs" in u]) == 1
        assert len(board.record_ids) == 2 * jobs
    finally:
        board.close()
        await client.aclose()
