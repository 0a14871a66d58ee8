"""A journal that cannot be written, seen from a form that submits to a sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qamera_widgets.engine.jobs.journal import Journal


async def test_a_form_whose_journal_cannot_be_written_still_shows_the_job_and_says_to_keep_its_id(
    tmp_path: Path, make_sandbox: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The job is registered (credits reserved); a refused write must not hide it or raise into the click."""
    from qamera_widgets.widgets.form import PromptForm
    from tests._widget_support import fast_client

    sandbox = make_sandbox()
    journal = Journal(tmp_path / "journal.jsonl")
    journal.store_path.mkdir()  # a folder where the store should be: every write fails
    client = fast_client(sandbox)
    form = PromptForm(client, journal=journal)
    try:
        form.prompt, form.count = "oak table in the sun", 2
        registration = await form.submit()
        assert registration is not None and form.batch_id == registration.batch_id
        assert form.status_kind == "error"
        assert "Could not write the job journal" in form.status and "keep this batch id" in form.status
        assert "not being saved" in form.status
        assert f"could not journal the job in {journal.path}" in caplog.text
        assert sandbox.stats()["registered_batches"] == 1
    finally:
        form.close()
        await client.aclose()
