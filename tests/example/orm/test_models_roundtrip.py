"""The committed app/models.py round-trips rows on PostgreSQL (asyncpg) and SQLite (aiosqlite)."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, inspect, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlmodel import SQLModel, col

from app.models import Page, PageRevision, PageStatus, Role, Tag, User
from app.view_tables import PublishedPage
from tests.orm.conftest import asyncpg_url

CUID = re.compile(r"^c[a-z0-9]{24}$")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    if request.param == "sqlite":
        eng = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'orm.sqlite3'}")
        async with eng.begin() as conn:
            # The embedded default: tables from the generated models, on SQLite only.
            await conn.run_sync(SQLModel.metadata.create_all)
    else:
        url = request.getfixturevalue("orm_migrated_url")
        eng = create_async_engine(asyncpg_url(url))
    try:
        yield eng
    finally:
        await eng.dispose()


async def raw(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).one()


async def test_page_round_trip(engine: AsyncEngine) -> None:
    suffix = uuid.uuid4().hex[:8]
    async with AsyncSession(engine, expire_on_commit=False) as session:
        author = User(email=f"a-{suffix}@example.com")
        tag = Tag(name=f"tag-{suffix}")
        page = Page(
            title="Hello",
            slug=f"hello-{suffix}",
            tags=["a", "b"],
            metadata_={"k": [1, None], "s": "x"},
            status=PageStatus.SCHEDULED,
            author=author,
            tagItems=[tag],
        )
        assert CUID.match(page.id)  # Prisma's cuid(), set at construction
        assert page.updatedAt.tzinfo is None
        session.add(page)
        await session.commit()
        page_id, first_updated = page.id, page.updatedAt

    async with AsyncSession(engine) as session:
        got = (await session.execute(select(Page).where(col(Page.id) == page_id))).scalar_one()
        assert got.tags == ["a", "b"]
        assert got.metadata_ == {"k": [1, None], "s": "x"}
        assert got.status is PageStatus.SCHEDULED
        assert got.published is False  # database defaults
        assert got.views == 0
        assert got.createdAt is not None
        assert got.updatedAt == first_updated  # ms precision survives TIMESTAMP(3)
        author_row = (
            await session.execute(select(User).where(col(User.id) == got.authorId))
        ).scalar_one()
        assert author_row.role is Role.USER

    # Core update() advances @updatedAt too (Column onupdate), as Prisma's client would.
    await asyncio.sleep(0.005)
    async with AsyncSession(engine) as session:
        await session.execute(update(Page).where(col(Page.id) == page_id).values(title="Hello 2"))
        await session.commit()
    async with AsyncSession(engine) as session:
        got = (await session.execute(select(Page).where(col(Page.id) == page_id))).scalar_one()
        assert got.title == "Hello 2"
        assert got.updatedAt > first_updated
        second_updated = got.updatedAt
        # ORM update as well
        await asyncio.sleep(0.005)
        got.views = 5
        await session.commit()
        await session.refresh(got)
        assert got.updatedAt > second_updated


async def test_metadata_none_is_sql_null(engine: AsyncEngine) -> None:
    suffix = uuid.uuid4().hex[:8]
    async with AsyncSession(engine) as session:
        page = Page(title="Null", slug=f"null-{suffix}", metadata_=None)
        page_id = page.id
        session.add(page)
        await session.commit()
    row = await raw(engine, 'SELECT metadata IS NULL FROM "Page" WHERE id = :id', id=page_id)
    assert bool(row[0]) is True


async def test_page_revision_defaults(engine: AsyncEngine) -> None:
    suffix = uuid.uuid4().hex[:8]
    async with AsyncSession(engine, expire_on_commit=False) as session:
        page = Page(title="Rev", slug=f"rev-{suffix}")
        revision = PageRevision(
            page_id=page.id, page=page, revision=1, effective_on=date(2026, 11, 1)
        )
        session.add(revision)
        await session.commit()
        assert isinstance(revision.external_id, uuid.UUID)  # @default(uuid()) on @db.Uuid
        assert revision.edited_at is not None  # @updatedAt
    async with AsyncSession(engine) as session:
        got = (
            await session.execute(select(PageRevision).where(col(PageRevision.page_id) == page.id))
        ).scalar_one()
        assert got.external_id == revision.external_id
        assert got.price == Decimal(0)
        assert got.byte_size == 0


async def test_view_is_read_only_and_never_created(engine: AsyncEngine) -> None:
    assert "PublishedPage" not in SQLModel.metadata.tables
    table = inspect(PublishedPage).local_table
    assert isinstance(table, Table)
    assert table.info["is_view"] is True
    assert [c.name for c in inspect(PublishedPage).primary_key] == ["id"]
    async with engine.connect() as conn:
        kind = await conn.run_sync(lambda c: inspect(c).get_view_names())
        tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
    assert "PublishedPage" not in tables
    if engine.dialect.name == "postgresql":
        assert "PublishedPage" in kind
        suffix = uuid.uuid4().hex[:8]
        async with AsyncSession(engine, expire_on_commit=False) as session:
            page = Page(
                title="Pub", slug=f"pub-{suffix}", published=True, status=PageStatus.PUBLISHED
            )
            session.add(page)
            await session.commit()
            got = (
                await session.execute(select(PublishedPage).where(col(PublishedPage.id) == page.id))
            ).scalar_one()
            assert got.slug == f"pub-{suffix}"
            session.add(PublishedPage(id="x", title="t", slug="s", updatedAt=got.updatedAt))
            with pytest.raises(TypeError, match="read-only"):
                await session.flush()
