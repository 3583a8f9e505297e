"""Secrets never leak: not SECRET_KEY, not a token, not the database password, not the value of
a hidden field (an account's `password` and `twoFactorSecret`) — in no log line (any rendering)
and no response (headers or body) of the whole reliability session.

Named `zz` so it runs last: it reads what the session-wide leak watch (conftest.py) captured
from the hostile-input, auth, fault, concurrency, load and PgBouncer tests, and adds its own
leak-prone requests so that it means something when run alone.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.faults import TcpProxy
from tests.machinery.fixture.resources import SCOPES
from tests.reliability.support import (
    ACCOUNTS,
    ARTICLES,
    READ_SCOPE,
    READY,
    REL_SECRET,
    ROOT,
    WATCH,
    WRITE_SCOPE,
    WRITER,
    PgDatabase,
    SecretWatch,
    auth,
    client_for,
    hidden_account,
    rel_settings,
    running_app,
    token,
)

HIDDEN = ("password", "twoFactorSecret")
# A Decimal whose exponent overflows Python's default context: it was a 500 (a traceback in
# the log) until the magnitude check stopped rounding; now a 422 that must not echo a secret.
OVERFLOWING_PRICE = {"price": "1e1000000"}


async def _leak_prone_requests(client: httpx.AsyncClient, article_id: str | None) -> None:
    valid = token(*SCOPES, subject="leak-probe")
    for headers in (
        auth(valid),
        {"Authorization": f"Bearer {valid}x"},
        {"Authorization": f"Basic {valid}"},
        {"Authorization": valid},
        {"X-Request-ID": valid[:128]},
    ):
        await client.get(ARTICLES, headers=headers)
    await client.get(ARTICLES, params={"access_token": valid, "token": valid})
    await client.get(f"{ARTICLES}{valid[:100]}", headers=auth(valid))
    await client.post(
        ARTICLES, content=b'{"title": ', headers={**auth(valid), "Content-Type": "application/json"}
    )
    # Bodies the service once answered with a 500 (see the hostile-input suite).
    await client.post(
        ARTICLES,
        content=b'{"title": "leak", "metadata": {"k": "\\ud800"}}',
        headers={**auth(valid), "Content-Type": "application/json"},
    )
    await client.post(ARTICLES, json={"title": "leak", **OVERFLOWING_PRICE}, headers=auth(valid))
    # Accounts: their hidden fields asked for in every way a client could.
    await client.get(ACCOUNTS, params={"include": "posts,profile,reviews"}, headers=auth(valid))
    await client.get(ACCOUNTS, params={"include": "password"}, headers=auth(valid))
    await client.get(ACCOUNTS, params={"orderBy": "twoFactorSecret"}, headers=auth(valid))
    await client.get(ACCOUNTS, params={"password": "x"}, headers=auth(valid))
    await client.get(ARTICLES, params={"include": "author"}, headers=auth(valid))
    if article_id:
        await client.patch(
            f"{ARTICLES}{article_id}",
            json={"title": "x"},
            headers={**auth(valid), "If-Match": valid},
        )
        await client.patch(f"{ARTICLES}{article_id}", json=OVERFLOWING_PRICE, headers=auth(valid))
        await client.get(
            f"{ARTICLES}{article_id}", params={"include": "author"}, headers=auth(valid)
        )
    await client.get(READY)


@pytest.mark.slow
async def test_database_faults_and_errors_do_not_leak(pg: PgDatabase, proxy: TcpProxy) -> None:
    settings = rel_settings(ENVIRONMENT="staging", DATABASE_URL=pg.app_url(port=proxy.port))
    async with running_app(settings) as application, client_for(application) as client:
        author = await hidden_account(application, f"probe-{secrets.token_hex(4)}@example.com")
        created = await client.post(
            ARTICLES,
            json={"title": "leak probe", "authorId": author["id"]},
            headers=auth(token(WRITE_SCOPE)),
        )
        assert created.status_code == 201, created.text
        await _leak_prone_requests(client, created.json()["id"])
        await proxy.refuse()
        await _leak_prone_requests(client, created.json()["id"])
        await proxy.restore()
        proxy.mode = "reset"
        proxy.drop()
        await _leak_prone_requests(client, created.json()["id"])


@pytest.mark.slow
async def test_local_diagnostics_do_not_leak(pg: PgDatabase) -> None:
    """In local, the diagnostics routes (when mounted) show settings: redacted."""
    settings = rel_settings(
        ENVIRONMENT="local",
        DATABASE_URL=pg.app_url(),
        LOG_JSON=False,
        PRISMA_DIR=ROOT / "tests" / "machinery" / "fixture",  # the database's migrations
    )
    async with running_app(settings) as application, client_for(application) as client:
        for path in ("/api/v1/private/diagnostics/server", "/api/v1/private/diagnostics/database"):
            response = await client.get(path, headers=auth(token(READ_SCOPE, WRITE_SCOPE)))
            assert response.status_code in {200, 401, 403, 404}, response.text[:300]
        await _leak_prone_requests(client, None)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def leak_app(request: pytest.FixtureRequest) -> FastAPI:
    return request.getfixturevalue("sqlite_app" if request.param == "sqlite" else "pg_app")


async def _hidden_values(application: FastAPI, account_id: str) -> tuple[str, str]:
    async with application.state.db.reserve(), application.state.engine.connect() as connection:
        row = await connection.execute(
            text('SELECT password, "twoFactorSecret" FROM mx_account WHERE id = :id'),
            {"id": account_id},
        )
        password, second_factor = row.one()
    return password, second_factor


async def test_hidden_fields_never_go_out(leak_app: FastAPI) -> None:
    """Served, included, written around, refused, conflicting, failing: an account's hidden
    values appear in no response (here) and no log line (the watch, below); PATCH and PUT of the
    account leave them as they were."""
    email = f"hidden-{secrets.token_hex(4)}@example.com"
    async with client_for(leak_app) as client:
        account = await hidden_account(leak_app, email)
        values = (account["password"], account["twoFactorSecret"])
        url = f"{ACCOUNTS}{account['id']}"
        article = await client.post(
            ARTICLES,
            json={"title": "By a hidden author", "authorId": account["id"]},
            headers=WRITER,
        )
        assert article.status_code == 201, article.text
        article_url = f"{ARTICLES}{article.json()['id']}"
        post = await client.post(
            "/api/v1/posts/",
            json={"title": "p", "authorId": account["id"], "reviewerId": account["id"]},
            headers=WRITER,
        )
        assert post.status_code == 201, post.text
        profile = await client.post(
            "/api/v1/profiles/", json={"accountId": account["id"], "bio": "b"}, headers=WRITER
        )
        assert profile.status_code == 201, profile.text
        etag = (await client.get(url, headers=WRITER)).headers["etag"]

        served = [
            await client.get(url, headers=WRITER),
            await client.get(url, params={"include": "posts,profile,reviews"}, headers=WRITER),
            await client.get(ACCOUNTS, params={"include": "posts,profile,reviews"}, headers=WRITER),
            await client.get(ACCOUNTS, params={"email": email}, headers=WRITER),
            await client.get(article_url, params={"include": "author"}, headers=WRITER),
            await client.get(ARTICLES, params={"include": "author"}, headers=WRITER),
            await client.get(
                "/api/v1/posts/", params={"include": "author,reviewer"}, headers=WRITER
            ),
            await client.get(
                f"/api/v1/profiles/{profile.json()['id']}",
                params={"include": "account"},
                headers=WRITER,
            ),
            await client.patch(url, json={"name": "Renamed"}, headers=WRITER),
            await client.put(url, json={"email": email, "name": "Replaced"}, headers=WRITER),
        ]
        refused = [
            await client.patch(url, json={"name": "stale"}, headers={**WRITER, "If-Match": etag}),
            await client.post(ACCOUNTS, json={"email": email}, headers=WRITER),
            await client.patch(url, json={"password": "other"}, headers=WRITER),
            await client.get(ACCOUNTS, params={"orderBy": "password"}, headers=WRITER),
            await client.get(ACCOUNTS, params={"twoFactorSecret": "x"}, headers=WRITER),
            await client.get(url, params={"include": "password"}, headers=WRITER),
            await client.patch(article_url, json=OVERFLOWING_PRICE, headers=WRITER),
        ]
        assert [r.status_code for r in served] == [200] * len(served), [
            r.text[:200] for r in served if r.status_code != 200
        ]
        assert [r.status_code for r in refused] == [412, 409, 422, 422, 422, 422, 422]
        for response in served + refused:
            for value in values:
                assert value not in response.text, response.request.url
        for body in (served[0].json(), served[1].json(), served[4].json()["author"]):
            assert not set(HIDDEN) & set(body), body
        assert await _hidden_values(leak_app, account["id"]) == values


def test_no_secret_in_any_log_line_or_response(leak_watch: SecretWatch) -> None:
    assert leak_watch is WATCH
    sources = [source for source, _ in WATCH.captured]
    logs = [s for s in sources if s == "log"]
    responses = [s for s in sources if s.startswith(("response", "schemathesis"))]
    assert logs, "the leak watch captured no log line: is its loguru sink attached?"
    assert responses, "the leak watch captured no response"
    assert REL_SECRET in WATCH.secrets
    assert any(label.startswith("token") for label in WATCH.secrets.values())
    summary: dict[str, Any] = {
        "log lines": len(logs),
        "responses": len(responses),
        "other captures": len(sources) - len(logs) - len(responses),
        "secrets watched": len(WATCH.secrets),
    }
    print(f"\nleak watch: {summary}")
    leaks = WATCH.leaks()
    assert not leaks, "secrets leaked:\n" + "\n".join(leaks[:20])
