"""A local Qamera-compatible server (API and CDN origins) for demos, notebooks and tests.

`start()` runs it in a background thread of this process; `qamera-widgets sandbox` runs it in the
foreground; `attach()` steers one that another process started; both return a `SandboxHandle`. Of the
rest of the package it imports only the API's contract (`qamera_widgets.contract`).
"""

from .handle import SandboxHandle
from .remote import AttachedSandbox, attach
from .server import Sandbox, start

__all__ = ["AttachedSandbox", "Sandbox", "SandboxHandle", "attach", "start"]
