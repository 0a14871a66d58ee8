"""Budgets that hold (issue 23, items 8-10): `QAMERA_KEY_BUDGET` caps every kernel on a key together, in
the local store (real SQLite file, real processes) or in Redis (a real redis-server); only a kernel's own
reservations come back; a lost answer keeps its reservation until the job is known."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qamera_widgets.engine.jobs.budgets import Budget, BudgetExceededError, kernel_budget
from qamera_widgets.engine.jobs.journal import Journal
from qamera_widgets.engine.jobs.key_budget import budget_for, forget_budgets
from qamera_widgets.runtime.coordination import REDIS_URL_ENV
from qamera_widgets.widgets.form import PromptForm
from qamera_widgets.widgets.studio import Studio
from tests._widget_support import eventually, fast_client, from_browser
from tests.helpers.redis_server import RedisServer, redis_server

ROOT = Path(__file__).resolve().parents[2]
BASE_URL, KEY_ID = "http://127.0.0.1:9", "k1"

KERNEL = textwrap.dedent(
    """
    import json, sys
    from qamera_widgets.engine.jobs.budgets import BudgetExceededError
    from qamera_widgets.engine.jobs.key_budget import budget_for
    budget = budget_for(sys.argv[1], sys.argv[2])
    try:
        budget.reserve(int(sys.argv[3]))
        booked = True
    except BudgetExceededError:
        booked = False
    print(json.dumps({"booked": booked, "remaining": budget.remaining}))
    """
)


@pytest.fixture(autouse=True)
def fresh_budgets() -> Iterator[None]:
    forget_budgets()
    kernel_budget.cache_clear()
    yield
    forget_budgets()
    kernel_budget.cache_clear()


def kernel(home: Path, credits: int, **env: str) -> dict[str, Any]:
    """One kernel (a fresh process, as a Voilà page load is) reserving `credits` on the key."""
    done = subprocess.run(
        [sys.executable, "-c", KERNEL, BASE_URL, KEY_ID, str(credits)],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "QAMERA_WIDGETS_HOME": str(home), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_kernels_on_one_key_share_one_budget_that_no_reload_resets(tmp_path: Path) -> None:
    env = {"QAMERA_KEY_BUDGET": "100", "QAMERA_BUDGET": "100"}
    results = [kernel(tmp_path, 40, **env) for _ in range(3)]
    # Each kernel's own QAMERA_BUDGET of 100 would allow 40; the key's 100 allows two of them.
    assert [r["booked"] for r in results] == [True, True, False]
    assert kernel(tmp_path, 0, **env) == {"booked": True, "remaining": 20}, "a reload still sees 80 spent"


@pytest.fixture
def redis_srv() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


def test_in_class_mode_the_key_budget_lives_in_redis(
    redis_srv: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"QAMERA_KEY_BUDGET": "100", REDIS_URL_ENV: redis_srv.url}
    homes = [tmp_path / "machine-a", tmp_path / "machine-b"]  # two machines: no shared file, one Redis
    assert kernel(homes[0], 70, **env)["booked"]
    assert not kernel(homes[1], 40, **env)["booked"]
    assert kernel(homes[1], 30, **env) == {"booked": True, "remaining": 0}
    keys = [k.decode() if isinstance(k, bytes) else k for k in redis_srv.client().keys("*budget*")]
    assert len(keys) == 1 and KEY_ID in keys[0] and "mk_" not in keys[0]
    # Given back in this process: Redis counts it for every kernel.
    monkeypatch.setenv("QAMERA_KEY_BUDGET", "100")
    monkeypatch.setenv(REDIS_URL_ENV, redis_srv.url)
    here = budget_for(BASE_URL, KEY_ID)
    assert here is not None and here.remaining == 0
    here.reserve(0)
    here.release(50)
    assert kernel(homes[0], 0, **env)["remaining"] == 50


def test_a_key_budget_refusal_says_whose_budget_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QAMERA_KEY_BUDGET", "30")
    budget = budget_for(BASE_URL, KEY_ID)
    assert budget is not None
    with pytest.raises(BudgetExceededError, match="QAMERA_KEY_BUDGET, shared by every notebook on the key"):
        budget.reserve(40)
    assert budget.remaining == 30


async def test_other_kernels_failed_items_never_top_up_this_budget(
    make_sandbox: Any, closing: list[Any], tmp_path: Path
) -> None:
    sandbox = make_sandbox(failure_rate=1.0, processing_seconds=(0.05, 0.1))
    shared = tmp_path / "journal.jsonl"
    other = fast_client(sandbox)
    closing.append(other)
    student_b = PromptForm(other, journal=Journal(shared))
    closing.append(student_b)
    student_b.prompt, student_b.count = "student B: marble bath", 5
    registration = await student_b.submit()
    assert registration is not None
    budget = Budget(100)
    budget.reserve(100)  # student A's own job holds the whole budget
    client = fast_client(sandbox)
    closing.append(client)
    studio = Studio(client, sandbox=sandbox, journal=Journal(shared), budget=budget, refresh_debounce=0.1)
    closing.append(studio)
    await studio.wait_idle()
    await eventually(lambda: set(registration.record_ids) <= set(studio.board.record_ids))
    await studio.board.wait(timeout=30)
    assert budget.remaining == 0, "B's 5 failed items (50 credits) are not A's to spend"


async def test_a_lost_answer_keeps_its_reservation_through_retry_safely(sandbox: Any, tmp_path: Path) -> None:
    sandbox.set_faults(drop_after_register=1)
    budget = Budget(100)
    client = fast_client(sandbox)
    form = PromptForm(client, journal=Journal(tmp_path / "journal.jsonl"), budget=budget)
    try:
        from_browser(form, {"kind": "generate", "prompt": "A quiet harbour at dawn", "count": 10})
        await form.wait_idle()
        assert form.can_retry and budget.reserved == 100, "the job may exist: its credits stay reserved"
        from_browser(form, {"kind": "retry"})
        await form.wait_idle()
        assert not form.can_retry and sandbox.stats()["registered_batches"] == 1
        assert budget.reserved == 100
        from_browser(form, {"kind": "generate", "prompt": "Another harbour", "count": 10})
        await form.wait_idle()
        assert sandbox.stats()["registered_batches"] == 1, "the budget is spent: nothing more is sent"
        assert "budget" in form.status
    finally:
        form.close()
        await client.aclose()
