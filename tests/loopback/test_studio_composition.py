"""The studio hosts its three views through anywidget's widget composition, not an ipywidgets box: marimo
draws anywidgets but no ipywidgets containers, and a box showed "Jupyter widgets are not supported" there
(the browser side is tests/browser/test_marimo.py; Lab, Notebook 7 and Voilà in the other browser tests)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anywidget
import ipywidgets as widgets
import pytest

from qamera_widgets.widgets.studio import Studio
from tests._widget_support import displayed, fast_client, tree

pytestmark = pytest.mark.usefixtures("widgets_home")


def studio_on_sandbox(make_sandbox: Callable[..., Any], closing: list[Any]) -> Studio:
    """A Studio on the module's sandbox; the client is closed after the test, the studio by the test."""
    client = fast_client(make_sandbox())
    closing.append(client)
    return Studio(client)


@pytest.mark.shared_sandbox
async def test_the_studio_is_one_anywidget_that_references_its_three_views(
    make_sandbox: Callable[..., Any], closing: list[Any]
) -> None:
    studio = studio_on_sandbox(make_sandbox, closing)
    closing.append(studio)
    assert isinstance(studio, anywidget.AnyWidget)
    boxes = [w for w in tree(studio) if isinstance(w, widgets.Box)]
    assert boxes == [], "an ipywidgets container in the tree: marimo cannot draw it"
    state = studio.get_state()
    assert [state[name] for name in ("form", "board", "gallery")] == [
        f"anywidget:{part.model_id}" for part in studio.children
    ]
    assert isinstance(studio._esm, str)
    assert ".getWidget(" in studio._esm  # the view renders its children through anywidget's host
    bundle = displayed(studio)
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == studio.model_id
    assert "qw-studio-static" in bundle["text/html"], "exports keep the static copy"


@pytest.mark.shared_sandbox
async def test_closing_the_studio_closes_the_views_it_hosts(
    make_sandbox: Callable[..., Any], closing: list[Any]
) -> None:
    studio = studio_on_sandbox(make_sandbox, closing)
    parts: list[anywidget.AnyWidget] = list(studio.children)
    studio.close()
    assert studio.comm is None and all(part.comm is None for part in parts)
