"""A local Qamera-compatible server (API and CDN origins) for demos, notebooks and tests.

`start()` runs it in a background thread of this process; `qamera-widgets sandbox` runs it in the
foreground. It imports nothing from the client or the widgets.
"""

from .server import Sandbox, start

__all__ = ["Sandbox", "start"]
