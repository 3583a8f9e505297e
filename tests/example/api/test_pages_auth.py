"""Bearer tokens: who may read, who may write, and what the access log says about them."""

from __future__ import annotations

import base64
import time
import warnings
from typing import Any

import httpx
import jwt
import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import TEST_SECRET, LogCapture
from tests.example.api.pages_support import (
    PAGES,
    READER,
    WRITER,
    bearer,
    count_pages,
    create_page,
    get_page,
    page_url,
)
from tests.example.scopes import READ_SCOPE, WRITE_SCOPE
from tests.support import assert_problem

NOT_THERE = "cnotthere000000000000000000"

# Every route, with a body valid for it.
ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", PAGES, None),
    ("GET", page_url(NOT_THERE), None),
    ("POST", PAGES, {"title": "x"}),
    ("PUT", page_url(NOT_THERE), {"title": "x"}),
    ("PATCH", page_url(NOT_THERE), {"title": "x"}),
    ("DELETE", page_url(NOT_THERE), None),
]
WRITE_ROUTES = [route for route in ROUTES if route[0] != "GET"]
READ_ROUTES = [route for route in ROUTES if route[0] == "GET"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(claims: dict[str, Any]) -> str:
    """A token with `alg: none` and no signature, crafted by hand."""
    header = _b64(orjson.dumps({"alg": "none", "typ": "JWT"}))
    return f"{header}.{_b64(orjson.dumps(claims))}."


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    values: dict[str, Any] = {
        "sub": "mallory",
        "scope": f"{READ_SCOPE} {WRITE_SCOPE}",
        "iat": now,
        "exp": now + 600,
    }
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


def signed(payload: dict[str, Any], key: str = TEST_SECRET, algorithm: str = "HS256") -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyJWT finds the key short for HS512; so be it
        return jwt.encode(payload, key, algorithm=algorithm)  # pyright: ignore[reportUnknownMemberType]


BAD_TOKENS: dict[str, str] = {
    "wrong key": signed(claims(), key="another-secret-key-of-sufficient-length-42"),
    "expired": signed(claims(exp=int(time.time()) - 60)),
    "alg none": unsigned_token(claims()),
    "alg none, upper case": unsigned_token(claims()).replace(
        _b64(orjson.dumps({"alg": "none", "typ": "JWT"})),
        _b64(orjson.dumps({"alg": "NONE", "typ": "JWT"})),
    ),
    "HS512": signed(claims(), algorithm="HS512"),
    "no exp": signed(claims(exp=None)),
    "no sub": signed(claims(sub=None)),
    "empty sub": signed(claims(sub="")),
    "not yet valid": signed(claims(nbf=int(time.time()) + 600)),
    "signature stripped": signed(claims()).rsplit(".", 1)[0] + ".",
    "garbage": "not-a-jwt",
    "two parts": "abc.def",
}


# ---------------------------------------------------------------------------- 401 and 403


@pytest.mark.parametrize(("method", "url", "body"), ROUTES)
async def test_every_route_without_a_token_returns_401_with_a_bearer_challenge(
    client: httpx.AsyncClient, method: str, url: str, body: Any
) -> None:
    response = await client.request(method, url, json=body)

    problem = assert_problem(response, 401)
    assert problem["code"] == "unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer ")
    assert 'realm="app-api"' in response.headers["www-authenticate"]


@pytest.mark.parametrize("name", list(BAD_TOKENS))
async def test_a_bad_token_returns_401_with_invalid_token_challenge(
    client: httpx.AsyncClient, name: str
) -> None:
    response = await client.get(PAGES, headers={"Authorization": f"Bearer {BAD_TOKENS[name]}"})

    assert_problem(response, 401)
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="invalid_token"' in challenge


@pytest.mark.parametrize("name", ["wrong key", "alg none", "no exp", "expired"])
async def test_a_bad_token_cannot_write(
    client: httpx.AsyncClient, engine: AsyncEngine, name: str
) -> None:
    response = await client.post(
        PAGES, json={"title": "x"}, headers={"Authorization": f"Bearer {BAD_TOKENS[name]}"}
    )

    assert_problem(response, 401)
    assert await count_pages(engine) == 0


@pytest.mark.parametrize(
    "authorization",
    ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Token abc", READER["Authorization"].split()[1]],
)
async def test_a_malformed_authorization_header_returns_401(
    client: httpx.AsyncClient, authorization: str
) -> None:
    response = await client.get(PAGES, headers={"Authorization": authorization})

    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_the_problem_for_an_expired_token_says_so(client: httpx.AsyncClient) -> None:
    response = await client.get(PAGES, headers=bearer(READ_SCOPE, expires_in=-5))

    body = assert_problem(response, 401)
    assert "expired" in body["detail"]


async def test_the_problem_for_a_token_without_exp_names_the_claim(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(PAGES, headers={"Authorization": f"Bearer {BAD_TOKENS['no exp']}"})

    body = assert_problem(response, 401)
    assert "exp" in body["detail"]


@pytest.mark.parametrize(("method", "url", "body"), ROUTES)
async def test_a_token_without_page_scopes_returns_403_on_every_route(
    client: httpx.AsyncClient, method: str, url: str, body: Any
) -> None:
    response = await client.request(method, url, json=body, headers=bearer("profile:read"))

    problem = assert_problem(response, 403)
    assert problem["code"] == "forbidden"


@pytest.mark.parametrize(("method", "url", "body"), WRITE_ROUTES)
async def test_read_scope_cannot_write(
    client: httpx.AsyncClient, engine: AsyncEngine, method: str, url: str, body: Any
) -> None:
    page = await create_page(client, title="Existing")
    url = url.replace(NOT_THERE, page["id"])

    response = await client.request(method, url, json=body, headers=READER)

    problem = assert_problem(response, 403)
    assert WRITE_SCOPE in problem["detail"]
    assert await count_pages(engine) == 1
    assert (await get_page(client, page["id"])).json() == page


@pytest.mark.parametrize(("method", "url", "body"), READ_ROUTES)
async def test_write_scope_implies_read(
    client: httpx.AsyncClient, method: str, url: str, body: Any
) -> None:
    page = await create_page(client)
    url = url.replace(NOT_THERE, page["id"])

    response = await client.request(method, url, headers=WRITER)

    assert response.status_code == 200


async def test_scope_claim_as_a_list_is_accepted(client: httpx.AsyncClient) -> None:
    token = signed(claims(scope=[READ_SCOPE]))

    response = await client.get(PAGES, headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200


async def test_authentication_is_checked_before_the_body_is_validated(
    client: httpx.AsyncClient,
) -> None:
    anonymous = await client.post(PAGES, json={"nonsense": True})
    reader = await client.post(PAGES, json={"nonsense": True}, headers=READER)

    assert_problem(anonymous, 401)
    assert_problem(reader, 403)


# ------------------------------------------------------------------------------ access log


async def test_access_log_names_the_token_subject_as_actor_and_never_the_token(
    client: httpx.AsyncClient, logs: LogCapture
) -> None:
    headers = bearer(READ_SCOPE, WRITE_SCOPE, subject="user_ada")
    token = headers["Authorization"].removeprefix("Bearer ")

    created = await client.post(PAGES, json={"title": "Logged"}, headers=headers)
    await client.get(PAGES, headers=headers)

    access = [
        record
        for record in logs.records
        if record.get("path", "").startswith(PAGES) and "status" in record
    ]
    assert {(record["method"], record["status"]) for record in access} >= {
        ("POST", 201),
        ("GET", 200),
    }
    assert all(record["actor"] == "user_ada" for record in access)
    post = next(record for record in access if record["method"] == "POST")
    assert post["requestId"] == created.headers["x-request-id"]
    assert token not in logs.text
    assert token.split(".")[2] not in logs.text


async def test_access_log_of_a_rejected_token_has_no_actor_and_no_token(
    client: httpx.AsyncClient, logs: LogCapture
) -> None:
    token = BAD_TOKENS["wrong key"]

    await client.get(PAGES, headers={"Authorization": f"Bearer {token}"})

    access = [record for record in logs.records if record.get("status") == 401]
    assert access
    assert access[-1]["actor"] is None
    assert token not in logs.text
    assert token.split(".")[2] not in logs.text


async def test_access_log_of_a_forbidden_write_names_the_actor(
    client: httpx.AsyncClient, logs: LogCapture
) -> None:
    await client.post(PAGES, json={"title": "x"}, headers=bearer(READ_SCOPE, subject="reader_1"))

    access = [record for record in logs.records if record.get("status") == 403]
    assert access
    assert access[-1]["actor"] == "reader_1"
