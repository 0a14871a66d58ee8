"""Pick the service a notebook talks to: the real API when a key is configured, else the local sandbox.

One decision in one place, so every notebook, the Studio and the demo say the same thing about
whether real credits are at stake.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from .client import QameraClient
from .client._base import API_KEY_ENV, BASE_URL_ENV

SANDBOX_TOKEN_ENV = "QAMERA_SANDBOX_ADMIN_TOKEN"


@dataclass
class Connection:
    """A client plus, in sandbox mode, the sandbox it talks to (its account and stats)."""

    client: QameraClient
    sandbox: Any | None
    started_sandbox: bool

    @property
    def is_sandbox(self) -> bool:
        return self.sandbox is not None

    def describe(self) -> str:
        if self.sandbox is None:
            return (
                f"Connected to {self.client.base_url} with key id {self.client.key_id}: "
                "generating spends real credits."
            )
        if self.started_sandbox:
            return (
                f"No QAMERA_API_KEY set: started a local sandbox at {self.client.base_url} "
                "(no real credits are spent)."
            )
        return f"Using the sandbox at {self.client.base_url} (no real credits are spent)."

    def close(self) -> None:
        self.client.close()
        if self.started_sandbox and self.sandbox is not None:
            self.sandbox.stop()


def connect(*, quiet: bool = False, **sandbox_options: Any) -> Connection:
    """The real service when `QAMERA_API_KEY` is set, else a sandbox started in this process.

    A sandbox started by `qamera-widgets demo` runs in the demo process and is found through
    `QAMERA_SANDBOX_ADMIN_TOKEN` beside the key, so the notebook still knows it is a sandbox.
    """
    from . import sandbox as sandbox_module

    if os.environ.get(API_KEY_ENV, "").strip():
        client = QameraClient()
        found = None
        if os.environ.get(SANDBOX_TOKEN_ENV):
            found = sandbox_module.attach(
                client.base_url, os.environ[SANDBOX_TOKEN_ENV], api_key=os.environ[API_KEY_ENV]
            )
        connection = Connection(client, found, started_sandbox=False)
    else:
        handle = sandbox_module.start(**sandbox_options)
        client = QameraClient(handle.api_key, handle.base_url)
        connection = Connection(client, handle, started_sandbox=True)
    if not quiet:
        print(connection.describe())
    return connection


__all__ = ["BASE_URL_ENV", "SANDBOX_TOKEN_ENV", "Connection", "connect"]
