"""The async client over real loopback HTTP to a sandbox."""

from __future__ import annotations

import asyncio
from typing import Any

from qamera_widgets import (
    AsyncQameraClient,
)
from tests.unit.test_client_http import fresh_rate_windows  # noqa: F401 (an autouse fixture)


def test_client_rebuilds_its_pool_when_the_event_loop_changes(sandbox: Any) -> None:
    # A real keep-alive server: a pool reused on a new loop fails with "Event loop is closed".
    client = AsyncQameraClient(sandbox.api_key, sandbox.base_url, rate_limit_per_minute=None)
    first = asyncio.run(client.list_sceneries())
    second = asyncio.run(client.list_sceneries())
    assert len(first) == len(second) > 0
