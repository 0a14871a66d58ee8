"""Every notebook runs top to bottom under nbclient against a sandbox, via `qamera-widgets demo --headless`.

The sandbox runs in this process and reaches the kernels through their environment, as the demo
command arranges it, so the test knows the key and can scan everything that was saved for it.
`--headless` has nobody to press the buttons, so it sets `QAMERA_DEMO_AUTORUN=1` and the notebooks
press each once; opened without it (Lab, Voilà, or nbclient below) they submit nothing.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
TEACHING = "03_teaching_demo.ipynb"
NOTEBOOKS = sorted(p.name for p in (REPO / "qamera_widgets" / "notebooks").glob("[0-9]*.ipynb"))


@pytest.fixture(scope="module")
def headless_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from qamera_widgets import sandbox

    out = tmp_path_factory.mktemp("executed")
    home = tmp_path_factory.mktemp("home")
    with sandbox.start(credits=100_000, seed=5, processing_seconds=(0.2, 1.0), failure_rate=0.2) as sb:
        env = dict(
            os.environ,
            QAMERA_API_KEY=sb.api_key,
            QAMERA_BASE_URL=sb.base_url,
            QAMERA_SANDBOX_ADMIN_TOKEN=sb.admin_token,
            QAMERA_WIDGETS_HOME=str(home),
            HOME=str(home),
            JUPYTER_PLATFORM_DIRS="1",
        )
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "qamera_widgets",
                "demo",
                "--headless",
                "--output",
                str(out),
                "--timeout",
                "180",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            cwd=REPO,
        )
        yield {"result": result, "out": out, "sandbox": sb, "stats": sb.stats()}


def outputs_of(path: Path) -> list[dict[str, Any]]:
    return outputs_of_node(json.loads(path.read_text()))


def outputs_of_node(notebook: Any) -> list[dict[str, Any]]:
    return [o for cell in notebook["cells"] if cell["cell_type"] == "code" for o in cell.get("outputs", [])]


def test_notebooks_are_committed_without_outputs() -> None:
    for name in NOTEBOOKS:
        notebook = json.loads((REPO / "qamera_widgets" / "notebooks" / name).read_text())
        for cell in notebook["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None, name


def test_every_notebook_executes_against_the_sandbox(headless_run: Any) -> None:
    result = headless_run["result"]
    assert result.returncode == 0, result.stdout + result.stderr
    for name in NOTEBOOKS:
        assert f"{name}: ok" in result.stdout
        executed = headless_run["out"] / name
        errors = [o for o in outputs_of(executed) if o["output_type"] == "error"]
        assert errors == [], f"{name}: {errors}"
        assert (headless_run["out"] / name).with_suffix(".html").exists()
    assert headless_run["stats"]["register_requests"] >= 2


def widget_texts(notebook: Any) -> str:
    """Every text the notebook's widgets showed when it finished (their saved state)."""
    state = notebook["metadata"].get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    values = [m.get("state", {}).get("value") for m in state.get("state", {}).values()]
    return "\n".join(v for v in values if isinstance(v, str))


def test_the_lesson_shows_each_step_once_its_button_is_pressed(headless_run: Any) -> None:
    text = html.unescape(widget_texts(json.loads((headless_run["out"] / TEACHING).read_text())))
    assert "GET http://127.0.0.1" in text and re.search(r"The reply: 200 OK, \d+ sceneries, 0 credits", text)
    assert '"preferences": "Warm wooden tabletop by a window, soft morning light"' in text
    assert '"creditsReserved": 20' in text
    assert "PROCESSING" in text and ("DONE" in text or "FAILED" in text)
    assert "InsufficientCreditsError -> Insufficient credits. Required: 50, available: 20." in text
    assert "RateLimitError -> Too many requests" in text
    assert headless_run["sandbox"].api_key.split(".", 1)[1] not in text


def widget_value(notebook: Any, css_class: str) -> str:
    """The text the widget with this CSS class showed when the notebook finished."""
    state = notebook["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    found = [m["state"]["value"] for m in state.values() if css_class in m["state"].get("_dom_classes", ())]
    assert len(found) == 1, (css_class, found)
    return html.unescape(found[0])


def test_the_lessons_refusals_keep_their_own_answers_and_say_the_numbers_once(headless_run: Any) -> None:
    """Step 5 presses both buttons: the 429 answer used to replace the 402 one (the headless run pasted
    them together again), and the 402 box said "required 50, available 20" twice."""
    notebook = json.loads((headless_run["out"] / TEACHING).read_text())
    poor, hasty = widget_value(notebook, "lesson-402"), widget_value(notebook, "lesson-429")
    assert "HTTP 402" in poor and "InsufficientCreditsError" in poor and "429" not in poor
    assert "HTTP 429" in hasty and "RateLimitError -> Too many requests" in hasty and "402" not in hasty
    assert poor.casefold().count("required") == 1 and poor.casefold().count("available: 20") == 1
    assert "Nothing was charged." in poor


def test_the_lessons_status_log_shows_what_its_text_says(headless_run: Any) -> None:
    """Step 4 promised PENDING -> PROCESSING -> DONE in the log; a sandbox with idle workers takes every
    record at once, so the first look is PROCESSING: the text now says when PENDING can appear."""
    notebook = json.loads((headless_run["out"] / TEACHING).read_text())
    step4 = next("".join(c["source"]) for c in notebook["cells"] if c.get("id") == "03-08")
    log = html.unescape(widget_texts(notebook)).split("Statuses", 1)[1].split("</pre>", 1)[0]
    assert "PROCESSING" in log and ("DONE" in log or "FAILED" in log)
    if "PENDING" not in log:
        assert "`PENDING` appears in the log only while the workers are busy" in step4


def test_opening_the_studio_and_the_lesson_submits_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What Lab or Voilà does on open: run every cell, with nobody pressing a button."""
    import nbformat
    from nbclient import NotebookClient

    from qamera_widgets import sandbox

    with sandbox.start(credits=1000) as sb:
        monkeypatch.setenv("QAMERA_API_KEY", sb.api_key)
        monkeypatch.setenv("QAMERA_BASE_URL", sb.base_url)
        monkeypatch.setenv("QAMERA_SANDBOX_ADMIN_TOKEN", sb.admin_token)
        monkeypatch.setenv("QAMERA_WIDGETS_HOME", str(tmp_path))
        monkeypatch.delenv("QAMERA_DEMO_AUTORUN", raising=False)
        for name in ("02_prompt_studio.ipynb", TEACHING):
            notebook = nbformat.read(REPO / "qamera_widgets" / "notebooks" / name, as_version=4)
            NotebookClient(notebook, timeout=120, kernel_name="python3", store_widget_state=True).execute()
            assert [o for o in outputs_of_node(notebook) if o["output_type"] == "error"] == [], name
        assert sb.stats()["register_requests"] == 0
        assert sb.account() == {"available": 1000, "reserved": 0, "consumed": 0, "refunded": 0}
    assert "Nothing yet: generate something in step 3." in widget_texts(notebook)


def test_html_exports_show_static_results_without_the_widget_renderer(headless_run: Any) -> None:
    # The batch that notebook 02's last cell submits once under --headless (QAMERA_DEMO_AUTORUN).
    studio = (headless_run["out"] / "02_prompt_studio.html").read_text()
    assert "qw-canvas-static" in studio and "data:image/jpeg;base64," in studio
    assert "Sunlit white marble countertop" in studio
    assert "of 3 done" in studio and studio.count("<figure") >= 3
    quickstart = (headless_run["out"] / "01_quickstart.html").read_text()
    assert "qw-canvas-static" in quickstart and "Loading sceneries" not in quickstart


def scan_for_secrets(folder: Path, secrets: list[str], read: Callable[[Path], str]) -> list[str]:
    hits = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            text = read(path)
            hits += [f"{path.name} contains {label}" for label in secrets if label in text]
    return hits


def test_no_saved_notebook_or_export_contains_the_api_key(headless_run: Any) -> None:
    key = headless_run["sandbox"].api_key
    secret = key.split(".", 1)[1]
    token = headless_run["sandbox"].admin_token
    saved = [p for p in headless_run["out"].iterdir() if p.suffix in (".ipynb", ".html")]
    assert len(saved) == 2 * len(NOTEBOOKS)
    assert (headless_run["out"] / "picks_contact_sheet.png").exists()
    assert (headless_run["out"] / "review.csv").exists() and (headless_run["out"] / "picks.zip").exists()
    hits = scan_for_secrets(
        headless_run["out"], [key, secret, token], lambda p: p.read_text(errors="replace")
    )
    assert hits == []
