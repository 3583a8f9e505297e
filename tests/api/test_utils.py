"""Health, readiness, OpenAPI, problem+json for routing errors."""

from __future__ import annotations

import time

import httpx

from app.main import create_app
from tests.conftest import app_client, make_settings


async def test_health_check_needs_no_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/utils/health-check")
    assert response.status_code == 200
    assert response.json() == {"status": True}


async def test_ready_pings_the_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/utils/ready")
    assert response.status_code == 200
    assert response.json() == {"status": True, "database": "ok"}


async def test_ready_is_503_problem_within_3s_when_database_unreachable() -> None:
    # Port 1 on loopback: nothing listens, the connection is refused.
    app = create_app(make_settings(DATABASE_URL="postgresql://postgres@127.0.0.1:1/nowhere"))
    async with app.router.lifespan_context(app), await app_client(app) as client:
        started = time.perf_counter()
        response = await client.get("/api/v1/utils/ready")
        elapsed = time.perf_counter() - started
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "service_unavailable"
    assert body["status"] == 503
    assert "Traceback" not in response.text
    assert elapsed < 3.5


async def test_ready_times_out_against_a_silent_server() -> None:
    # A listening socket that never answers the PostgreSQL handshake: bounded by the timeout.
    import asyncio

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(10)
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    app = create_app(
        make_settings(
            DATABASE_URL=f"postgresql://postgres@127.0.0.1:{port}/x", DB_CONNECT_TIMEOUT=1
        )
    )
    try:
        async with app.router.lifespan_context(app), await app_client(app) as client:
            started = time.perf_counter()
            response = await client.get("/api/v1/utils/ready")
            elapsed = time.perf_counter() - started
    finally:
        server.close()
    assert response.status_code == 503
    assert elapsed < 3.5


async def test_unknown_route_is_problem_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nope")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "urn:app-api:problem:not_found"
    assert body["title"] == "Not Found"
    assert body["code"] == "not_found"
    assert body["detail"] == "No route matches GET /api/v1/nope"
    assert body["instance"] == "/api/v1/nope"
    assert body["requestId"] == response.headers["x-request-id"]


async def test_wrong_method_is_problem_405(client: httpx.AsyncClient) -> None:
    response = await client.delete("/api/v1/utils/health-check")
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "method_not_allowed"
    assert "GET" in response.headers["allow"]


async def test_openapi_has_camelcase_operation_ids(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    ids = {op["operationId"] for path in schema["paths"].values() for op in path.values()}
    assert {"healthCheck", "readiness"} <= ids
    ready = schema["paths"]["/api/v1/utils/ready"]["get"]["responses"]["503"]
    assert "application/problem+json" in ready["content"]


async def test_docs_are_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert "/api/v1/openapi.json" in response.text
