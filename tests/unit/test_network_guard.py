"""The unit tests' socket guard refuses the network, loudly, and nothing else. Each check runs a guard of its
own inside the one tests/unit/conftest.py puts around every unit test, so the refusals it provokes on
purpose are not held against the test itself."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import httpx
import pytest

from tests._network_guard import NetworkInUnitTest, refusing_network


def test_every_unit_test_runs_under_the_guard() -> None:
    assert socket.socket.connect.__name__ == "guarded"
    assert socket.socket.bind.__name__ == "guarded"


def test_connecting_to_a_server_is_refused_with_where_to_put_the_test() -> None:
    with refusing_network() as attempts, pytest.raises(NetworkInUnitTest, match="tests/loopback"):
        socket.create_connection(("127.0.0.1", 9), timeout=1)
    assert attempts == ["connect ('127.0.0.1', 9)"]


def test_listening_is_refused() -> None:
    with refusing_network() as attempts, socket.socket() as sock, pytest.raises(NetworkInUnitTest):
        sock.bind(("127.0.0.1", 0))
    assert attempts == ["bind ('127.0.0.1', 0)"]


def test_an_http_client_gets_no_connection_error_it_could_retry() -> None:
    with refusing_network(), pytest.raises(NetworkInUnitTest):
        httpx.get("http://127.0.0.1:9/", timeout=1)


def test_a_refused_attempt_is_recorded_even_when_the_code_swallows_it() -> None:
    with refusing_network() as attempts, contextlib.suppress(Exception):
        socket.create_connection(("127.0.0.1", 9), timeout=1)
    assert attempts == ["connect ('127.0.0.1', 9)"]


def test_the_socket_methods_come_back_when_a_guard_ends() -> None:
    guarded = socket.socket.connect
    with refusing_network():
        assert socket.socket.connect is not guarded
    assert socket.socket.connect is guarded


async def test_unix_socket_pairs_and_the_event_loop_still_work() -> None:
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"x")
        assert right.recv(1) == b"x"
    await asyncio.sleep(0)
