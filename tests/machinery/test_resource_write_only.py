"""Write-only fields: hidden and writable (a password hash the caller sets). Accepted in create,
replace and update bodies and documented there; never returned, included, filtered, ordered on,
echoed in an error or logged."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from app.main import create_app
from app.resource import Resource, register
from tests.conftest import LogCapture, app_client, make_settings, running
from tests.machinery.fixture.models import Account
from tests.machinery.support import API, ok, problem, sql
from tests.support import bearer

MEMBERS = Resource(
    model=Account,
    segment="members",
    writable=("email", "name", "password"),
    hidden=("password", "twoFactorSecret"),
    orderings=("email",),
)
TOKEN = bearer("members:write")
URL = f"{API}/members/"
HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$written-only-value"


@pytest.fixture
async def members(machinery_url: str, mx: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """An app serving accounts with a write-only password, on the (emptied) fixture database."""
    application: FastAPI = create_app(
        make_settings(DATABASE_URL=machinery_url), resources=register(MEMBERS)
    )
    async with running(application), await app_client(application) as client:
        yield client


async def stored(engine: AsyncEngine, account_id: str) -> str | None:
    rows = await sql(engine, "SELECT password FROM mx_account WHERE id = :id", id=account_id)
    return rows[0]["password"]


async def test_accepted_on_every_write_and_never_returned(
    members: httpx.AsyncClient, mx_engine: AsyncEngine, logs: LogCapture
) -> None:
    body = {"email": "a@example.com", "password": HASH}
    created = ok(await members.post(URL, json=body, headers=TOKEN), 201)
    assert "password" not in created
    assert "twoFactorSecret" not in created
    assert await stored(mx_engine, created["id"]) == HASH

    item = f"{URL}{created['id']}"
    patched = ok(await members.patch(item, json={"password": HASH + "-2"}, headers=TOKEN))
    assert "password" not in patched
    assert await stored(mx_engine, created["id"]) == HASH + "-2"

    # A full replace resets what it omits, a write-only field included (Prisma's default: null).
    replaced = ok(await members.put(item, json={"email": "a@example.com"}, headers=TOKEN))
    assert "password" not in replaced
    assert await stored(mx_engine, created["id"]) is None

    for response in (
        await members.get(item, headers=TOKEN),
        await members.get(URL, headers=TOKEN),
    ):
        assert response.status_code == 200
        assert "password" not in response.text
    assert HASH not in logs.text


async def test_refused_values_are_not_echoed(members: httpx.AsyncClient) -> None:
    body = {"email": "b@example.com", "password": HASH, "twoFactorSecret": "x"}
    refused = await members.post(URL, json=body, headers=TOKEN)
    detail = problem(refused, 422)
    assert "twoFactorSecret" in str(detail)  # hidden and not writable: still refused
    assert HASH not in refused.text
    wrong = await members.post(URL, json={"email": 7, "password": HASH}, headers=TOKEN)
    problem(wrong, 422)
    assert HASH not in wrong.text


async def test_never_filtered_or_ordered_on(members: httpx.AsyncClient) -> None:
    problem(await members.get(URL, params={"password": HASH}, headers=TOKEN), 422)
    problem(await members.get(URL, params={"orderBy": "password"}, headers=TOKEN), 422)


async def test_documented_on_input_only(members: httpx.AsyncClient) -> None:
    schemas = ok(await members.get(f"{API}/openapi.json"))["components"]["schemas"]
    for name in ("AccountCreate", "AccountReplace", "AccountUpdate"):
        assert "Write-only" in schemas[name]["properties"]["password"]["description"], name
        assert "twoFactorSecret" not in schemas[name]["properties"], name
    assert "password" not in schemas["Account"]["properties"]
