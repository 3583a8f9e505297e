"""A fixture model with a column of every Prisma scalar type, served by its own small app.

`WireSample` is what the generator writes for the Prisma model below (the PostgreSQL DDL is
what `prisma migrate` writes for it); it lives on its own metadata, never on the example's.
The app mounts only its resource, with the HotPath in front as `create_app` does, so reads and
writes go through both the fast path and FastAPI.

    enum Mood { HAPPY @map("happy")  SAD  @@map("wire_mood") }
    model WireSample {
      id Int @id @default(autoincrement())   label String     vc String? @db.VarChar(10)
      ch String? @db.Char(3)   small Int? @db.SmallInt   i Int?   bi BigInt?   f Float?
      real Float? @db.Real   dec Decimal?   d2 Decimal? @db.Decimal(10, 2)   b Boolean?
      ts DateTime?   tstz DateTime? @db.Timestamptz(6)   day DateTime? @db.Date
      t DateTime? @db.Time(3)   ttz DateTime? @db.Timetz(3)   j Json?   jd Json @default("{}")
      blob Bytes?   mood Mood?   moods Mood[]   ints Int[]   floats Float[]
      decs Decimal[] @db.Decimal(10, 2)   jsons Json[]   blobs Bytes[]   stamps DateTime[]
      bigs BigInt[]   u String? @db.Uuid   inet String? @db.Inet   mappedName String? @map("mapped_name")
      createdAt DateTime @default(now())   created_at Int?
    }
"""

from __future__ import annotations

import datetime
import decimal
import enum
import hashlib
import hmac
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
from fastapi import FastAPI
from sqlalchemy import (
    CHAR,
    JSON,
    REAL,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Double,
    Enum,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, INET, JSONB, TIME, TIMESTAMP
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from app.api.hot import HotPath
from app.api.routes import resource_router
from app.core.db import create_database, create_engine
from app.core.errors import install_error_handlers
from app.core.security import TokenVerifier
from app.main import API_PREFIX
from app.prisma_defaults import enum_values
from app.resource import Resource, equals, has, register
from tests.conftest import make_settings
from tests.support import bearer

URL = f"{API_PREFIX}/wire-samples/"
READ = bearer("wire-samples:read")
WRITE = bearer("wire-samples:write")


class Mood(enum.StrEnum):
    HAPPY = "happy"
    SAD = "SAD"


class _Base(SQLModel, registry=registry(metadata=MetaData())):
    pass


def _list(item: Any) -> Any:
    return ARRAY(item).with_variant(JSON(), "sqlite")


_MOOD = Enum(Mood, name="wire_mood", values_callable=enum_values)
_JSONB = JSONB(none_as_null=True).with_variant(JSON(none_as_null=True), "sqlite")


class WireSample(_Base, table=True):
    __tablename__ = "WireSample"  # pyright: ignore[reportAssignmentType]
    __table_args__ = (
        PrimaryKeyConstraint("id", name="WireSample_pkey"),
        CheckConstraint('"small" <> 13', name="WireSample_small_check"),
    )

    id: int = Field(
        default=None, sa_column=Column("id", Integer, primary_key=True, autoincrement=True)
    )
    label: str = Field(sa_column=Column("label", Text, nullable=False))
    vc: str | None = Field(default=None, sa_column=Column("vc", String(10)))
    ch: str | None = Field(default=None, sa_column=Column("ch", CHAR(3)))
    small: int | None = Field(default=None, sa_column=Column("small", SmallInteger))
    i: int | None = Field(default=None, sa_column=Column("i", Integer))
    bi: int | None = Field(default=None, sa_column=Column("bi", BigInteger))
    f: float | None = Field(default=None, sa_column=Column("f", Double(53)))
    real: float | None = Field(default=None, sa_column=Column("real", REAL))
    dec: decimal.Decimal | None = Field(default=None, sa_column=Column("dec", Numeric(65, 30)))
    d2: decimal.Decimal | None = Field(default=None, sa_column=Column("d2", Numeric(10, 2)))
    b: bool | None = Field(default=None, sa_column=Column("b", Boolean))
    ts: datetime.datetime | None = Field(
        default=None, sa_column=Column("ts", TIMESTAMP(precision=3))
    )
    tstz: datetime.datetime | None = Field(
        default=None, sa_column=Column("tstz", TIMESTAMP(True, 6))
    )
    day: datetime.date | None = Field(default=None, sa_column=Column("day", Date))
    t: datetime.time | None = Field(default=None, sa_column=Column("t", TIME(precision=3)))
    ttz: datetime.time | None = Field(default=None, sa_column=Column("ttz", TIME(True, 3)))
    j: Any = Field(default=None, sa_column=Column("j", _JSONB))
    jd: Any = Field(
        default=None,
        sa_column=Column("jd", _JSONB, nullable=False, server_default=text("'{}'")),
    )
    blob: bytes | None = Field(default=None, sa_column=Column("blob", LargeBinary))
    mood: Mood | None = Field(default=None, sa_column=Column("mood", _MOOD))
    moods: list[Mood] | None = Field(default=None, sa_column=Column("moods", _list(_MOOD)))
    ints: list[int] | None = Field(default=None, sa_column=Column("ints", _list(Integer())))
    floats: list[float] | None = Field(
        default=None, sa_column=Column("floats", _list(Double(precision=53)))
    )
    decs: list[decimal.Decimal] | None = Field(
        default=None, sa_column=Column("decs", _list(Numeric(precision=10, scale=2)))
    )
    jsons: list[object] | None = Field(default=None, sa_column=Column("jsons", _list(JSONB())))
    blobs: list[bytes] | None = Field(default=None, sa_column=Column("blobs", _list(LargeBinary())))
    stamps: list[datetime.datetime] | None = Field(
        default=None, sa_column=Column("stamps", _list(TIMESTAMP(precision=3)))
    )
    bigs: list[int] | None = Field(default=None, sa_column=Column("bigs", _list(BigInteger())))
    u: uuid.UUID | None = Field(default=None, sa_column=Column("u", Uuid))
    inet: object | None = Field(
        default=None, sa_column=Column("inet", INET().with_variant(Text(), "sqlite"))
    )
    mapped_name: str | None = Field(
        default=None, sa_column=Column("mapped_name", Text, info={"prisma": "mappedName"})
    )
    createdAt: datetime.datetime = Field(  # noqa: N815
        default=None,
        sa_column=Column(
            "createdAt",
            TIMESTAMP(precision=3),
            nullable=False,
            server_default=text("CURRENT_TIMESTAMP"),
        ),
    )
    created_at: int | None = Field(default=None, sa_column=Column("created_at", Integer))


# What `prisma migrate` writes for the model above.
POSTGRES_DDL = """
CREATE TYPE "wire_mood" AS ENUM ('happy', 'SAD');
CREATE TABLE "WireSample" (
    "id" SERIAL NOT NULL,
    "label" TEXT NOT NULL,
    "vc" VARCHAR(10),
    "ch" CHAR(3),
    "small" SMALLINT,
    "i" INTEGER,
    "bi" BIGINT,
    "f" DOUBLE PRECISION,
    "real" REAL,
    "dec" DECIMAL(65,30),
    "d2" DECIMAL(10,2),
    "b" BOOLEAN,
    "ts" TIMESTAMP(3),
    "tstz" TIMESTAMPTZ(6),
    "day" DATE,
    "t" TIME(3),
    "ttz" TIMETZ(3),
    "j" JSONB,
    "jd" JSONB NOT NULL DEFAULT '{}',
    "blob" BYTEA,
    "mood" "wire_mood",
    "moods" "wire_mood"[],
    "ints" INTEGER[],
    "floats" DOUBLE PRECISION[],
    "decs" DECIMAL(10,2)[],
    "jsons" JSONB[],
    "blobs" BYTEA[],
    "stamps" TIMESTAMP(3)[],
    "bigs" BIGINT[],
    "u" UUID,
    "inet" INET,
    "mapped_name" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "created_at" INTEGER,
    CONSTRAINT "WireSample_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "WireSample_small_check" CHECK ("small" <> 13)
);
"""

_NOT_WRITABLE = {"id", "createdAt", "mapped_name"}
WRITABLE = (*(name for name in WireSample.model_fields if name not in _NOT_WRITABLE), "mappedName")

SAMPLES = Resource(
    model=WireSample,
    segment="wire-samples",
    writable=WRITABLE,
    orderings=("id", "f", "dec", "tstz", "t", "createdAt", "created_at"),
    filters={"mood": equals(), "moods": has("moods"), "f": equals(), "blob": equals()},
)
register(SAMPLES)


def build_app(database_url: str, *, hot: bool = True) -> FastAPI:
    """The resource's routes behind the HotPath (`hot`), on `database_url` (on PostgreSQL the
    tables are already there)."""
    settings = make_settings(DATABASE_URL=database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        if settings.database.is_sqlite:
            async with engine.begin() as connection:
                await connection.run_sync(WireSample.metadata.create_all)
        app.state.engine = engine
        app.state.db = create_database(settings, engine)
        try:
            yield
        finally:
            await app.state.db.close()
            await engine.dispose()

    app = FastAPI(lifespan=lifespan)
    app.state.settings = settings
    app.state.token_verifier = TokenVerifier(settings)
    app.state.cursor_key = hmac.new(b"wire", b"app-api cursor", hashlib.sha256).digest()
    install_error_handlers(app)
    router = resource_router(SAMPLES)
    app.include_router(router, prefix=API_PREFIX)
    if hot:
        app.add_middleware(HotPath, prefix=API_PREFIX, resources=(SAMPLES,), routes=router.routes)
    return app


@dataclass(frozen=True)
class Served:
    client: httpx.AsyncClient
    engine: AsyncEngine
    dialect: str

    async def sql(self, statement: str, **params: Any) -> list[dict[str, Any]]:
        """Rows read with SQL, not through the API."""
        async with self.engine.connect() as connection:
            result = await connection.execute(text(statement), params)
            return [dict(row) for row in result.mappings()]

    async def clear(self) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(text('DELETE FROM "WireSample"'))


@asynccontextmanager
async def serving(database_url: str, *, hot: bool = True) -> AsyncIterator[Served]:
    app = build_app(database_url, hot=hot)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            engine = app.state.engine
            yield Served(http, engine, engine.dialect.name)


def item_url(sample_id: int | str) -> str:
    return f"{URL}{sample_id}"


# The Prisma schema of `WireSample` (tests/api/test_wire_prisma_client.py generates its client).
PRISMA_SCHEMA = """
datasource db {
  provider = "postgresql"
}

enum Mood {
  HAPPY @map("happy")
  SAD

  @@map("wire_mood")
}

model WireSample {
  id         Int        @id @default(autoincrement())
  label      String
  vc         String?    @db.VarChar(10)
  ch         String?    @db.Char(3)
  small      Int?       @db.SmallInt
  i          Int?
  bi         BigInt?
  f          Float?
  real       Float?     @db.Real
  dec        Decimal?
  d2         Decimal?   @db.Decimal(10, 2)
  b          Boolean?
  ts         DateTime?
  tstz       DateTime?  @db.Timestamptz(6)
  day        DateTime?  @db.Date
  t          DateTime?  @db.Time(3)
  ttz        DateTime?  @db.Timetz(3)
  j          Json?
  jd         Json       @default("{}")
  blob       Bytes?
  mood       Mood?
  moods      Mood[]
  ints       Int[]
  floats     Float[]
  decs       Decimal[]  @db.Decimal(10, 2)
  jsons      Json[]
  blobs      Bytes[]
  stamps     DateTime[]
  bigs       BigInt[]
  u          String?    @db.Uuid
  inet       String?    @db.Inet
  mappedName String?    @map("mapped_name")
  createdAt  DateTime   @default(now())
  created_at Int?
}
"""


@contextmanager
def postgres_wire_database(server_url: str, prefix: str) -> Iterator[str]:
    """A scratch PostgreSQL database holding the wire fixture's table (dropped afterwards)."""
    from tools.migrate import create_scratch_database, drop_database, to_conninfo

    url = create_scratch_database(server_url, prefix)
    try:
        with psycopg.connect(to_conninfo(url), autocommit=True) as connection:
            connection.execute(POSTGRES_DDL.encode())
        yield url
    finally:
        drop_database(url)
