"""The loop rules in `runtime.loops`: rebuild what belongs to a dead loop, close what belongs to a live one
on that loop. (Blocking on the running loop from a cell is covered by tests/system/test_client_sync.py.)"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from itertools import count

import pytest

from qamera_widgets.runtime import loops
from qamera_widgets.runtime.loops import PerLoop


class Thing:
    def __init__(self, number: int) -> None:
        self.number = number
        self.closed_in: int | None = None


def per_loop() -> tuple[PerLoop[Thing], list[Thing]]:
    made: list[Thing] = []
    numbers = count()

    def make() -> Thing:
        made.append(Thing(next(numbers)))
        return made[-1]

    async def close(thing: Thing) -> None:
        thing.closed_in = threading.get_ident()

    return PerLoop(make, close), made


@pytest.fixture
def loop_in_a_thread() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def test_one_thing_per_loop_and_a_new_one_when_its_loop_has_closed() -> None:
    things, made = per_loop()

    async def twice() -> bool:
        return things.get() is things.get()

    assert asyncio.run(twice())
    assert asyncio.run(twice())
    assert [thing.number for thing in made] == [0, 1]
    assert all(thing.closed_in is None for thing in made), "nothing of a dead loop is awaited"


def test_what_belongs_to_a_live_loop_in_another_thread_is_closed_on_that_loop(
    loop_in_a_thread: asyncio.AbstractEventLoop,
) -> None:
    things, made = per_loop()

    async def use() -> int:
        return threading.get_ident()

    async def take() -> Thing:
        return things.get()

    there = asyncio.run_coroutine_threadsafe(use(), loop_in_a_thread).result(5)
    asyncio.run_coroutine_threadsafe(take(), loop_in_a_thread).result(5)
    asyncio.run(things.aclose())
    asyncio.run_coroutine_threadsafe(use(), loop_in_a_thread).result(5)  # the scheduled close ran first
    assert made[0].closed_in == there != threading.get_ident()


def test_a_task_of_another_live_loop_is_cancelled_there_and_one_of_a_closed_loop_is_left(
    loop_in_a_thread: asyncio.AbstractEventLoop,
) -> None:
    async def forever() -> None:
        await asyncio.Event().wait()

    async def start() -> asyncio.Task[None]:
        return asyncio.get_running_loop().create_task(forever())

    task = asyncio.run_coroutine_threadsafe(start(), loop_in_a_thread).result(5)
    assert loops.cancel_on_its_loop(task) is False
    asyncio.run_coroutine_threadsafe(asyncio.sleep(0.05), loop_in_a_thread).result(5)
    assert task.cancelled()

    dead = asyncio.new_event_loop()
    stranded = dead.create_task(forever())
    dead.run_until_complete(asyncio.sleep(0))
    dead.close()
    assert loops.cancel_on_its_loop(stranded) is False and not stranded.cancelled()
