"""The store read by a studio on a sandbox."""

from __future__ import annotations

import pytest

from tests.unit.test_store import count_reads, job


async def test_a_new_studio_reads_the_store_once_for_its_runs_and_its_library(
    make_sandbox: object, closing: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    from qamera_widgets.engine.jobs.journal import Journal
    from qamera_widgets.widgets.studio import Studio
    from tests._widget_support import fast_client

    sandbox = make_sandbox()  # type: ignore[operator]
    client = fast_client(sandbox)
    closing.append(client)
    journal = Journal()
    for n in range(3):
        journal.store.record_registration({**job(n), "base_url": client.base_url, "key_id": client.key_id})
    journal.record_final(client.base_url, {f"p-{n}": "DONE" for n in range(3)})
    reads = count_reads(monkeypatch)
    studio = Studio(client, sandbox=sandbox, refresh_debounce=0.1, account_interval=0.1)
    closing.append(studio)
    await studio.wait_idle(timeout=10)
    await studio.gallery.wait_idle()
    assert len(reads) == 1
    assert len(studio.board.get_state()["runs"]) == 3
