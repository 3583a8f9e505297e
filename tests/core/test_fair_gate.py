"""The connection gate admits requests first come, first served, and gives up with a 503."""

from __future__ import annotations

import asyncio

import pytest

from app.core.db import FairGate
from app.core.errors import ServiceUnavailableError


async def test_waiters_are_admitted_in_arrival_order() -> None:
    gate = FairGate(size=1, timeout=5)
    admitted: list[int] = []
    release = asyncio.Event()

    async def holder() -> None:
        async with gate.slot():
            await release.wait()

    async def request(n: int) -> None:
        async with gate.slot():
            admitted.append(n)
            await asyncio.sleep(0)

    first = asyncio.create_task(holder())
    await asyncio.sleep(0)
    waiters = []
    for n in range(5):
        waiters.append(asyncio.create_task(request(n)))
        await asyncio.sleep(0)
    release.set()
    await asyncio.gather(first, *waiters)
    assert admitted == [0, 1, 2, 3, 4]


async def test_a_full_gate_answers_busy_after_the_timeout() -> None:
    gate = FairGate(size=1, timeout=0.05)
    async with gate.slot():
        with pytest.raises(ServiceUnavailableError, match="connections are busy"):
            async with gate.slot():
                pass
    async with gate.slot():  # the slot was released: the gate works again
        pass


async def test_a_cancelled_waiter_gives_up_its_place_without_losing_a_slot() -> None:
    gate = FairGate(size=1, timeout=5)
    await gate.acquire()
    cancelled = asyncio.create_task(gate.acquire())
    second = asyncio.create_task(gate.acquire())
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.sleep(0)
    gate.release()  # goes to `second`, not to the cancelled waiter
    await asyncio.wait_for(second, 1)
    gate.release()
    await asyncio.wait_for(gate.acquire(), 1)  # one slot, still there
    assert cancelled.cancelled()


async def test_a_slot_handed_to_a_waiter_cancelled_at_that_moment_is_passed_on() -> None:
    gate = FairGate(size=1, timeout=5)
    await gate.acquire()
    first = asyncio.create_task(gate.acquire())
    second = asyncio.create_task(gate.acquire())
    await asyncio.sleep(0)
    gate.release()  # hands the slot to `first`…
    first.cancel()  # …which is cancelled before it runs again
    await asyncio.sleep(0)
    await asyncio.wait_for(second, 1)
    assert first.cancelled()
    gate.release()
    await asyncio.wait_for(gate.acquire(), 1)


async def test_timed_out_waiters_do_not_take_slots_later() -> None:
    gate = FairGate(size=1, timeout=0.02)
    await gate.acquire()
    with pytest.raises(ServiceUnavailableError):
        await gate.acquire()
    gate.release()
    await asyncio.wait_for(gate.acquire(), 1)  # the expired waiter did not swallow the slot
    with pytest.raises(ServiceUnavailableError):
        await gate.acquire()


async def test_each_waiter_times_out_after_its_own_wait_not_the_first_waiters() -> None:
    gate = FairGate(size=1, timeout=0.3)
    await gate.acquire()
    loop = asyncio.get_running_loop()
    first = asyncio.create_task(gate.acquire())
    await asyncio.sleep(0.15)
    second_started = loop.time()
    second = asyncio.create_task(gate.acquire())
    with pytest.raises(ServiceUnavailableError):
        await first
    assert not second.done()  # its own 0.3 s are not over yet
    with pytest.raises(ServiceUnavailableError):
        await second
    assert loop.time() - second_started >= 0.29
    gate.release()
    await asyncio.wait_for(gate.acquire(), 1)  # neither expired waiter kept the slot


async def test_a_waiter_behind_one_that_was_served_still_times_out() -> None:
    gate = FairGate(size=1, timeout=0.1)
    await gate.acquire()
    served = asyncio.create_task(gate.acquire())
    await asyncio.sleep(0)
    waiting = asyncio.create_task(gate.acquire())
    await asyncio.sleep(0)
    gate.release()  # to `served`, the head of the line; `waiting` stays in line
    await asyncio.wait_for(served, 1)
    with pytest.raises(ServiceUnavailableError):
        await asyncio.wait_for(waiting, 1)
