"""`@default(now())` and `@updatedAt` as Prisma sets them: one instant on create, then advancing."""

from __future__ import annotations

import asyncio
from datetime import datetime

import httpx

from tests.machinery.support import ALL, API, new_account, ok


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value.removesuffix("Z"))


async def test_create_gives_created_and_updated_the_same_instant(mx: httpx.AsyncClient) -> None:
    for n in range(20):  # the clock moves on between two readings now and then
        account = await new_account(mx, f"{n}@example.com")
        assert account["createdAt"] == account["updatedAt"]
        stored = ok(await mx.get(f"{API}/accounts/{account['id']}", headers=ALL))
        assert stored["createdAt"] == stored["updatedAt"] == account["createdAt"]


async def test_update_advances_updated_at_only(mx: httpx.AsyncClient) -> None:
    account = await new_account(mx, "a@example.com")
    await asyncio.sleep(0.01)
    url = f"{API}/accounts/{account['id']}"
    updated = ok(await mx.patch(url, json={"name": "n"}, headers=ALL))
    assert updated["createdAt"] == account["createdAt"]
    assert instant(updated["updatedAt"]) > instant(account["updatedAt"])
    await asyncio.sleep(0.01)
    replaced = ok(await mx.put(url, json={"email": "a@example.com"}, headers=ALL))
    assert replaced["createdAt"] == account["createdAt"]
    assert instant(replaced["updatedAt"]) > instant(updated["updatedAt"])
