"""Pick the service a notebook talks to: the real API when a key is configured, else the local sandbox.

One decision in one place, so every notebook, the Studio and the demo say the same thing about
whether real credits are at stake.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from .client import QameraClient
from .client.rules import API_KEY_ENV, BASE_URL_ENV, DEFAULT_BASE_URL
from .engine.jobs.budgets import Budget, kernel_budget

if TYPE_CHECKING:  # the sandbox (Starlette, uvicorn) loads only when a notebook starts or attaches one
    from .sandbox import Sandbox, SandboxHandle

SANDBOX_TOKEN_ENV = "QAMERA_SANDBOX_ADMIN_TOKEN"

logger = logging.getLogger("qamera_widgets")


def sandbox_in_env() -> SandboxHandle | None:
    """The sandbox that `qamera-widgets demo` started for this kernel, if the environment names one.

    The admin token goes only to a loopback base URL; a token left over in a shell that now points at
    the real service is ignored with a warning instead of being sent there.
    """
    token = os.environ.get(SANDBOX_TOKEN_ENV, "").strip()
    if not token or not os.environ.get(API_KEY_ENV, "").strip():
        return None
    from . import sandbox

    base_url = os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    try:
        return sandbox.attach(base_url, token, api_key=os.environ[API_KEY_ENV].strip())
    except (ValueError, RuntimeError, httpx.HTTPError) as exc:
        logger.warning("%s is set but ignored: %s", SANDBOX_TOKEN_ENV, exc)
        return None


def env_for_sandbox(sandbox: Sandbox) -> dict[str, str]:
    """The variables that point a kernel started by another process at `sandbox`; `sandbox_in_env`
    reads them back there, so the demo, the browser tests and the benchmarks name a sandbox alike."""
    return {
        API_KEY_ENV: sandbox.api_key,
        BASE_URL_ENV: sandbox.base_url,
        SANDBOX_TOKEN_ENV: sandbox.admin_token,
    }


@dataclass
class Connection:
    """A client plus, in sandbox mode, the sandbox it talks to (its account and stats), and the kernel's
    credits budget when `QAMERA_BUDGET` sets one."""

    client: QameraClient
    sandbox: SandboxHandle | None
    started_sandbox: bool
    budget: Budget | None = None

    @property
    def is_sandbox(self) -> bool:
        return self.sandbox is not None

    def describe(self, *, say_sandbox: bool = True) -> str:
        """Where this talks to and what it costs. `say_sandbox=False` leaves out "no real credits are
        spent" for a view whose sandbox badge already says it; real credits are always named."""
        sandbox_note = " (no real credits are spent)." if say_sandbox else "."
        if self.sandbox is None:
            said = (
                f"Connected to {self.client.base_url} with key id {self.client.key_id}: "
                "generating spends real credits."
            )
        elif self.started_sandbox:
            said = f"No QAMERA_API_KEY set: started a local sandbox at {self.client.base_url}{sandbox_note}"
        else:
            said = f"Using the sandbox at {self.client.base_url}{sandbox_note}"
        if self.budget is not None:
            said += f" This notebook may reserve at most {self.budget.limit} credits (QAMERA_BUDGET)."
        return said

    def close(self) -> None:
        self.client.close()
        if self.started_sandbox and self.sandbox is not None:
            self.sandbox.stop()

    async def aclose(self) -> None:
        """`close()` from the kernel's loop: the client closes on it, and stopping a sandbox we started
        (which joins its server thread) waits in a worker thread instead of the loop."""
        await self.client.async_client.aclose()
        if self.started_sandbox and self.sandbox is not None:
            await asyncio.to_thread(self.sandbox.stop)


def connect(*, quiet: bool = False, **sandbox_options: Any) -> Connection:
    """The real service when `QAMERA_API_KEY` is set, else a sandbox started in this process.

    A bad `QAMERA_BUDGET` fails here, before anything starts.
    """
    budget = kernel_budget()
    if os.environ.get(API_KEY_ENV, "").strip():
        connection = Connection(QameraClient(), sandbox_in_env(), started_sandbox=False, budget=budget)
    else:
        from . import sandbox

        handle = sandbox.start(**sandbox_options)
        connection = Connection(
            QameraClient(handle.api_key, handle.base_url), handle, started_sandbox=True, budget=budget
        )
    if not quiet:
        print(connection.describe())
    return connection


__all__ = ["SANDBOX_TOKEN_ENV", "Connection", "connect", "env_for_sandbox", "sandbox_in_env"]
