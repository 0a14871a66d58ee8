"""A handle on a sandbox running in another process (e.g. the one `qamera-widgets demo` started),
steered through its admin-only `/sandbox/*` endpoints with the same methods as the in-process handle.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..contract import key_id_of
from .handle import HandleBase
from .server import is_loopback
from .store import REGISTER_SCOPE

TIMEOUT_SECONDS = 10.0


class AttachedSandbox(HandleBase):
    """Like `Sandbox`, minus ownership: `stop()` leaves the other process's sandbox running."""

    def __init__(self, base_url: str, admin_token: str, *, api_key: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.admin_token = admin_token
        self.api_key = api_key
        self.api_keys = [api_key] if api_key else []
        self.data_dir = None
        self.cdn_url: str = self._call("GET", "/sandbox/info")["cdnUrl"]

    def __repr__(self) -> str:
        return f"AttachedSandbox(base_url={self.base_url!r}, cdn_url={self.cdn_url!r})"

    def issue_key(self, credits: int = 1000, scopes: Sequence[str] = (REGISTER_SCOPE,)) -> str:
        api_key: str = self._call("POST", "/sandbox/keys", json={"credits": credits, "scopes": list(scopes)})[
            "apiKey"
        ]
        return api_key

    def account(self, api_key: str | None = None) -> dict[str, int]:
        """The key's ledger (default: the key given to `attach`, else the sandbox's first account)."""
        key = api_key or self.api_key
        key_id = key_id_of(key)
        params = {"key_id": key_id} if key_id else {}
        ledger: dict[str, int] = self._call("GET", "/sandbox/account", params=params)
        return ledger

    def stats(self) -> dict[str, int]:
        stats: dict[str, int] = self._call("GET", "/sandbox/stats")
        return stats

    def reset_stats(self) -> None:
        self._call("DELETE", "/sandbox/stats")

    def _change_faults(self, changes: dict[str, float | int]) -> None:
        self._call("POST", "/sandbox/faults", json=changes)

    def stop(self) -> None:
        """Nothing to stop: the sandbox belongs to the process that started it."""

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(
            method,
            self.base_url + path,
            headers={"Authorization": f"Bearer {self.admin_token}"},
            timeout=TIMEOUT_SECONDS,
            **kwargs,
        )
        if response.status_code != 200:
            raise RuntimeError(
                f"sandbox {method} {path} answered {response.status_code}: {response.text[:200]}"
            )
        return response.json()


def attach(
    base_url: str, admin_token: str, *, api_key: str | None = None, allow_remote: bool = False
) -> AttachedSandbox:
    """A handle on the sandbox at `base_url`; fails at once when it is unreachable or the token is wrong.

    Only loopback unless `allow_remote`: a token left in the environment must never be sent to a real
    service's host.
    """
    host = urlsplit(base_url).hostname or ""
    if not allow_remote and not is_loopback(host):
        raise ValueError(
            f"Refusing to send the sandbox admin token to {host!r}: sandboxes run on loopback. "
            "Pass allow_remote=True for a sandbox you started elsewhere with --host."
        )
    return AttachedSandbox(base_url, admin_token, api_key=api_key)
