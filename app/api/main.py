"""The v1 routers: which ones exist is decided when the app is built."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter

from app.api.routes import link_router, resource_router
from app.api.v1 import private, utils
from app.core.config import Settings
from app.resource import Link, Resource, ResourceError


def api_routers(
    settings: Settings, resources: Sequence[Resource], links: Sequence[Link] = ()
) -> list[APIRouter]:
    """The routers mounted under `/api/v1`: one per resource and link, the private ones only
    when ENVIRONMENT=local.

    Each is included on the app directly: FastAPI matches nested routers level by level, and
    one level less is measurable on a fast read.
    """
    check_distinct(resources)
    routers = [utils.router]
    routers += [resource_router(resource) for resource in resources]
    routers += [link_router(link) for link in links]
    if settings.ENVIRONMENT == "local":
        routers.append(private.router)
    return routers


def check_distinct(resources: Sequence[Resource]) -> None:
    """One resource per model and per segment: operation ids (`getAccount`), route names and
    the hot path are keyed by the model's name, URLs by the segment."""
    seen: dict[object, Resource] = {}
    for resource in resources:
        for key, what in ((resource.model, "model"), (resource.segment, "segment")):
            first = seen.setdefault((what, key), resource)
            if first is not resource:
                raise ResourceError(
                    f"resources {first.segment!r} and {resource.segment!r} serve the same {what} "
                    f"({resource.name if what == 'model' else resource.segment}): declare one "
                    "resource per model (a second shape of a table is a Prisma view with its own "
                    "model)"
                )
