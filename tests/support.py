"""Helpers every test may use, on any schema: tokens, the problem+json media type and its check."""

from __future__ import annotations

from typing import Any

import httpx

from app.core.security import create_token
from tests.conftest import make_settings

PROBLEM = "application/problem+json"


def bearer(*scopes: str, subject: str = "user_42", **token_options: Any) -> dict[str, str]:
    """An `Authorization` header for a token minted as app-web's server code would."""
    token = create_token(make_settings(), subject=subject, scopes=list(scopes), **token_options)
    return {"Authorization": f"Bearer {token}"}


def assert_problem(
    response: httpx.Response, status: int, *, field: str | None = None
) -> dict[str, Any]:
    """An RFC 9457 answer with this status (and, when given, an error naming `field`)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("urn:app-api:problem:")
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert "Traceback" not in response.text
    if status == 422:
        assert body["errors"], body
        for error in body["errors"]:
            assert set(error) == {"field", "message"}
            assert error["field"]
            assert error["message"]
    if field is not None:
        fields = [error["field"] for error in body.get("errors") or []]
        assert any(field in name.split(".") for name in fields), body
    return body
