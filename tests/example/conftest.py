"""The example's fixtures: the app serving app.resources on an SQLite file and, with
`TEST_DATABASE_URL`, on a scratch PostgreSQL database built from `prisma/migrations`.

They override the machinery fixture app of tests/conftest.py for every test under
tests/example/, the tests an adopting team deletes with the rest of the example.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.config import Settings
from app.main import create_app
from tests.conftest import ROOT, TEST_DATABASE_URL, delete_rows, make_settings, running

MIGRATIONS = ROOT / "prisma" / "migrations"
DATA_TABLES = ("page_revisions", "_PageToTag", "Page", "Tag", "User")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A scratch PostgreSQL database migrated from prisma/migrations (dropped afterwards)."""
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    from tools.migrate import apply_migrations, create_scratch_database, drop_database

    url = create_scratch_database(TEST_DATABASE_URL, "app_api_example")
    try:
        apply_migrations(url, MIGRATIONS)
        yield url
    finally:
        drop_database(url)


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The embedded default builds the example's tables in a new SQLite file."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'example.sqlite3'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    """Its own session fixture: the machinery's `settings` stays cached on the machinery's URL."""
    return make_settings(DATABASE_URL=database_url)


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with running(create_app(settings)) as application:
        yield application


@pytest.fixture
async def clean_db(engine: AsyncEngine) -> None:
    """Empty the data tables before the test (demo rows included)."""
    await truncate(engine)


async def truncate(engine: AsyncEngine) -> None:
    await delete_rows(engine, DATA_TABLES)
