"""Demo rows of the embedded default come from the models: any schema, no edit."""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from loguru import logger
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    Uuid,
    event,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, CITEXT, JSONB
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import Mapper, registry, relationship

from app.core.demo import ROWS_PER_TABLE, fill_order, foreign_keys, seed
from app.core.embedded import create_tables
from app.prisma_defaults import cuid

CUID = re.compile(r"^c[a-z0-9]{24}$")


class Plan(enum.StrEnum):
    FREE = "FREE"
    PRO = "PRO"


def fixture_metadata() -> MetaData:
    """A schema the test owns: every scalar type, a cycle, a self-relation, composite keys."""
    metadata = MetaData()
    Table(
        "Org",
        metadata,
        Column("id", Text, primary_key=True, default=cuid),
        Column("name", String(4), nullable=False),
        Column("plan", Enum(Plan, name="Plan"), nullable=False, server_default=text("'FREE'")),
        Column("ownerId", BigInteger),  # closes a cycle with User.orgId: nullable, left NULL
        Column("parentId", Text),  # a self-relation
        Column("settings", JSONB().with_variant(JSON(), "sqlite"), nullable=False),
        Column("tags", ARRAY(Text()).with_variant(JSON(), "sqlite"), nullable=False),
        Column("domain", CITEXT, nullable=False),
        ForeignKeyConstraint(["ownerId"], ["User.id"], name="Org_ownerId_fkey", use_alter=True),
        ForeignKeyConstraint(["parentId"], ["Org.id"], name="Org_parentId_fkey"),
        Index("Org_name_key", "name", unique=True),
        Index("Org_plan_key", "plan", "name", unique=True),
    )
    Table(
        "User",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("orgId", Text, nullable=False),
        Column("email", Text, nullable=False),
        Column("external", Uuid, nullable=False),
        Column("balance", Numeric(4, 2), nullable=False),
        Column("ratio", Numeric(2, 2), nullable=False),
        Column("score", Float, nullable=False),
        Column("active", Boolean, nullable=False),
        Column("born", Date, nullable=False),
        Column("seen", DateTime, nullable=False, server_default=text("CURRENT_TIMESTAMP")),
        Column("avatar", LargeBinary),
        ForeignKeyConstraint(["orgId"], ["Org.id"], name="User_orgId_fkey"),
        Index("User_email_key", "email", unique=True),
    )
    Table(
        "Membership",
        metadata,
        Column("orgId", Text, primary_key=True),
        Column("userId", BigInteger, primary_key=True),
        Column("role", Text, nullable=False),
        ForeignKeyConstraint(["orgId"], ["Org.id"], name="Membership_orgId_fkey"),
        ForeignKeyConstraint(["userId"], ["User.id"], name="Membership_userId_fkey"),
    )
    # Two tables that need each other's rows: no order can fill them.
    Table(
        "Egg",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("henId", Integer, nullable=False),
        ForeignKeyConstraint(["henId"], ["Hen.id"], name="Egg_henId_fkey", use_alter=True),
    )
    Table(
        "Hen",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("eggId", Integer, nullable=False),
        ForeignKeyConstraint(["eggId"], ["Egg.id"], name="Hen_eggId_fkey"),
    )
    Table(
        "ActiveUser", metadata, Column("id", BigInteger, primary_key=True), info={"is_view": True}
    )
    return metadata


@pytest.fixture
def info_lines() -> Iterator[list[str]]:
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m).strip()), level="INFO", format="{message}")
    try:
        yield lines
    finally:
        logger.remove(sink)


def enforce_foreign_keys(dbapi_connection: Any, _record: object) -> None:
    """As the app's engine does: SQLite checks foreign keys only when told to."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[tuple[AsyncEngine, MetaData]]:
    metadata = fixture_metadata()
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}")
    event.listen(engine.sync_engine, "connect", enforce_foreign_keys)
    async with engine.begin() as connection:
        await connection.run_sync(create_tables, metadata)
    try:
        yield engine, metadata
    finally:
        await engine.dispose()


async def seed_once(
    engine: AsyncEngine, metadata: MetaData, mappers: list[Mapper[Any]] | None = None
) -> int:
    async with AsyncSession(engine) as session, session.begin():
        return await seed(session, metadata, mappers or [])


async def rows(engine: AsyncEngine, table: str) -> list[dict[str, Any]]:
    async with engine.connect() as connection:
        result = await connection.execute(text(f'SELECT * FROM "{table}"'))
        return [dict(row) for row in result.mappings()]


def test_fill_order_puts_parents_first_and_breaks_cycles_at_a_nullable_key() -> None:
    tables = [t for t in fixture_metadata().tables.values() if not t.info.get("is_view")]
    names = [table.name for table in fill_order(tables, foreign_keys(tables, []))]
    assert names.index("Org") < names.index("User") < names.index("Membership")
    assert sorted(names) == sorted(["Org", "User", "Membership", "Egg", "Hen"])


async def test_every_table_gets_rows_of_its_types_in_key_order(
    sqlite: tuple[AsyncEngine, MetaData], info_lines: list[str]
) -> None:
    engine, metadata = sqlite
    added = await seed_once(engine, metadata)
    assert added == 3 * ROWS_PER_TABLE
    orgs = await rows(engine, "Org")
    assert all(CUID.match(org["id"]) for org in orgs)  # the model's client-side default
    assert len({org["name"] for org in orgs}) == ROWS_PER_TABLE  # unique, within String(4)
    assert all(len(org["name"]) <= 4 for org in orgs)
    assert {org["plan"] for org in orgs} == {"FREE"}  # the enum's first member
    assert all(org["ownerId"] is None and org["parentId"] is None for org in orgs)
    users = await rows(engine, "User")
    assert {user["orgId"] for user in users} == {org["id"] for org in orgs}
    assert len({user["email"] for user in users}) == ROWS_PER_TABLE
    for user in users:
        uuid.UUID(hex=user["external"])
        assert Decimal(str(user["balance"])) < 100
        assert Decimal(str(user["ratio"])) < 1
    memberships = await rows(engine, "Membership")
    pairs = {(m["orgId"], m["userId"]) for m in memberships}
    assert len(pairs) == ROWS_PER_TABLE
    assert {user_id for _, user_id in pairs} == {user["id"] for user in users}
    # The unfillable cycle is skipped, one line each; views get nothing.
    skipped = [line for line in info_lines if "no demo rows" in line]
    assert len(skipped) == 2, skipped
    assert any("Egg" in line for line in skipped)
    assert any("Hen" in line for line in skipped)


async def test_a_database_with_rows_gets_no_demo_rows(
    sqlite: tuple[AsyncEngine, MetaData],
) -> None:
    engine, metadata = sqlite
    assert await seed_once(engine, metadata) > 0
    assert await seed_once(engine, metadata) == 0
    assert len(await rows(engine, "User")) == ROWS_PER_TABLE


async def test_relations_without_foreign_keys_point_at_rows(tmp_path: Path) -> None:
    """`relationMode = "prisma"`: no constraint in the database, the relation on the model."""
    metadata = MetaData()
    site = Table("Site", metadata, Column("id", Uuid, primary_key=True, default=uuid.uuid4))
    visit = Table(
        "Visit",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("siteId", Uuid, nullable=False),
        Index("Visit_siteId_idx", "siteId"),
    )

    class Site:
        pass

    class Visit:
        pass

    models = registry()
    models.map_imperatively(Site, site)
    models.map_imperatively(
        Visit,
        visit,
        properties={
            "site": relationship(
                Site,
                primaryjoin=visit.c.siteId == site.c.id,
                foreign_keys=[visit.c.siteId],
            )
        },
    )
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'prisma-mode.sqlite3'}")
    try:
        async with engine.begin() as connection:
            await connection.run_sync(create_tables, metadata)
        assert await seed_once(engine, metadata, list(models.mappers)) == 2 * ROWS_PER_TABLE
        sites = {row["id"] for row in await rows(engine, "Site")}
        assert {row["siteId"] for row in await rows(engine, "Visit")} == sites
    finally:
        await engine.dispose()
        models.dispose()
