"""A mark made in one kernel is there in the next: two nbclient kernels, one after the other, sharing one
QAMERA_WIDGETS_HOME (the local store's SQLite file), against one sandbox."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

SETUP = """
import json, os
from qamera_widgets import Studio
from qamera_widgets.client import QameraClient
client = QameraClient(os.environ["QAMERA_API_KEY"], os.environ["QAMERA_BASE_URL"])
studio = Studio(client)
# Read before the loop runs anything: the marks come from the store, not from the API.
before = {"marks": {i: m.as_dict() for i, m in studio.gallery.mark_book.marks().items()}}
"""
MARK = """
await studio.gallery.refresh()
first = studio.gallery.sceneries[0].id
studio.mark(first, flag="pick", stars=4)
studio.mark(studio.gallery.sceneries[1].id, flag="reject")
"""
SHOW = """
await studio.gallery.refresh()
print(json.dumps({"before": before["marks"], "trait": studio.gallery.marks}))
studio.close()
"""


def run_kernel(cells: list[str], env: dict[str, str]) -> dict[str, Any]:
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute(env=env)
    texts = [
        o.get("text", "")
        for c in notebook.cells
        for o in c.get("outputs", [])
        if o["output_type"] == "stream"
    ]
    answer: dict[str, Any] = json.loads(texts[-1])
    return answer


@pytest.mark.timeout(300)
def test_a_new_kernel_shows_the_marks_of_the_previous_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from qamera_widgets import sandbox

    with sandbox.start(library=4) as sb:
        env = dict(
            os.environ,
            QAMERA_API_KEY=sb.api_key,
            QAMERA_BASE_URL=sb.base_url,
            QAMERA_WIDGETS_HOME=str(tmp_path),
            HOME=str(tmp_path),
        )
        first = run_kernel([SETUP, MARK, SHOW], env)
        assert first["before"] == {}
        marked = first["trait"]
        assert sorted(m["flag"] for m in marked.values()) == ["pick", "reject"]
        second = run_kernel([SETUP, SHOW], env)
        assert second["before"] == marked, "the new kernel's studio has the marks before any request"
        assert second["trait"] == marked, "and its library's cards show them"
    assert (tmp_path / "store.sqlite3").exists()
