"""Hostile templates given to a studio on a sandbox."""

from __future__ import annotations

from typing import Any

import pytest

from qamera_widgets.engine.jobs.templates import MAX_VARIANTS, TemplateError
from qamera_widgets.sandbox import Sandbox
from qamera_widgets.widgets.studio import Studio
from tests._widget_support import fast_client
from tests.unit.test_hostile_templates import HUGE, MANY_GROUPS

pytestmark = pytest.mark.usefixtures("widgets_home")


async def test_studio_compare_refuses_hostile_templates_and_lists_with_a_template_error(
    sandbox: Sandbox, parses: list[int], closing: list[Any]
) -> None:
    client = fast_client(sandbox)
    studio = Studio(client)
    closing.extend([client, studio])
    for template in (HUGE, MANY_GROUPS):
        with pytest.raises(TemplateError):
            await studio.compare(template)
    with pytest.raises(TemplateError, match=r"21 prompts; the limit is 20"):
        await studio.compare([f"oak chair {n}" for n in range(MAX_VARIANTS + 1)])
    with pytest.raises(TemplateError, match="characters long"):
        await studio.compare(["oak chair", "x " * 1_000_000])
    assert parses == [len(MANY_GROUPS)]
    assert sandbox.stats()["registered_batches"] == 0
