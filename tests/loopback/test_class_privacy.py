"""Students do not see each other's prompts (issue 23, item 11): a Voilà or shared-key kernel shows only
its own jobs, in the runs and in the library, unless the teacher sets QAMERA_HISTORY=all. A real sandbox on
loopback and one journal file shared by two kernels, as a class on the teacher's machine has."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qamera_widgets.client.errors import ConfigurationError
from qamera_widgets.engine.jobs.history_scope import history_scope, under_voila
from qamera_widgets.engine.jobs.journal import Journal
from qamera_widgets.widgets.form import PromptForm
from qamera_widgets.widgets.studio import Studio
from tests._widget_support import fast_client

OTHER = "student B: marble bath"


def test_the_history_switch() -> None:
    assert history_scope({}) == "all", "a notebook of one's own shows its history"
    assert history_scope({"VOILA_SERVER_URL": "http://localhost:8866/"}) == "own"
    assert history_scope({"VOILA_KERNEL_ID": "abc"}) == "own"
    assert history_scope({"QAMERA_KEY_BUDGET": "500"}) == "own"
    assert history_scope({"QAMERA_REDIS_URL": "redis://127.0.0.1:6379/0"}) == "own"
    assert history_scope({"VOILA_APP_PORT": "8866", "QAMERA_HISTORY": "all"}) == "all"
    assert history_scope({"QAMERA_HISTORY": " OWN "}) == "own"
    assert not under_voila({"VOILA_BASE_URL": "  "})
    with pytest.raises(ConfigurationError, match="'all' or 'own'"):
        history_scope({"QAMERA_HISTORY": "everyone"})


async def studio_after_student_b(
    sandbox: Any, closing: list[Any], journal_path: Path
) -> tuple[Studio, tuple[str, ...]]:
    other = fast_client(sandbox)
    closing.append(other)
    student_b = PromptForm(other, journal=Journal(journal_path))
    closing.append(student_b)
    student_b.prompt, student_b.count = OTHER, 2
    registration = await student_b.submit()
    assert registration is not None
    client = fast_client(sandbox)
    closing.append(client)
    studio = Studio(client, sandbox=sandbox, journal=Journal(journal_path), refresh_debounce=0.05)
    closing.append(studio)
    return studio, registration.record_ids


async def test_a_voila_kernel_shows_only_its_own_jobs(
    sandbox: Any, closing: list[Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOILA_SERVER_URL", "http://127.0.0.1:8866/")
    studio, theirs = await studio_after_student_b(sandbox, closing, tmp_path / "journal.jsonl")
    studio.form.prompt, studio.form.count = "student A: oak kitchen", 1
    mine = await studio.form.submit()
    assert mine is not None
    await studio.wait_idle(timeout=30)
    await studio.gallery.refresh()
    assert set(mine.record_ids) <= set(studio.board.record_ids)
    assert not set(theirs) & set(studio.board.record_ids)
    assert OTHER not in str(studio.board.runs) and OTHER not in studio.board.static_html()
    shown = {s.id for s in studio.gallery.sceneries}
    assert set(mine.record_ids) <= shown and not set(theirs) & shown


async def test_the_teacher_can_turn_history_on(
    sandbox: Any, closing: list[Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOILA_SERVER_URL", "http://127.0.0.1:8866/")
    monkeypatch.setenv("QAMERA_HISTORY", "all")
    studio, theirs = await studio_after_student_b(sandbox, closing, tmp_path / "journal.jsonl")
    await studio.wait_idle(timeout=30)
    assert set(theirs) <= set(studio.board.record_ids)
    assert OTHER in str(studio.board.runs)
