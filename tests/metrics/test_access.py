"""Who may read /metrics: the bearer METRICS_TOKEN, anyone in local without one, nobody else
(404, as for any unknown route); METRICS_ENABLED=false turns metrics off altogether."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.core.config import SettingsError
from app.core.middleware import RequestContextMiddleware
from app.main import create_app
from tests.conftest import app_client, capture_logs, make_settings
from tests.metrics.support import METRICS, METRICS_TOKEN, PROBLEM, Scrape

# Outside local a PostgreSQL URL is required; these apps never run their lifespan, so it is
# never connected to.
NOT_LOCAL: dict[str, Any] = {"DATABASE_URL": "postgresql://app@127.0.0.1:9/app"}
DIAGNOSTICS = "/api/v1/private/diagnostics/server"


def observer(application: FastAPI) -> Any:
    """What the request-id middleware reports each answered request to (None: nothing)."""
    (middleware,) = [m for m in application.user_middleware if m.cls is RequestContextMiddleware]
    return middleware.kwargs["on_response"]


def build(**overrides: Any) -> FastAPI:
    return create_app(make_settings(LOG_LEVEL="WARNING", **overrides))


async def get(application: FastAPI, path: str = METRICS, **headers: str) -> httpx.Response:
    async with await app_client(application) as client:
        return await client.get(path, headers=headers)


def assert_unauthorized(response: httpx.Response, *, error: str | None) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == 401
    assert body["code"] == "unauthorized"
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    if error is None:
        assert "error=" not in challenge
    else:
        assert f'error="{error}"' in challenge
    assert METRICS_TOKEN not in response.text
    assert METRICS_TOKEN not in str(response.headers)


async def test_local_without_a_token_serves_metrics_to_anyone() -> None:
    response = await get(build())
    assert response.status_code == 200
    assert Scrape(response.text).types["http_requests"] == "counter"
    assert response.headers["content-type"].startswith("text/plain; version=")


@pytest.mark.parametrize("environment", ["local", "staging", "production"])
async def test_with_a_token_only_the_token_gets_in(environment: str) -> None:
    extra = NOT_LOCAL if environment != "local" else {}
    application = build(ENVIRONMENT=environment, METRICS_TOKEN=METRICS_TOKEN, **extra)

    assert_unauthorized(await get(application), error=None)
    assert_unauthorized(await get(application, Authorization="Bearer"), error=None)
    assert_unauthorized(
        await get(application, Authorization=f"Bearer {METRICS_TOKEN}x"), error="invalid_token"
    )
    assert_unauthorized(
        await get(application, Authorization=f"Bearer {METRICS_TOKEN[:-1]}"),
        error="invalid_token",
    )
    assert_unauthorized(await get(application, Authorization=f"Basic {METRICS_TOKEN}"), error=None)
    assert_unauthorized(await get(application, Authorization=METRICS_TOKEN), error=None)

    for scheme in ("Bearer", "bearer"):
        granted = await get(application, Authorization=f"{scheme} {METRICS_TOKEN}")
        assert granted.status_code == 200, granted.text
        assert "app_api_build_info" in Scrape(granted.text).samples


@pytest.mark.parametrize("environment", ["staging", "production"])
async def test_outside_local_without_a_token_metrics_are_not_there(environment: str) -> None:
    application = build(ENVIRONMENT=environment, **NOT_LOCAL)
    unknown = await get(application, "/no-such-route")
    response = await get(application, Authorization="Bearer anything-at-all-0123456789")

    assert response.status_code == 404
    assert response.headers["content-type"].startswith(PROBLEM)
    body, other = response.json(), unknown.json()
    assert {k: v for k, v in body.items() if k not in {"detail", "instance", "requestId"}} == {
        k: v for k, v in other.items() if k not in {"detail", "instance", "requestId"}
    }
    assert body["detail"] == f"No route matches GET {METRICS}"
    # Nothing is measured when nobody can read it.
    assert application.state.metrics is None
    assert observer(application) is None


@pytest.mark.parametrize("environment", ["local", "staging"])
async def test_metrics_disabled_is_404_and_no_middleware(environment: str) -> None:
    extra = NOT_LOCAL if environment != "local" else {}
    application = build(
        ENVIRONMENT=environment, METRICS_ENABLED=False, METRICS_TOKEN=METRICS_TOKEN, **extra
    )
    response = await get(application, Authorization=f"Bearer {METRICS_TOKEN}")

    assert response.status_code == 404
    assert response.headers["content-type"].startswith(PROBLEM)
    assert application.state.metrics is None
    assert observer(application) is None
    enabled = build(ENVIRONMENT=environment, METRICS_TOKEN=METRICS_TOKEN, **extra)
    assert observer(enabled) == enabled.state.metrics.observe
    # Outermost (added last): the status it reports is the one the client got.
    assert enabled.user_middleware[0].cls is RequestContextMiddleware


async def test_metrics_are_not_in_the_openapi_document() -> None:
    response = await get(build(), "/api/v1/openapi.json")
    assert response.status_code == 200
    assert METRICS not in response.json()["paths"]


def test_a_short_token_is_refused_without_quoting_it() -> None:
    with pytest.raises((SettingsError, ValueError)) as caught:
        make_settings(METRICS_TOKEN="too-short-tok")
    assert "METRICS_TOKEN" in str(caught.value)
    assert "too-short-tok" not in str(caught.value)
    assert make_settings(METRICS_TOKEN="").METRICS_TOKEN is None


async def test_the_token_never_reaches_a_log_or_the_diagnostics() -> None:
    application = build(METRICS_TOKEN=METRICS_TOKEN)
    wrong = "wrong-metrics-token-0123456789abcdef"
    with capture_logs() as logs:
        async with await app_client(application) as client:
            ok = await client.get(METRICS, headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
            refused = await client.get(METRICS, headers={"Authorization": f"Bearer {wrong}"})
            diagnostics = await client.get(DIAGNOSTICS)

    assert ok.status_code == 200
    assert refused.status_code == 401
    assert diagnostics.status_code == 200, diagnostics.text
    assert diagnostics.json()["settings"]["METRICS_TOKEN"] == "***"
    assert diagnostics.json()["settings"]["METRICS_ENABLED"] is True
    assert METRICS_TOKEN not in diagnostics.text
    assert logs.records, "the access log should have lines"
    assert METRICS_TOKEN not in logs.text
    assert wrong not in logs.text
    assert METRICS_TOKEN not in ok.text
