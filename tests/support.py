"""Helpers every test may use, on any schema: tokens and the problem+json media type."""

from __future__ import annotations

from typing import Any

from app.core.security import create_token
from tests.conftest import make_settings

PROBLEM = "application/problem+json"


def bearer(*scopes: str, subject: str = "user_42", **token_options: Any) -> dict[str, str]:
    """An `Authorization` header for a token minted as app-web's server code would."""
    token = create_token(make_settings(), subject=subject, scopes=list(scopes), **token_options)
    return {"Authorization": f"Bearer {token}"}
