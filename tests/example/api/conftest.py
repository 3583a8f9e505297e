"""Fixtures of the API tests: the app without HotPath, to compare both paths."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from app.api.hot import HotPath
from app.core.config import Settings
from app.main import create_app
from tests.conftest import app_client, running


def without_hot_reads(settings: Settings) -> FastAPI:
    """The app `settings` build, without HotPath: every request goes through FastAPI."""
    application = create_app(settings)
    application.user_middleware = [m for m in application.user_middleware if m.cls is not HotPath]
    return application


@pytest.fixture(scope="module")
async def routed_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The same app without HotPath, on the same database."""
    async with running(without_hot_reads(settings)) as application:
        yield application


@pytest.fixture
async def routed(routed_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with await app_client(routed_app) as client:
        yield client
