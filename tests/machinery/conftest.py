"""The machinery tests' app: the fixture resources (tests/machinery/fixture) served by
`create_app(resources=…)` on an SQLite file and, with TEST_DATABASE_URL, on a PostgreSQL
database migrated from the fixture's own migrations."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.main import create_app
from tests.conftest import TEST_DATABASE_URL, app_client, make_settings, running
from tests.machinery.fixture.models import metadata
from tests.machinery.fixture.resources import LINKS, RESOURCES

FIXTURE = Path(__file__).resolve().parent / "fixture"


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def machinery_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database with the fixture schema's tables (dropped afterwards on PostgreSQL)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('machinery') / 'fixture.sqlite3'}"
        engine = create_engine(url)
        metadata.create_all(engine)
        engine.dispose()
        yield url
        return
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    from tools.migrate import apply_migrations, create_scratch_database, drop_database

    url = create_scratch_database(TEST_DATABASE_URL, "app_api_machinery")
    try:
        apply_migrations(url, FIXTURE / "migrations")
        yield url
    finally:
        drop_database(url)


@pytest.fixture(scope="session")
async def machinery_app(machinery_url: str) -> AsyncIterator[FastAPI]:
    settings = make_settings(DATABASE_URL=machinery_url)
    async with running(create_app(settings, resources=RESOURCES, links=LINKS)) as application:
        yield application


@pytest.fixture
def mx_engine(machinery_app: FastAPI) -> AsyncEngine:
    return machinery_app.state.engine


@pytest.fixture
async def mx(machinery_app: FastAPI, mx_engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the fixture app, its tables emptied first."""
    await machinery_app.state.db.make_room()
    async with mx_engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            await connection.execute(text(f'DELETE FROM "{table.name}"'))
    async with await app_client(machinery_app) as client:
        yield client
