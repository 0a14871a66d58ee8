"""Jupyter widgets and a typed client for the Qamera AI sceneries API.

Widgets and the sandbox load on first use, so `import qamera_widgets` stays light.
"""

from __future__ import annotations

import importlib
from importlib import metadata as _metadata
from typing import Any

from .client import *  # noqa: F403
from .client import __all__ as _client_names

try:  # the one version source is pyproject.toml; the installed metadata carries it
    __version__ = _metadata.version("qamera-widgets")
except _metadata.PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

_LAZY = {
    "SceneryGallery": "qamera_widgets.widgets",
    "PromptForm": "qamera_widgets.widgets",
    "StatusBoard": "qamera_widgets.widgets",
    "Studio": "qamera_widgets.widgets",
    "sandbox": "qamera_widgets.sandbox",
}

__all__ = [*_client_names, *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'qamera_widgets' has no attribute {name!r}")
    imported = importlib.import_module(module)
    return imported if name == "sandbox" else getattr(imported, name)
