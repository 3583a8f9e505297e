"""Helpers of the diagnostics tests: scratch PostgreSQL databases built from the machinery
fixture's migrations, the fixture's models as the ones the drift check compares with, and
one-shot app calls."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import pytest
from sqlalchemy import Column, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import TIMESTAMP

from app import diagnostics
from app.main import create_app
from tests.conftest import FIXTURE, app_client, make_settings
from tests.machinery.fixture.models import metadata as fixture_metadata
from tests.machinery.fixture.resources import LINKS, RESOURCES
from tools.migrate import (
    apply_migrations,
    create_scratch_database,
    drop_database,
    to_conninfo,
)

PRISMA_DIR = FIXTURE
MIGRATIONS = sorted(p.name for p in (PRISMA_DIR / "migrations").iterdir() if p.is_dir())
SERVER = "/api/v1/private/diagnostics/server"
DATABASE = "/api/v1/private/diagnostics/database"

# A view of the fixture's articles, as `make view-models` would declare it, and the migration
# that creates it: the fixture's schema has no view of its own.
VIEW_MIGRATION = "20990101000000_published_article_view"
VIEW_SQL = (
    'CREATE VIEW "mx_published_article" AS SELECT "id", "title", "slug", "authorId",'
    ' "publishedAt" FROM "mx_article" WHERE "published"'
)
PUBLISHED_ARTICLE = Table(
    "mx_published_article",
    MetaData(),
    Column("id", Text, primary_key=True),
    Column("title", Text, nullable=False),
    Column("slug", Text, nullable=False),
    Column("authorId", Text),
    Column("publishedAt", TIMESTAMP(precision=3)),
    info={"is_view": True},
)


def expect_fixture_models(monkeypatch: pytest.MonkeyPatch, views: Sequence[Table] = ()) -> None:
    """Make the drift check compare with the fixture's models (and `views`).

    It reads the generated models, app/models.py and app/view_tables.py: the fixture's models
    stand in for them, as if generated from tests/machinery/fixture/schema.prisma.
    """
    tables = [t for t in fixture_metadata.sorted_tables if not t.info.get("is_view")]
    monkeypatch.setattr(diagnostics, "model_tables", lambda: tables)
    monkeypatch.setattr(diagnostics, "model_views", lambda: sorted(views, key=lambda v: v.name))


@contextmanager
def scratch_database(server_url: str, prisma_dir: Path = PRISMA_DIR) -> Iterator[str]:
    """A database migrated from `prisma_dir`, dropped on exit."""
    url = create_scratch_database(server_url, "app_api_diag")
    try:
        apply_migrations(url, prisma_dir / "migrations")
        yield url
    finally:
        drop_database(url)


def run_sql(url: str, statement: str) -> None:
    with psycopg.connect(to_conninfo(url), autocommit=True) as conn:
        conn.execute(statement.encode())


def copy_prisma(tmp_path: Path) -> Path:
    """A copy of the fixture's schema and migrations a test may edit."""
    target = tmp_path / "prisma"
    shutil.copytree(PRISMA_DIR, target)
    return target


def add_migration(prisma_dir: Path, name: str, sql: str) -> Path:
    folder = prisma_dir / "migrations" / name
    folder.mkdir()
    script = folder / "migration.sql"
    script.write_text(sql)
    return script


def with_password(url: str, password: str) -> str:
    """The URL with `password` unless it already has one (trust auth ignores it)."""
    parts = urlsplit(url)
    if parts.password or not parts.username:
        return url
    netloc = f"{parts.username}:{password}@{parts.netloc.rpartition('@')[2]}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


async def fetch(path: str, *, lifespan: bool = True, **overrides: Any) -> httpx.Response:
    """GET `path` from the fixture app built with these settings (PRISMA_DIR: the fixture's
    folder unless given), its lifespan run when asked."""
    overrides.setdefault("PRISMA_DIR", str(PRISMA_DIR))
    app = create_app(make_settings(**overrides), resources=RESOURCES, links=LINKS)
    if not lifespan:
        async with await app_client(app) as client:
            return await client.get(path)
    async with app.router.lifespan_context(app), await app_client(app) as client:
        return await client.get(path)


def differences(body: dict[str, Any]) -> list[dict[str, Any]]:
    return body["schemaDrift"]["differences"]


def find(body: dict[str, Any], kind: str, **where: str | None) -> dict[str, Any]:
    """The one difference of `kind` matching `where` (fails with all of them shown)."""
    found = [
        d
        for d in differences(body)
        if d["kind"] == kind and all(d.get(key) == value for key, value in where.items())
    ]
    assert len(found) == 1, f"no single {kind} {where} in {differences(body)}"
    return found[0]
