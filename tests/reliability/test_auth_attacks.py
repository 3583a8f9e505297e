"""Attacks on the bearer tokens, on scopes and on CORS: the right status, never a 5xx."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from tests.machinery.fixture.resources import SCOPES
from tests.reliability.support import (
    ARTICLES,
    READ_SCOPE,
    REL_SECRET,
    WATCH,
    WRITE_SCOPE,
    assert_problem,
    auth,
    client_for,
    rel_settings,
    running_app,
    token,
)

# Any RSA public key: what an attacker would try as an HMAC secret (RS256/HS256 confusion).
PUBLIC_KEY_PEM = """-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAnLkpUIQqGakHqDvnOLij
QTlY+T9JK2wTC9XF2yoB9hGnff8GnVZmH6IPDiw2ur7TIwWrExYDBRMISSrX/F1l
MN8dCRRcLMAKF7+MlxAHZedU9io9W43/3I5mQYZEhxEFqQVcnwM2bGXoJMsiKHK8
6q6vXb6JsPa5EpLjlNEjqjWR3tq7NR5KfBgnoYFCXqXnIBazEiVFtjbKBmQjVfQy
nNA3w/FcLvXBqa0p5IihNqn/4Bbu/iZmcz5fcOnOeXwKN9lsM6cwdQXVPgAUPz1W
LotCwtxAdwZpm/2A0p+41oXUTz+/fsY1O5JCsyCikBkB1aZNGEX9ywWq8OAR3ntk
SwIDAQAB
-----END PUBLIC KEY-----
"""


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    values: dict[str, Any] = {
        "sub": "attacker",
        "scope": f"{READ_SCOPE} {WRITE_SCOPE}",
        "iat": now,
        "exp": now + 3600,
    }
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not ...}


def craft(
    payload: dict[str, Any] | bytes,
    *,
    alg: str = "HS256",
    key: bytes | None = REL_SECRET.encode(),
    digest: Any = hashlib.sha256,
    header: dict[str, Any] | None = None,
) -> str:
    """A JWT assembled by hand, so that any header and any key can be tried."""
    head = b64(orjson.dumps(header or {"alg": alg, "typ": "JWT"}))
    body = b64(payload if isinstance(payload, bytes) else orjson.dumps(payload))
    signing_input = f"{head}.{body}"
    signature = b"" if key is None else hmac.new(key, signing_input.encode(), digest).digest()
    return WATCH.secret("forged token", f"{signing_input}.{b64(signature)}")


@pytest.fixture(scope="module")
async def client(sqlite_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(sqlite_app) as http:
        yield http


def assert_unauthorized(response: httpx.Response, *, presented: str | None = None) -> None:
    body = assert_problem(response, 401)
    assert body["code"] == "unauthorized"
    challenge = response.headers.get("www-authenticate", "")
    assert challenge.startswith("Bearer"), response.headers
    if presented:
        assert presented not in response.text
        assert presented not in challenge


FORGED: dict[str, str] = {
    "alg-none": craft(claims(), alg="none", key=None),
    "alg-None": craft(claims(), alg="None", key=None),
    "alg-NONE": craft(claims(), alg="NONE", key=None),
    "alg-none-with-valid-hmac": craft(claims(), alg="none"),
    "alg-missing": craft(claims(), header={"typ": "JWT"}),
    "alg-empty": craft(claims(), alg=""),
    "wrong-key": craft(claims(), key=b"not-the-secret-" * 3),
    "empty-key": craft(claims(), key=b""),
    "rs256-header-hmac-signed": craft(claims(), alg="RS256"),
    "es256-header-hmac-signed": craft(claims(), alg="ES256"),
    "hs256-signed-with-public-pem": craft(claims(), key=PUBLIC_KEY_PEM.encode()),
    "rs256-signed-with-public-pem": craft(claims(), alg="RS256", key=PUBLIC_KEY_PEM.encode()),
    "hs384-right-key": craft(claims(), alg="HS384", digest=hashlib.sha384),
    "hs512-right-key": craft(claims(), alg="HS512", digest=hashlib.sha512),
    "kid-injection": craft(claims(), header={"alg": "HS256", "kid": "../../../dev/null"}, key=b""),
    "jwk-embedded": craft(
        claims(), header={"alg": "HS256", "jwk": {"kty": "oct", "k": b64(b"k" * 32)}}, key=b"k" * 32
    ),
    "expired": craft(claims(exp=int(time.time()) - 60)),
    "expired-1s": craft(claims(exp=int(time.time()) - 1)),
    "not-yet-valid": craft(claims(nbf=int(time.time()) + 3600)),
    "missing-exp": craft(claims(exp=...)),
    "exp-null": craft(claims(exp=None)),
    "exp-not-a-number": craft(claims(exp="tomorrow")),
    "exp-object": craft(claims(exp={"$gt": 0})),
    "missing-sub": craft(claims(sub=...)),
    "empty-sub": craft(claims(sub="")),
    "sub-not-string": craft(claims(sub=42)),
    "payload-array": craft(b"[1,2,3]"),
    "payload-not-json": craft(b"not json"),
    "payload-deep": craft(b'{"a":' * 5000 + b"1" + b"}" * 5000),
    "garbage": "garbage",
    "two-segments": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0",
    "four-segments": "a.b.c.d",
    "dots-only": "...",
    "not-base64": "!!!.@@@.###",
    "huge-100kb": "a" * 50_000 + "." + "b" * 50_000 + ".c",
}


@pytest.mark.parametrize("kind", list(FORGED))
async def test_forged_or_invalid_token_is_401(client: httpx.AsyncClient, kind: str) -> None:
    forged = FORGED[kind]
    for method, path, body in (
        ("GET", ARTICLES, None),
        ("POST", ARTICLES, {"title": f"forged {kind}"}),
        ("GET", f"{ARTICLES}c0000000000000000000000000", None),
    ):
        response = await client.request(
            method, path, json=body, headers={"Authorization": f"Bearer {forged}"}
        )
        assert_unauthorized(response, presented=forged)
        assert 'error="invalid_token"' in response.headers["www-authenticate"]


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNzd29yZA==",
        "Token {valid}",
        "{valid}",
        "Bearer{valid}",
        "Digest username=x",
    ],
)
async def test_missing_or_foreign_scheme_is_401(
    client: httpx.AsyncClient, header: str | None
) -> None:
    valid = token(READ_SCOPE, WRITE_SCOPE)
    headers = {} if header is None else {"Authorization": header.replace("{valid}", valid)}
    response = await client.get(ARTICLES, headers=headers)
    assert_unauthorized(response, presented=valid)


@pytest.mark.parametrize("param", ["access_token", "token", "jwt", "bearer"])
async def test_token_in_query_string_is_ignored(client: httpx.AsyncClient, param: str) -> None:
    valid = token(READ_SCOPE, WRITE_SCOPE)
    response = await client.get(ARTICLES, params={param: valid})
    assert_unauthorized(response, presented=valid)
    article = await client.get(f"{ARTICLES}c0000000000000000000000000", params={param: valid})
    assert_unauthorized(article, presented=valid)
    created = await client.post(ARTICLES, params={param: valid}, json={"title": "via query"})
    assert_unauthorized(created, presented=valid)


async def test_token_in_cookie_is_ignored(client: httpx.AsyncClient) -> None:
    valid = token(READ_SCOPE, WRITE_SCOPE)
    response = await client.get(
        ARTICLES, headers={"Cookie": f"access_token={valid}; token={valid}"}
    )
    assert_unauthorized(response, presented=valid)


async def test_token_is_not_kept_alive_by_the_cache(client: httpx.AsyncClient) -> None:
    short = token(READ_SCOPE, expires_in=1)
    assert (await client.get(ARTICLES, headers=auth(short))).status_code == 200
    await asyncio.sleep(2.1)
    assert_unauthorized(await client.get(ARTICLES, headers=auth(short)), presented=short)


# --------------------------------------------------------------------------------- scopes


async def test_read_scope_cannot_write(client: httpx.AsyncClient) -> None:
    writer = auth(token(READ_SCOPE, WRITE_SCOPE))
    created = await client.post(ARTICLES, json={"title": "scope target"}, headers=writer)
    assert created.status_code == 201, created.text
    url = f"{ARTICLES}{created.json()['id']}"
    reader = auth(token(READ_SCOPE))
    attempts = [
        await client.post(ARTICLES, json={"title": "escalated"}, headers=reader),
        await client.patch(url, json={"title": "escalated"}, headers=reader),
        await client.put(url, json={"title": "escalated"}, headers=reader),
        await client.delete(url, headers=reader),
    ]
    for response in attempts:
        assert assert_problem(response, 403)["code"] == "forbidden"
    after = await client.get(url, headers=reader)
    assert after.status_code == 200
    assert after.json()["title"] == "scope target"


def _scoped(scope: Any) -> str:
    return craft(claims(scope=scope))


ESCALATIONS: dict[str, Any] = {
    "no-scope-claim": ...,
    "empty": "",
    "upper-case": "ARTICLES:WRITE",
    "title-case": "Articles:Write",
    "read-plus-upper-write": "articles:read ARTICLES:WRITE",
    "plural": "articles:writes",
    "prefix": "articles:write:all",
    "wildcard": "articles:*",
    "star": "*",
    "bare-resource": "articles",
    "comma-separated": "articles:read,articles:write",
    "semicolon-separated": "articles:read;articles:write",
    "plus-separated": "articles:read+articles:write",
    "url-encoded-space": "articles:read%20articles:write",
    "cyrillic-a": "\u0430rticles:write",
    "fullwidth": "\uff41\uff52\uff54\uff49\uff43\uff4c\uff45\uff53:write",
    "zero-width-space": "articles:read\u200barticles:write",
    # RFC 6749 §3.3: scope tokens are separated by SP (0x20) only.
    "nbsp-separated": "articles:read\u00a0articles:write",
    "em-space-separated": "articles:read\u2003articles:write",
    "ideographic-space-separated": "articles:read\u3000articles:write",
    "unit-separator": "articles:read\x1farticles:write",
    "tab-separated": "articles:read\tarticles:write",
    "newline-separated": "articles:read\narticles:write",
    "list-with-joined-string": ["articles:read articles:write"],
    "list-upper": ["ARTICLES:WRITE"],
    "list-nested": [["articles:write"]],
    "object": {"articles:write": True},
    "number": 1,
    "true": True,
    # Every other resource's write scope: scopes are per resource.
    "other-resources-write": " ".join(
        [READ_SCOPE, *(scope for scope in SCOPES if not scope.startswith("articles:"))]
    ),
}


@pytest.mark.parametrize("kind", list(ESCALATIONS))
async def test_scope_tricks_cannot_write(client: httpx.AsyncClient, kind: str) -> None:
    forged = _scoped(ESCALATIONS[kind])
    response = await client.post(
        ARTICLES,
        json={"title": f"escalation {kind}"},
        headers={"Authorization": f"Bearer {forged}"},
    )
    body = assert_problem(response, 403)
    assert body["code"] == "forbidden"


async def test_scp_claim_is_not_a_scope(client: httpx.AsyncClient) -> None:
    forged = craft(claims(scope=..., scp=[READ_SCOPE, WRITE_SCOPE]))
    response = await client.get(ARTICLES, headers={"Authorization": f"Bearer {forged}"})
    assert_problem(response, 403)


async def test_extra_ascii_spaces_still_name_both_scopes(client: httpx.AsyncClient) -> None:
    """Not an escalation: a token minted with both scopes, spaced oddly, grants both."""
    forged = _scoped("  articles:read   articles:write  ")
    response = await client.post(
        ARTICLES, json={"title": "spaced scopes"}, headers={"Authorization": f"Bearer {forged}"}
    )
    assert response.status_code == 201, response.text


async def test_audience_and_issuer_are_enforced_when_configured(tmp_path: Path) -> None:
    settings = rel_settings(
        DATABASE_URL=f"sqlite:///{tmp_path / 'aud.sqlite3'}",
        JWT_AUDIENCE="app-api",
        JWT_ISSUER="app-web",
    )
    good = claims(aud="app-api", iss="app-web")
    cases = {
        "right": (craft(good), 200),
        "no-aud": (craft(claims(iss="app-web")), 401),
        "wrong-aud": (craft(claims(aud="other", iss="app-web")), 401),
        "aud-list-without-us": (craft(claims(aud=["a", "b"], iss="app-web")), 401),
        "no-iss": (craft(claims(aud="app-api")), 401),
        "wrong-iss": (craft(claims(aud="app-api", iss="evil")), 401),
    }
    async with running_app(settings) as application, client_for(application) as http:
        for name, (forged, status) in cases.items():
            response = await http.get(ARTICLES, headers={"Authorization": f"Bearer {forged}"})
            assert response.status_code == status, (name, response.text)
            if status == 401:
                assert_unauthorized(response, presented=forged)


# ----------------------------------------------------------------------------------- CORS

ALLOWED = "http://allowed.test"


@pytest.fixture(scope="module")
async def cors_client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    path = tmp_path_factory.mktemp("cors") / "cors.sqlite3"
    settings = rel_settings(DATABASE_URL=f"sqlite:///{path}", BACKEND_CORS_ORIGINS=f'["{ALLOWED}"]')
    async with running_app(settings) as application, client_for(application) as http:
        yield http


def preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }


async def test_cors_preflight_from_allowed_origin(cors_client: httpx.AsyncClient) -> None:
    response = await cors_client.options(ARTICLES, headers=preflight(ALLOWED))
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    allowed_methods = response.headers["access-control-allow-methods"]
    assert "POST" in allowed_methods
    assert "authorization" in response.headers["access-control-allow-headers"].lower()
    # No credentials mode: a cookie-borne attack has nothing to ride on.
    assert "access-control-allow-credentials" not in response.headers


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.test",
        "http://allowed.test.evil.test",
        "http://evilallowed.test",
        "https://allowed.test",
        "http://allowed.test:8080",
        "null",
        "http://ALLOWED.test.evil",
    ],
)
async def test_cors_other_origins_get_no_acao(cors_client: httpx.AsyncClient, origin: str) -> None:
    response = await cors_client.options(ARTICLES, headers=preflight(origin))
    assert "access-control-allow-origin" not in response.headers, (origin, response.headers)
    assert response.status_code < 500
    simple = await cors_client.get(ARTICLES, headers={"Origin": origin, **auth(token(READ_SCOPE))})
    assert simple.status_code == 200
    assert "access-control-allow-origin" not in simple.headers


async def test_cors_simple_request_from_allowed_origin(cors_client: httpx.AsyncClient) -> None:
    response = await cors_client.get(
        ARTICLES, headers={"Origin": ALLOWED, **auth(token(READ_SCOPE))}
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    exposed = response.headers["access-control-expose-headers"].lower()
    assert "etag" in exposed
    assert "x-request-id" in exposed


async def test_cors_unlisted_request_header_is_refused(cors_client: httpx.AsyncClient) -> None:
    response = await cors_client.options(
        ARTICLES,
        headers={**preflight(ALLOWED), "Access-Control-Request-Headers": "x-evil-header"},
    )
    assert response.status_code == 400
    assert "x-evil-header" not in response.headers.get("access-control-allow-headers", "").lower()
