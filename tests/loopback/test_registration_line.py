"""Issue 21, "A form that stays put": in a Studio the last job's "Job registered… Batch <uuid>" line belongs
to its run, not the form: once the run is drawn the form's status line is empty, and the run's header says
what was registered (pictures, credits, the short batch id); the form keeps what is about its own submit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from qamera_widgets.widgets.studio import Studio
from tests._widget_support import fast_client, from_browser

pytestmark = pytest.mark.usefixtures("widgets_home")


def studio_for(sandbox: Any, closing: list[Any], api_key: str | None = None) -> Studio:
    client = fast_client(sandbox, api_key)
    closing.append(client)
    studio = Studio(client, sandbox=sandbox, refresh_debounce=0.05, account_interval=0.1)
    closing.append(studio)
    return studio


async def test_the_registration_is_said_in_its_run_and_the_form_line_is_left_empty(
    make_sandbox: Callable[..., Any], closing: list[Any]
) -> None:
    sandbox = make_sandbox(processing_seconds=(3.0, 4.0))
    studio = studio_for(sandbox, closing)
    from_browser(studio.form, {"kind": "generate", "prompt": "Linen napkin on a walnut board", "count": 2})
    await studio.form.wait_idle()
    registration = studio.form.last_registration
    assert registration is not None
    assert (studio.form.status, studio.form.batch_id) == ("", ""), "nothing of the job is left in the form"
    (run,) = studio.board.runs
    assert run["meta"].startswith("Registered 2 pictures, 20 credits · ")
    assert run["meta"].endswith(f" · batch {registration.batch_id[:8]}…")
    assert run["credits"] == "20 credits reserved"
    assert registration.batch_id not in str(studio.form.get_state()), "never the full batch id in the form"


async def test_a_refusal_stays_in_the_form(make_sandbox: Callable[..., Any], closing: list[Any]) -> None:
    """402 is about the form's submit: said there, with nothing drawn in the runs."""
    sandbox = make_sandbox()
    studio = studio_for(sandbox, closing, sandbox.issue_key(credits=10))
    from_browser(studio.form, {"kind": "generate", "prompt": "Linen napkin on a walnut board", "count": 2})
    await studio.form.wait_idle()
    assert studio.form.status.startswith("Not enough credits") and studio.form.status_kind == "error"
    assert studio.board.runs == []
