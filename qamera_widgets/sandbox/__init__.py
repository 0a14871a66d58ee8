"""A local Qamera-compatible server (API and CDN origins) for demos, notebooks and tests.

`start()` runs it in a background thread of this process; `qamera-widgets sandbox` runs it in the
foreground; `attach()` steers one that another process started. It imports nothing from the client or
the widgets.
"""

from .remote import AttachedSandbox, attach
from .server import Sandbox, start

__all__ = ["AttachedSandbox", "Sandbox", "attach", "start"]
