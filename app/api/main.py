"""The v1 router: which routers exist is decided when the app is built."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.v1 import pages, private, utils
from app.core.config import Settings


def build_api_router(settings: Settings) -> APIRouter:
    api_router = APIRouter()
    api_router.include_router(utils.router)
    api_router.include_router(pages.router)
    if settings.ENVIRONMENT == "local":
        api_router.include_router(private.router)
    return api_router
