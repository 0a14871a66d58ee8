"""The unit tests' socket guard (tests/unit/conftest.py) refuses the network, loudly, and nothing else."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import httpx
import pytest

from tests._network_guard import NetworkInUnitTest, refusing_network


def test_connecting_to_a_server_is_refused_with_where_to_put_the_test() -> None:
    with pytest.raises(NetworkInUnitTest, match="tests/loopback"):
        socket.create_connection(("127.0.0.1", 9), timeout=1)


def test_listening_is_refused() -> None:
    with socket.socket() as sock, pytest.raises(NetworkInUnitTest):
        sock.bind(("127.0.0.1", 0))


def test_an_http_client_gets_no_connection_error_it_could_retry() -> None:
    with pytest.raises(NetworkInUnitTest):
        httpx.get("http://127.0.0.1:9/", timeout=1)


def test_a_refused_attempt_is_recorded_even_when_the_code_swallows_it() -> None:
    with refusing_network() as attempts, contextlib.suppress(Exception):
        socket.create_connection(("127.0.0.1", 9), timeout=1)
    assert attempts == ["connect ('127.0.0.1', 9)"]


async def test_unix_socket_pairs_and_the_event_loop_still_work() -> None:
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"x")
        assert right.recv(1) == b"x"
    await asyncio.sleep(0)
