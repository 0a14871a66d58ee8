"""The browser's side reads its limits and message names from Python: the form's limit traits follow
the contract, and every kind the widgets send or handle is named in `widgets/protocol.py`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from qamera_widgets import contract
from qamera_widgets.client import AsyncQameraClient
from qamera_widgets.engine.jobs.journal import Journal
from qamera_widgets.widgets import protocol
from qamera_widgets.widgets.form import PromptForm

WIDGETS = Path(protocol.__file__).parent


@pytest.mark.usefixtures("widgets_home")
async def test_the_form_sends_the_contracts_limits_to_the_browser() -> None:
    client = AsyncQameraClient("mk_live_abc.secret", "http://127.0.0.1:9")
    form = PromptForm(client, journal=Journal())
    try:
        state = form.get_state()
        assert (state["min_count"], state["max_count"]) == (contract.MIN_COUNT, contract.MAX_COUNT)
        assert state["max_prompt_chars"] == contract.MAX_PREFERENCES_CHARS
        assert state["price_per_picture"] == contract.price_for(1)
        assert state["count"] == contract.START_COUNT
    finally:
        form.close()
        await client.aclose()


def test_every_message_kind_in_the_widgets_is_a_protocol_name() -> None:
    """A kind typed as a string in a widget module, instead of taken from `protocol`, is reported."""
    names = {value for key, value in vars(protocol).items() if key.isupper() and isinstance(value, str)}
    typed = []
    for path in WIDGETS.glob("*.py"):
        if path.name == "protocol.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Compare) and isinstance(node.left, ast.Name) and node.left.id == "kind":
                typed += [
                    f"{path.name}: {c.value!s}" for c in node.comparators if isinstance(c, ast.Constant)
                ]
            if isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    kind_key = isinstance(key, ast.Constant) and key.value == "kind"
                    if kind_key and isinstance(value, ast.Constant):
                        typed.append(f"{path.name}: {value.value!s}")
    assert [entry for entry in typed if entry.split(": ")[1] in names] == []
