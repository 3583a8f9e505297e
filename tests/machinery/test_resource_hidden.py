"""Hidden fields: never served, included, documented, filtered, ordered on or accepted (unless
also writable: tests/machinery/test_resource_write_only.py)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.resource import Resource, ResourceError, equals
from tests.machinery.fixture.models import Account
from tests.machinery.support import ALL, API, new_account, new_post, ok, problem, sql

SECRETS = {"password", "twoFactorSecret"}


async def test_hidden_fields_never_go_out(mx: httpx.AsyncClient, mx_engine: AsyncEngine) -> None:
    account = await new_account(mx, "a@example.com")
    await sql(
        mx_engine,
        'UPDATE mx_account SET password = :p, "twoFactorSecret" = :s',
        p="pw-value-never-served",  # not a few letters a cuid could contain
        s="2fa-value-never-served",
    )
    post = await new_post(mx, account["id"])
    one = await mx.get(f"{API}/accounts/{account['id']}", headers=ALL)
    listed = await mx.get(f"{API}/accounts/", headers=ALL)
    included = await mx.get(f"{API}/posts/{post['id']}", params={"include": "author"}, headers=ALL)
    listed_included = await mx.get(
        f"{API}/posts/", params={"include": "author,reviewer"}, headers=ALL
    )
    for response in (one, listed, included, listed_included):
        assert response.status_code == 200
        assert b"pw-value-never-served" not in response.content
        assert b"2fa-value-never-served" not in response.content
    assert not SECRETS & set(ok(one))
    assert not SECRETS & set(ok(included)["author"])
    updated = await mx.patch(f"{API}/accounts/{account['id']}", json={"name": "n"}, headers=ALL)
    assert not SECRETS & set(ok(updated))


async def test_hidden_fields_are_not_accepted_filtered_or_ordered(mx: httpx.AsyncClient) -> None:
    account = await new_account(mx, "a@example.com")
    problem(
        await mx.post(
            f"{API}/accounts/", json={"email": "b@example.com", "password": "x"}, headers=ALL
        ),
        422,
    )
    problem(
        await mx.patch(f"{API}/accounts/{account['id']}", json={"password": "x"}, headers=ALL), 422
    )
    problem(await mx.get(f"{API}/accounts/", params={"password": "x"}, headers=ALL), 422)
    problem(await mx.get(f"{API}/accounts/", params={"orderBy": "password"}, headers=ALL), 422)


async def test_hidden_fields_are_not_in_openapi(mx: httpx.AsyncClient) -> None:
    document = ok(await mx.get(f"{API}/openapi.json"))
    schemas = document["components"]["schemas"]
    for name in (
        "Account",
        "AccountCreate",
        "AccountUpdate",
        "AccountReplace",
        "AccountWithRelations",
    ):
        assert not SECRETS & set(schemas[name]["properties"]), name
    parameters = document["paths"]["/api/v1/accounts/"]["get"]["parameters"]
    assert not SECRETS & {p["name"] for p in parameters}
    assert "password" not in str(parameters)


@pytest.mark.parametrize(
    "role",
    [
        {"derived": ("password",)},  # hidden and not writable: no body carries it
        {"types": {"password": str}},
        {"orderings": ("password",)},
        {"filters": {"password": equals()}},
        {"hidden": ("id",)},
        {"hidden": ("nope",)},
    ],
)
def test_a_declaration_naming_a_hidden_field_fails(role: dict[str, object]) -> None:
    hidden = role.pop("hidden", ("password",))
    with pytest.raises(ResourceError, match=r"password|id|nope"):
        Resource(model=Account, segment="hidden-check", hidden=hidden, **role).check()  # type: ignore[arg-type]
