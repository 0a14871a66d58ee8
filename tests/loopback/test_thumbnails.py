"""The thumbnail loader over real loopback connections: keep-alive across event loops, the sandbox CDN."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from qamera_widgets.engine.pictures.loader import ThumbnailLoader
from qamera_widgets.sandbox import Sandbox
from tests.helpers.listing import thumbnail_urls
from tests.unit.test_thumbnails import PHOTO, decoded


class _KeepAliveImages(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(PHOTO)))
        self.end_headers()
        self.wfile.write(PHOTO)

    def log_message(self, format: str, *args: object) -> None:
        return None

    def finish(self) -> None:
        super().finish()
        type(self).connections_closed += 1

    connections_closed = 0


@pytest.fixture
def keepalive_server() -> Iterator[str]:
    """A real loopback server holding connections open, so a pooled socket would outlive its loop."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _KeepAliveImages)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_loader_survives_being_used_from_two_event_loops_in_a_row(keepalive_server: str) -> None:
    loader = ThumbnailLoader(timeout=5.0, retries=0)

    first = asyncio.run(loader.load(f"{keepalive_server}/one.jpg"))
    second = asyncio.run(loader.load(f"{keepalive_server}/two.jpg"))
    third = asyncio.run(loader.load(f"{keepalive_server}/one.jpg"))

    assert first.placeholder is None and second.placeholder is None
    assert third.source_bytes == 0
    assert loader.stats["failures"] == 0 and loader.stats["downloads"] == 2
    asyncio.run(loader.aclose())


def test_aclose_closes_the_connections_of_a_loop_running_in_another_thread(keepalive_server: str) -> None:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    loader = ThumbnailLoader(timeout=5.0, retries=0)
    closed_before = _KeepAliveImages.connections_closed
    try:
        thumb = asyncio.run_coroutine_threadsafe(loader.load(f"{keepalive_server}/one.jpg"), loop).result(10)
        assert thumb.placeholder is None
        asyncio.run(loader.aclose())
        waited = 0
        while _KeepAliveImages.connections_closed == closed_before and waited < 100:
            time.sleep(0.05)
            waited += 1
        assert _KeepAliveImages.connections_closed > closed_before, "the pooled connection stayed open"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def _sandbox_thumbnail_urls(sb: Sandbox) -> list[str]:
    return thumbnail_urls(sb, timeout=10)


async def test_real_thumbnails_from_the_sandbox_cdn_carry_no_credentials(sandbox: Sandbox) -> None:
    urls = _sandbox_thumbnail_urls(sandbox)
    assert len(urls) >= 10
    loader = ThumbnailLoader(size=176)

    thumbs = await asyncio.gather(*(loader.load(url) for url in urls))

    for thumb in thumbs:
        img = decoded(thumb)
        assert thumb.placeholder is None
        assert (img.format, img.size, thumb.format) == ("JPEG", (176, 176), "jpeg")
        assert len(thumb.data) < thumb.source_bytes
    stats = loader.stats
    assert stats["downloads"] == len(urls) and stats["failures"] == 0
    assert sandbox.stats()["cdn_requests"] == len(urls)
    assert sandbox.stats()["cdn_requests_with_credentials"] == 0
    await loader.aclose()


async def test_failing_sandbox_cdn_gives_failed_placeholders(sandbox: Sandbox) -> None:
    urls = _sandbox_thumbnail_urls(sandbox)[:3]
    sandbox.set_faults(cdn_error_rate=1.0)
    loader = ThumbnailLoader(retries=1, retry_backoff=0.0)

    thumbs = await asyncio.gather(*(loader.load(url) for url in urls))

    assert [t.placeholder for t in thumbs] == ["failed"] * 3
    assert sandbox.stats()["cdn_requests"] == 6, "one retry per 500"
    await loader.aclose()
