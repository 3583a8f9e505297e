"""The v1 routers: which ones exist is decided when the app is built."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.v1 import pages, private, utils
from app.core.config import Settings


def api_routers(settings: Settings) -> list[APIRouter]:
    """The routers mounted under `/api/v1`; the private ones only when ENVIRONMENT=local.

    Each is included on the app directly: FastAPI matches nested routers level by level, and
    one level less is measurable on a fast read.
    """
    routers = [utils.router, pages.router]
    if settings.ENVIRONMENT == "local":
        routers.append(private.router)
    return routers
