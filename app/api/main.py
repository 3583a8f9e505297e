"""The v1 routers: which ones exist is decided when the app is built."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter

from app.api.routes import link_router, resource_router
from app.api.v1 import private, utils
from app.core.config import Settings
from app.resource import Link, Resource


def api_routers(
    settings: Settings, resources: Sequence[Resource], links: Sequence[Link] = ()
) -> list[APIRouter]:
    """The routers mounted under `/api/v1`: one per resource and link, the private ones only
    when ENVIRONMENT=local.

    Each is included on the app directly: FastAPI matches nested routers level by level, and
    one level less is measurable on a fast read.
    """
    routers = [utils.router]
    routers += [resource_router(resource) for resource in resources]
    routers += [link_router(link) for link in links]
    if settings.ENVIRONMENT == "local":
        routers.append(private.router)
    return routers
