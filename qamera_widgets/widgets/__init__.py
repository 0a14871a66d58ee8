"""ipywidgets views over the client: they hold state and react; none opens sockets itself."""

from __future__ import annotations

import importlib
from typing import Any

_WIDGETS = {
    "SceneryGallery": ".gallery",
    "PromptForm": ".form",
    "StatusBoard": ".board",
    "Studio": ".studio",
}

__all__ = list(_WIDGETS)


def __getattr__(name: str) -> Any:
    module = _WIDGETS.get(name)
    if module is None:
        raise AttributeError(f"module 'qamera_widgets.widgets' has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)
