"""A loopback HTTP server that misbehaves on purpose: each test gives it a function that writes whatever raw
bytes it likes (trickles, bombs, redirects, echoes of the key), so the client is tested over a real socket."""

from __future__ import annotations

import json
import socket
import socketserver
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Hostile:
    """The running server: `base_url`, and every request it has seen."""

    base_url: str
    requests: list[Request] = field(default_factory=list)


Answer = Callable[[Request, socket.socket], None]


def response(status: int, body: bytes | Any = b"", headers: dict[str, str] | None = None) -> bytes:
    """A complete HTTP/1.1 response; a non-bytes body is sent as JSON."""
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", **(headers or {})}
    lines = [f"HTTP/1.1 {status} X"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    lines += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1") + body


def _read_request(sock: socket.socket) -> Request | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    method, path, _ = request_line.split(" ", 2)
    return Request(method, path, headers, body)


@contextmanager
def hostile_server(answer: Answer) -> Iterator[Hostile]:
    """Serve `answer(request, socket)` for every request on 127.0.0.1 until the block ends."""
    server_ref: list[Hostile] = []

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            request = _read_request(self.request)
            if request is None:
                return
            server_ref[0].requests.append(request)
            try:
                answer(request, self.request)
            except OSError:
                return  # the client hung up on a trickle: that is the point of most tests here

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    server = Server(("127.0.0.1", 0), Handler)
    hostile = Hostile(f"http://127.0.0.1:{server.server_address[1]}")
    server_ref.append(hostile)
    with served_in_thread(server):
        yield hostile


@contextmanager
def served_in_thread(server: socketserver.BaseServer) -> Iterator[None]:
    """`server` answering on a daemon thread for the block, then shut down, closed and its thread joined."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def replying(data: bytes) -> Answer:
    """An answer that sends the same bytes to every request."""

    def answer(request: Request, sock: socket.socket) -> None:
        sock.sendall(data)

    return answer
