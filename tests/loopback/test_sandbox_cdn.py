"""The CDN origin: thumbnails as cached JPEGs on their own port, the credential counter, latency that
blocks nobody else, and pictures that are the same for the same seed."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image

from qamera_widgets.sandbox import Sandbox

LIST = "/api/external/sceneries"
REGISTER = "/api/external/sceneries/register-ideas"

MakeSandbox = Callable[..., Sandbox]
WaitTerminal = Callable[..., dict[str, dict[str, Any]]]


def listed(sandbox: Sandbox) -> list[dict[str, Any]]:
    response = httpx.get(sandbox.base_url + LIST, headers={"X-Api-Key": sandbox.api_key}, timeout=10)
    items: list[dict[str, Any]] = response.json()["sceneries"]
    return items


@pytest.mark.shared_sandbox
def test_thumbnail_is_a_768_jpeg_with_etag_and_long_cache(sandbox: Sandbox) -> None:
    url = listed(sandbox)[0]["thumbnail"]
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(response.content))
    assert (image.format, image.size) == ("JPEG", (768, 768))
    etag = response.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    assert "max-age=31536000" in response.headers["cache-control"]
    assert "public" in response.headers["cache-control"]
    again = httpx.get(url, headers={"If-None-Match": etag}, timeout=10)
    assert again.status_code == 304 and again.headers["etag"] == etag and again.content == b""
    assert httpx.get(url, headers={"If-None-Match": '"other"'}, timeout=10).status_code == 200


@pytest.mark.shared_sandbox
def test_thumbnails_live_on_their_own_origin(sandbox: Sandbox) -> None:
    item = listed(sandbox)[0]
    api, cdn = urlsplit(sandbox.base_url), urlsplit(item["thumbnail"])
    assert cdn.port != api.port and item["thumbnail"].startswith(sandbox.cdn_url + "/sceneries/")
    on_api = httpx.get(f"{sandbox.base_url}{cdn.path}", headers={"X-Api-Key": sandbox.api_key})
    assert on_api.status_code == 404 and on_api.json() == {"error": "Not found."}


def test_unknown_and_unfinished_sceneries_are_404(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox(processing_seconds=(30, 30), library=1)
    pending = httpx.post(
        sandbox.base_url + REGISTER,
        json={"preferences": "white", "count": 1},
        headers={"X-Api-Key": sandbox.api_key},
    ).json()["createdRecordIds"][0]
    for path in (f"/sceneries/{pending}.jpg", "/sceneries/nope.jpg", "/sceneries/", "/elsewhere"):
        response = httpx.get(sandbox.cdn_url + path, timeout=10)
        assert response.status_code == 404 and response.json() == {"error": "Not found."}


def test_cdn_counts_requests_that_carry_credentials(sandbox: Sandbox) -> None:
    url = listed(sandbox)[0]["thumbnail"]
    sandbox.reset_stats()
    httpx.get(url, timeout=30)
    httpx.get(url, timeout=10)
    assert (sandbox.stats()["cdn_requests"], sandbox.stats()["cdn_requests_with_credentials"]) == (2, 0)
    httpx.get(url, headers={"X-Api-Key": sandbox.api_key}, timeout=10)
    httpx.get(url, headers={"Authorization": f"Bearer {sandbox.api_key}"}, timeout=10)
    httpx.get(sandbox.cdn_url + "/nothing", headers={"Authorization": "Basic eDp5"}, timeout=10)
    assert (sandbox.stats()["cdn_requests"], sandbox.stats()["cdn_requests_with_credentials"]) == (5, 3)
    assert sandbox.stats()["api_requests"] == 0


def test_each_picture_is_rendered_once_and_cached_in_the_data_dir(sandbox: Sandbox) -> None:
    url = listed(sandbox)[0]["thumbnail"]

    async def fetch_many() -> list[bytes]:
        async with httpx.AsyncClient(timeout=30) as client:
            return [r.content for r in await asyncio.gather(*(client.get(url) for _ in range(6)))]

    bodies = asyncio.run(fetch_many())
    assert len(set(bodies)) == 1
    assert sandbox.stats()["cdn_renders"] == 1
    assert len(list((sandbox.data_dir / "renders").glob("*.jpg"))) == 1
    assert httpx.get(url, timeout=10).content == bodies[0]
    assert sandbox.stats()["cdn_renders"] == 1


def test_cdn_latency_does_not_block_other_requests(sandbox: Sandbox) -> None:
    items = listed(sandbox)
    httpx.get(items[0]["thumbnail"], timeout=30)
    sandbox.set_faults(cdn_latency_ms=600)

    async def race() -> tuple[float, float]:
        async with httpx.AsyncClient(timeout=30) as client:
            started = time.monotonic()
            slow = [asyncio.create_task(client.get(items[0]["thumbnail"])) for _ in range(8)]
            await asyncio.sleep(0.05)
            api = await client.get(sandbox.base_url + LIST, headers={"X-Api-Key": sandbox.api_key})
            api_elapsed = time.monotonic() - started
            assert api.status_code == 200
            assert {r.status_code for r in await asyncio.gather(*slow)} == {200}
            return api_elapsed, time.monotonic() - started

    api_elapsed, all_elapsed = asyncio.run(race())
    assert api_elapsed < 0.5
    assert 0.6 <= all_elapsed < 2.0


def test_cdn_error_fault(sandbox: Sandbox) -> None:
    url = listed(sandbox)[0]["thumbnail"]
    sandbox.set_faults(cdn_error_rate=1.0)
    response = httpx.get(url, timeout=10)
    assert response.status_code == 500 and response.json() == {"error": "Internal server error."}
    sandbox.set_faults(cdn_error_rate=0.0)
    assert httpx.get(url, timeout=30).status_code == 200


def test_library_of_200_starts_fast_and_renders_lazily(make_sandbox: MakeSandbox) -> None:
    started = time.monotonic()
    sandbox = make_sandbox(library=200)
    assert time.monotonic() - started < 2.0
    items = listed(sandbox)
    assert len(items) == 200 and sandbox.stats()["cdn_renders"] == 0
    assert httpx.get(items[-1]["thumbnail"], timeout=30).status_code == 200


def _outcomes_and_pictures(sandbox: Sandbox, wait: WaitTerminal) -> list[tuple[str, bytes | None]]:
    ids = httpx.post(
        sandbox.base_url + REGISTER,
        json={"preferences": "terrazzo floor by a window", "count": 6},
        headers={"X-Api-Key": sandbox.api_key},
    ).json()["createdRecordIds"]
    records = wait(sandbox, ids)
    return [
        (
            records[i]["status"],
            httpx.get(records[i]["thumbnail"], timeout=30).content
            if records[i]["status"] == "DONE"
            else None,
        )
        for i in ids
    ]


def test_same_seed_gives_the_same_outcomes_and_pictures(
    make_sandbox: MakeSandbox, wait_until_terminal: WaitTerminal
) -> None:
    options = {"seed": 77, "failure_rate": 0.4, "library": 2}
    first = _outcomes_and_pictures(make_sandbox(**options), wait_until_terminal)
    second = _outcomes_and_pictures(make_sandbox(**options), wait_until_terminal)
    assert first == second
    statuses = [status for status, _ in first]
    assert "DONE" in statuses and "FAILED" in statuses
    pictures = [picture for _, picture in first if picture is not None]
    assert len(set(pictures)) == len(pictures), "items of one batch are variations, not copies"


@pytest.mark.shared_sandbox
@pytest.mark.parametrize("sandbox", [{"library": 12}], indirect=True)
def test_library_pictures_differ_from_each_other(sandbox: Sandbox) -> None:
    pictures = [httpx.get(item["thumbnail"], timeout=30).content for item in listed(sandbox)[:6]]
    assert len(set(pictures)) == 6
