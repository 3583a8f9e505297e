"""The async engine and the one transaction every request runs in."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from loguru import logger
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry
from starlette.requests import Request

from app.core.config import DatabaseConfig, Settings
from app.core.errors import ServiceUnavailableError

# A pooled connection idle longer than this is pinged before use (see _ping_idle_connections).
PING_AFTER_IDLE_SECONDS = 5.0


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
    engine = create_async_engine(database.url, **engine_options(database, settings))
    if database.is_sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    else:
        _ping_idle_connections(engine)
    return engine


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """Pre-ping, but only connections that sat idle in the pool for a while.

    `pool_pre_ping` pings on every checkout: with asyncpg that is BEGIN, `;`, ROLLBACK — three
    round trips per request, more than the query itself. A connection that went stale (server
    restart, failover, idle timeout in a proxy) has been idle; one handed back a moment ago by
    a busy pool has not. A failed ping makes the pool open a fresh connection; a connection
    that dies between pings raises a disconnect, which invalidates the whole pool at once.
    """
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    def on_checkin(_dbapi: DBAPIConnection | None, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    def on_checkout(dbapi: DBAPIConnection, record: ConnectionPoolEntry, _proxy: object) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi)
        except Exception as exc:
            raise sa_exc.DisconnectionError(
                f"stale pooled connection: {type(exc).__name__}"
            ) from exc

    event.listen(pool, "checkin", on_checkin)
    event.listen(pool, "checkout", on_checkout)


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """ORM sessions, for code that works with model objects (the embedded demo rows)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


class FairGate:
    """First come, first served admission to the connection pool.

    SQLAlchemy's async pool hands a returned connection to whichever request asks next, not to
    the one waiting longest: with more concurrent requests than connections, some wait for
    seconds (p50 6 ms, p99 390 ms in `make bench`). Admitting at most pool-size requests in
    FIFO order (asyncio.Semaphore is fair) keeps the wait proportional to the queue.
    """

    def __init__(self, size: int, timeout: float) -> None:
        self._slots = asyncio.Semaphore(size)
        self._timeout = timeout

    @asynccontextmanager
    async def slot(self) -> AsyncGenerator[None]:
        if self._slots.locked():
            try:
                async with asyncio.timeout(self._timeout):
                    await self._slots.acquire()
            except TimeoutError:
                raise ServiceUnavailableError(
                    "All database connections are busy; try again shortly."
                ) from None
        else:
            await self._slots.acquire()
        try:
            yield
        finally:
            self._slots.release()


def create_gate(settings: Settings) -> FairGate:
    database = settings.database
    return FairGate(database.pool_size + settings.DB_MAX_OVERFLOW, database.pool_timeout)


async def get_connection(request: Request) -> AsyncIterator[AsyncConnection]:
    """One connection per request inside one transaction.

    Declared with `Depends(..., scope="function")` so the commit runs when the route returns and
    *before* the response is sent: a failed commit becomes an error response, never a 2xx.
    Any exception rolls the transaction back. The routes issue Core statements (no ORM
    identity map: the data path reads and writes rows, not objects).
    """
    engine: AsyncEngine = request.app.state.engine
    gate: FairGate = request.app.state.db_gate
    async with gate.slot(), engine.begin() as connection:
        yield connection


async def get_read_connection(request: Request) -> AsyncIterator[AsyncConnection]:
    """A connection for routes that only read: autocommit, no BEGIN/COMMIT round trips.

    A read needs no transaction to be correct, and skipping BEGIN/COMMIT saves two of the three
    round trips of a by-id read. Writes always use `get_connection`.
    """
    engine: AsyncEngine = request.app.state.read_engine
    gate: FairGate = request.app.state.db_gate
    async with gate.slot(), engine.connect() as connection:
        yield connection


def read_engine(engine: AsyncEngine) -> AsyncEngine:
    """The same engine and pool, with connections in autocommit."""
    return engine.execution_options(isolation_level="AUTOCOMMIT")


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
