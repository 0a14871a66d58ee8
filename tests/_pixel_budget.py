"""What the pixel-budget tests share: a loopback CDN of large, cheap-to-send PNGs, and a wrapper that counts
how many decodes run at once. Thumbnails and previews wait for the same budget, so both are tested alike."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from PIL import Image

from tests._hostile import Request, hostile_server, response
from tests._images import encode

BIG = 2000  # a side: 4 Mpx decoded, a few KB on the wire


@contextmanager
def big_pngs(count: int) -> Iterator[str]:
    """A loopback server whose `{base_url}/{i}` is a BIG x BIG PNG (a different one for each i < count)."""
    pngs = [encode(Image.new("RGB", (BIG, BIG), (i * 30, 0, 0)), "PNG") for i in range(count)]

    def cdn(request: Request, sock: socket.socket) -> None:
        sock.sendall(response(200, pngs[int(request.path.rsplit("/", 1)[1])], {"Content-Type": "image/png"}))

    with hostile_server(cdn) as server:
        yield server.base_url


def peak_calls(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> Callable[[], int]:
    """Replace `owner.name` by itself held 50 ms per call; the returned function tells the most calls that
    ran at once (long enough a hold for the other downloads to arrive meanwhile)."""
    real = getattr(owner, name)
    active = peak = 0
    guard = threading.Lock()

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal active, peak
        with guard:
            active += 1
            peak = max(peak, active)
        try:
            time.sleep(0.05)
            return real(*args, **kwargs)
        finally:
            with guard:
                active -= 1

    monkeypatch.setattr(owner, name, counting)
    return lambda: peak
