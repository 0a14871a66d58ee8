"""The sandbox's library as the API lists it, for benchmarks and tests that need its pictures' URLs
before (or without) any widget: one GET with the sandbox's own key."""

from __future__ import annotations

from typing import Any

import httpx

from qamera_widgets.sandbox import Sandbox


def listed_sceneries(sandbox: Sandbox, timeout: float = 30) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{sandbox.base_url}/api/external/sceneries", headers={"X-Api-Key": sandbox.api_key}, timeout=timeout
    )
    response.raise_for_status()
    sceneries: list[dict[str, Any]] = response.json()["sceneries"]
    return sceneries


def thumbnail_urls(sandbox: Sandbox, timeout: float = 30) -> list[str]:
    return [item["thumbnail"] for item in listed_sceneries(sandbox, timeout) if item.get("thumbnail")]
