"""What a sandbox handle offers, whichever process runs the sandbox."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Protocol, TypeVar

__all__ = ["HandleBase", "SandboxHandle"]

H = TypeVar("H", bound="HandleBase")


class SandboxHandle(Protocol):
    """`Sandbox` (started in this process by `start()`) and `AttachedSandbox` (started by another
    process, steered over its admin endpoints by `attach()`) both offer this; code that only reads the
    account and stats, or issues keys, takes either. Both share `HandleBase`."""

    base_url: str
    cdn_url: str
    admin_token: str
    api_keys: list[str]

    @property
    def api_key(self) -> str | None: ...

    @property
    def data_dir(self) -> Path | None: ...

    def issue_key(self, credits: int = ..., scopes: Sequence[str] = ...) -> str: ...

    def account(self, api_key: str | None = None) -> dict[str, int]: ...

    def stats(self) -> dict[str, int]: ...

    def reset_stats(self) -> None: ...

    def stop(self) -> None:
        """Stop a sandbox this process started; leave one another process runs."""

    def __enter__(self) -> SandboxHandle: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class HandleBase:
    """What both handles do alike: `with` stops the handle at the end, and `set_faults` checks nothing
    itself, each handle saying in `_change_faults` how the changes reach its sandbox (and `stop` what
    stopping means for it)."""

    def __enter__(self: H) -> H:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self) -> None:
        raise NotImplementedError

    def set_faults(
        self,
        *,
        api_error_rate: float | None = None,
        api_latency_ms: float | None = None,
        cdn_error_rate: float | None = None,
        cdn_latency_ms: float | None = None,
        drop_after_register: int | None = None,
    ) -> None:
        """Change the injected faults; None leaves one as it is."""
        changes = {
            "api_error_rate": api_error_rate,
            "api_latency_ms": api_latency_ms,
            "cdn_error_rate": cdn_error_rate,
            "cdn_latency_ms": cdn_latency_ms,
            "drop_after_register": drop_after_register,
        }
        self._change_faults({name: value for name, value in changes.items() if value is not None})

    def _change_faults(self, changes: dict[str, float | int]) -> None:
        raise NotImplementedError
