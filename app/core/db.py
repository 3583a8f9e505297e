"""The async engine and the one transaction every request runs in."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from loguru import logger
from sqlalchemy import event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry
from starlette.requests import Request

from app.core.config import DatabaseConfig, Settings


def _unique_statement_name() -> str:
    # Behind PgBouncer (transaction mode) two clients may share a server connection: asyncpg's
    # default statement names would collide there.
    return f"__asyncpg_{uuid.uuid4().hex}__"


def engine_options(database: DatabaseConfig, settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `create_async_engine`, per dialect."""
    if database.is_sqlite:
        return {"connect_args": {"timeout": database.connect_timeout}}
    server_settings = {"application_name": database.application_name, "timezone": "UTC"}
    if not database.pgbouncer:
        # PgBouncer refuses startup parameters it does not track.
        server_settings["statement_timeout"] = str(settings.DB_STATEMENT_TIMEOUT_MS)
        if database.search_path:
            server_settings["search_path"] = database.search_path
    connect_args: dict[str, Any] = {
        "server_settings": server_settings,
        "timeout": database.connect_timeout,
        "command_timeout": max(
            settings.DB_STATEMENT_TIMEOUT_MS / 1000 + 5, database.connect_timeout
        )
        if settings.DB_STATEMENT_TIMEOUT_MS
        else None,
        "statement_cache_size": database.statement_cache_size,
    }
    if database.ssl is not None:
        connect_args["ssl"] = database.ssl
    if database.pgbouncer:
        connect_args["prepared_statement_name_func"] = _unique_statement_name
        # SQLAlchemy's own statement cache too: a cached statement would be reused on another
        # server connection, where it does not exist.
        connect_args["prepared_statement_cache_size"] = 0
    options: dict[str, Any] = {
        "connect_args": connect_args,
        "pool_size": database.pool_size,
        "max_overflow": settings.DB_MAX_OVERFLOW,
        "pool_timeout": database.pool_timeout,
        "pool_recycle": 1800,
    }
    if database.pgbouncer:
        options["execution_options"] = (
            {"schema_translate_map": {None: database.search_path}} if database.search_path else {}
        )
    return options


def create_engine(settings: Settings) -> AsyncEngine:
    """The process's engine (created in the lifespan, never at import)."""
    database = settings.database
    engine = create_async_engine(
        database.url, pool_pre_ping=True, **engine_options(database, settings)
    )
    if database.is_sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # Objects stay readable after commit: the response is built once the transaction is over.
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request inside one transaction.

    Declared with `Depends(..., scope="function")` so the commit runs when the route returns and
    *before* the response is sent: a failed commit becomes an error response, never a 2xx.
    Any exception rolls the transaction back.
    """
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session, session.begin():
        yield session


async def prepare_embedded_database(engine: AsyncEngine, *, seed: bool = True) -> None:
    """SQLite only: create the tables from the generated models and add demo rows.

    Never on PostgreSQL: there the schema belongs to Prisma, and `create_all` would silently
    create a table a migration has not.
    """
    if engine.dialect.name != "sqlite":
        raise RuntimeError(
            "prepare_embedded_database: SQLite only (the schema of PostgreSQL is Prisma's)"
        )
    from app.core.embedded import create_tables, seed_demo_rows

    async with engine.begin() as connection:
        created = await connection.run_sync(create_tables)
    if created:
        logger.info("embedded database: created {} tables", created)
    if seed:
        async with create_sessionmaker(engine)() as session, session.begin():
            added = await seed_demo_rows(session)
        if added:
            logger.info("embedded database: added {} demo rows", added)
