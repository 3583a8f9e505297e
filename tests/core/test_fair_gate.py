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
