"""Unit tests: pure logic with fakes (respx, `httpx.MockTransport`, in-memory stores), no server. Every
phase of every test here (setup, call, teardown) runs under the socket guard of `tests/_network_guard.py`:
a network connect or bind fails the test, even when the code under test swallows the error."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import contextmanager

import pytest

from tests._network_guard import refusing_network


@contextmanager
def _no_network(item: pytest.Item, phase: str) -> Iterator[None]:
    with refusing_network() as attempts:
        yield
    if attempts:
        pytest.fail(f"{item.nodeid} used the network in {phase}: {', '.join(attempts)}", pytrace=False)


# A conftest's runtest hooks run for the tests in its folder only.
@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    with _no_network(item, "setup"):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    with _no_network(item, "the test"):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    with _no_network(item, "teardown"):
        return (yield)
