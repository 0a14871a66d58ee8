"""Whose jobs a kernel shows: its own, or every job the journal holds for the key (`QAMERA_HISTORY`).

In a Voilà class every page is a kernel on the teacher's key and machine, sharing one journal: showing
"history" there shows each student the others' prompts, with "Run again" on them. So a kernel shows only
the jobs it submitted itself unless the teacher sets `QAMERA_HISTORY=all`, and that is the default
wherever a key is shared: under Voilà, in class mode (`QAMERA_REDIS_URL`) or with a key budget
(`QAMERA_KEY_BUDGET`). A notebook of one's own (JupyterLab, no class settings) shows all its history.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

from ...client.errors import ConfigurationError
from ...runtime.coordination import REDIS_URL_ENV
from .budgets import KEY_BUDGET_ENV

__all__ = ["HISTORY_ENV", "history_scope", "under_voila"]

HISTORY_ENV = "QAMERA_HISTORY"
VOILA_ENV = ("VOILA_KERNEL_ID", "VOILA_SERVER_URL", "VOILA_BASE_URL", "VOILA_APP_PORT", "VOILA_REQUEST_URL")
"""What Voilà puts in its kernels' environment (each version sets some of these, a preheated kernel too)."""


def under_voila(environ: Mapping[str, str] | None = None) -> bool:
    """Whether this kernel serves a Voilà page (a dashboard anyone with the link may open)."""
    env = os.environ if environ is None else environ
    return any(env.get(name, "").strip() for name in VOILA_ENV)


def history_scope(environ: Mapping[str, str] | None = None) -> Literal["all", "own"]:
    """'all' (every journaled job of this server and key) or 'own' (only what this kernel submitted)."""
    env = os.environ if environ is None else environ
    raw = env.get(HISTORY_ENV, "").strip().lower()
    if raw in ("all", "own"):
        return "all" if raw == "all" else "own"
    if raw:
        raise ConfigurationError(f"{HISTORY_ENV} must be 'all' or 'own', not {raw!r}.")
    shared = under_voila(env) or any(env.get(name, "").strip() for name in (REDIS_URL_ENV, KEY_BUDGET_ENV))
    return "own" if shared else "all"
