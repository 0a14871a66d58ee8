"""Prompts survive a kernel restart: a fresh kernel's studio shows the earlier prompts with their pictures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

FIRST = """\
from qamera_widgets import Studio
studio = Studio.from_env()
studio.form.prompt = "Walnut desk by a rainy window"
studio.form.count = 2
await studio.form.submit()
await studio.compare("{linen|velvet} backdrop, soft light", count=1)
await studio.wait_idle(timeout=60)
print("first", len(studio.board.record_ids))
"""

SECOND = """\
import json
from qamera_widgets import Studio
studio = Studio.from_env()
await studio.wait_idle(timeout=60)
await studio.board.wait_pictures()
rows = [row for r in studio.board.runs for row in (r["rows"] if r.get("kind") == "compare" else [r])]
cards = {c["id"]: c for c in studio.board.cards}
print(json.dumps({
    "kinds": [r.get("kind", "run") for r in studio.board.runs],
    "rows": [
        {"prompt": r["prompt"], "states": [cards[i]["state"] for i in r["ids"]],
         "thumbs": [cards[i]["thumb"] for i in r["ids"] if cards[i]["state"] == "done"]}
        for r in rows
    ],
}))
"""


def run_in_a_fresh_kernel(source: str, workdir: Path) -> str:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    resources = {"metadata": {"path": str(workdir)}}
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources=resources).execute()
    return "".join(o.get("text", "") for o in notebook.cells[0].outputs if o["output_type"] == "stream")


def test_a_fresh_kernel_shows_the_earlier_prompts_with_their_pictures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_sandbox: Any
) -> None:
    sandbox = make_sandbox(failure_rate=0.0)
    monkeypatch.setenv("QAMERA_API_KEY", sandbox.api_key)
    monkeypatch.setenv("QAMERA_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("QAMERA_SANDBOX_ADMIN_TOKEN", sandbox.admin_token)
    monkeypatch.setenv("QAMERA_WIDGETS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("QAMERA_BUDGET", raising=False)

    assert "first 4" in run_in_a_fresh_kernel(FIRST, tmp_path)
    shown = json.loads(run_in_a_fresh_kernel(SECOND, tmp_path).strip().splitlines()[-1])

    assert shown["kinds"] == ["compare", "run"], "the comparison comes back as one, newest first"
    prompts = [run["prompt"] for run in shown["rows"]]
    assert set(prompts) == {
        "Walnut desk by a rainy window",
        "linen backdrop, soft light",
        "velvet backdrop, soft light",
    }
    assert prompts[-1] == "Walnut desk by a rainy window", "newest first: the single prompt was sent first"
    for run in shown["rows"]:
        assert run["states"] and all(state == "done" for state in run["states"]), run
        assert all(version > 0 for version in run["thumbs"]), f"every picture is back: {run}"
