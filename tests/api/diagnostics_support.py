"""Helpers of the diagnostics tests: scratch PostgreSQL databases built from the machinery
fixture's migrations, a view of the fixture's articles served with them, and one-shot app
calls (the drift check compares the database with the models the app serves)."""

from __future__ import annotations

import datetime
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
from sqlalchemy import Column, MetaData, Text
from sqlalchemy.dialects.postgresql import TIMESTAMP
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from app.main import create_app
from app.resource import Resource, register
from tests.conftest import FIXTURE, app_client, make_settings
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


class _ViewBase(SQLModel, registry=registry(metadata=MetaData())):
    pass


class PublishedArticle(_ViewBase, table=True):
    """The view as `make view-models` declares one (a table marked `is_view`, never created)."""

    __tablename__ = "mx_published_article"  # pyright: ignore[reportAssignmentType]
    __table_args__ = {"info": {"is_view": True}}

    id: str = Field(sa_column=Column("id", Text, primary_key=True))
    title: str = Field(sa_column=Column("title", Text, nullable=False))
    slug: str = Field(sa_column=Column("slug", Text, nullable=False))
    authorId: str | None = Field(default=None, sa_column=Column("authorId", Text))  # noqa: N815
    publishedAt: datetime.datetime | None = Field(  # noqa: N815
        default=None, sa_column=Column("publishedAt", TIMESTAMP(precision=3))
    )


# The fixture's resources and the view, read-only: the drift check compares with what is served.
WITH_VIEW = register(*RESOURCES, Resource(model=PublishedArticle))


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


async def fetch(
    path: str,
    *,
    lifespan: bool = True,
    resources: Sequence[Resource] = RESOURCES,
    **overrides: Any,
) -> httpx.Response:
    """GET `path` from the fixture app (or `resources`) built with these settings (PRISMA_DIR:
    the fixture's folder unless given), its lifespan run when asked."""
    overrides.setdefault("PRISMA_DIR", str(PRISMA_DIR))
    app = create_app(make_settings(**overrides), resources=resources, links=LINKS)
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
