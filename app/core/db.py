"""The async engine and the one transaction every request runs in."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import asyncpg  # pyright: ignore[reportMissingTypeStubs]
import orjson
from loguru import logger
from sqlalchemy import Select, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection, QueuePool
from sqlalchemy.sql.base import Executable
from sqlalchemy.util import greenlet_spawn
from starlette.requests import Request

from app.core.config import DatabaseConfig, Settings
from app.core.errors import ServiceUnavailableError, is_connection_error

if TYPE_CHECKING:
    from app.core.embedded import ServedSchema
from app.core.startup import StartupError, startup_reason

# A pooled connection idle longer than this is pinged before use (see _ping_idle_connections).
PING_AFTER_IDLE_SECONDS = 5.0


def _unique_statement_name() -> str:
    # Behind PgBouncer (transaction mode) two clients may share a server connection: asyncpg's
    # default statement names would collide there.
    return f"__asyncpg_{uuid.uuid4().hex}__"


def loads_json(text: str | bytes) -> Any:
    """Decode a json/jsonb value read from the database.

    orjson is several times faster than the standard library, which SQLAlchemy uses by default
    (a tenth of a 20-page listing's CPU went to decoding `metadata`). It reads an integer
    beyond 64 bits as a float (as JavaScript would) and refuses a number beyond a double
    (`1e400` in a jsonb column written by someone else): the standard library reads that
    document instead, with the same rule for integers, so the row can still be served.
    """
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text, parse_int=_int_or_float)


def dumps_json(value: Any) -> str:
    """Encode a json/jsonb value to write (orjson; the standard library's `json.dumps` was
    SQLAlchemy's default). An integer beyond 64 bits, which orjson refuses, goes through the
    standard library, which writes it whole."""
    try:
        return orjson.dumps(value, default=_json_default).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, default=_json_default)


def _json_default(value: Any) -> Any:
    """Values of list columns SQLite keeps as JSON: a Decimal as its exact text, bytes as
    base64 (app.schemas reads both back)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# The dialect the driver path compiles with: its bind processors are SQLAlchemy's (json values
# written with dumps_json, as the engine's own).
_ASYNCPG_DIALECT = asyncpg_dialect.dialect(json_serializer=dumps_json)


def _int_or_float(digits: str) -> int | float:
    number = int(digits)
    # float() of the text, not of the int: 1e400 (PostgreSQL prints it as 401 digits) → inf.
    return number if -(2**63) <= number < 2**64 else float(digits)


def engine_options(database: DatabaseConfig, settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `create_async_engine`, per dialect."""
    if database.is_sqlite:
        return {
            "connect_args": {"timeout": database.connect_timeout},
            "json_serializer": dumps_json,
            "json_deserializer": loads_json,
        }
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
        "json_serializer": dumps_json,
        "json_deserializer": loads_json,
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
    FIFO order keeps the wait proportional to the queue. (A semaphore under `asyncio.timeout`
    did the same at twice the CPU: a timeout context per wait.)
    """

    def __init__(self, size: int, timeout: float) -> None:
        self._free = size
        # Waiters in arrival order, each with its deadline. Every wait is as long, so the
        # oldest waiter's deadline comes first: one timer, set for the head of the line, does
        # what a timer per wait did (1.4 µs each, under load every write waits).
        self._waiters: deque[tuple[float, asyncio.Future[None]]] = deque()
        self._timeout = timeout
        self._timer: asyncio.TimerHandle | None = None
        self._timer_loop: asyncio.AbstractEventLoop | None = None  # the loop the timer is on
        # Metrics (app.core.metrics reads and sets these): admissions that found a slot free
        # (a count: cheaper than a call on the fast path), the seconds each other admission
        # waited (a timed-out wait too), and each wait that timed out.
        self.admitted_at_once = 0
        self.observe_wait: Callable[[float], None] | None = None
        self.on_timeout: Callable[[], None] | None = None

    async def acquire(self) -> None:
        """Take a slot, waiting in line; ServiceUnavailableError after `timeout` seconds."""
        if self._free > 0 and not self._waiters:
            self._free -= 1
            self.admitted_at_once += 1
            return
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        started = loop.time()
        self._waiters.append((started + self._timeout, waiter))
        if self._timer is None or self._timer_loop is not loop:
            self._timer_loop = loop
            self._timer = loop.call_at(started + self._timeout, self._expire)
        try:
            await waiter
            if self.observe_wait is not None:
                self.observe_wait(loop.time() - started)
        except TimeoutError:
            if self.observe_wait is not None:
                self.observe_wait(loop.time() - started)
            if self.on_timeout is not None:
                self.on_timeout()
            raise ServiceUnavailableError(
                "All database connections are busy; try again shortly."
            ) from None
        except BaseException:
            # Cancelled while waiting. If a slot was handed over meanwhile, pass it on.
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.release()
            raise

    def release(self) -> None:
        """Hand the slot to the longest waiter still waiting, or free it."""
        while self._waiters:
            _, waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1

    def _expire(self) -> None:
        """The timer: time out the waiters whose deadline has passed, then wait for the next."""
        self._timer = None
        loop = asyncio.get_running_loop()  # the timer's own loop: this is its callback
        now = loop.time()
        waiters = self._waiters
        while waiters:
            deadline, waiter = waiters[0]
            if waiter.done():  # cancelled: its place is given up
                waiters.popleft()
            elif deadline <= now:
                waiters.popleft()
                waiter.set_exception(TimeoutError())
            else:
                self._timer = loop.call_at(deadline, self._expire)
                return

    @asynccontextmanager
    async def slot(self) -> AsyncGenerator[None]:
        await self.acquire()
        try:
            yield
        finally:
            self.release()


async def get_connection(request: Request) -> AsyncIterator[Tx]:
    """The request's write transaction (see `Tx`).

    Declared with `Depends(..., scope="function")` so the commit runs when the route returns and
    *before* the response is sent: a failed commit becomes an error response, never a 2xx.
    Any exception rolls the transaction back.
    """
    database: Database = request.app.state.db
    async with database.transaction() as tx:
        yield tx


Row = Mapping[Any, Any]


Processor = Callable[[Any], Any] | None


_REQUIRED = object()


@lru_cache(maxsize=2048)
def _asyncpg_sql(
    statement: Executable,
) -> tuple[str, tuple[str, ...], tuple[Processor, ...], tuple[Any, ...]]:
    """The statement compiled once for asyncpg: SQL with $n placeholders, the parameter names
    in order, each one's bind processor (JSON to text, enums to their names, as SQLAlchemy
    would apply them) and the value the statement itself gives it (`.limit(1)`), if any.
    Statements are built once (module level or cached), so this is too."""
    element: Any = statement
    compiled: Any = element.compile(dialect=_ASYNCPG_DIALECT)
    names: list[str] = list(getattr(compiled, "positiontup", None) or [])
    processors: dict[str, Processor] = compiled._bind_processors
    binds: dict[str, Any] = compiled.binds
    defaults = tuple(
        _REQUIRED if binds[name].required else binds[name].effective_value for name in names
    )
    sql: str = compiled.string
    return sql, tuple(names), tuple(processors.get(name) for name in names), defaults


def _args(statement: Executable, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
    sql, names, processors, defaults = _asyncpg_sql(statement)
    args: list[Any] = []
    for name, process, default in zip(names, processors, defaults, strict=True):
        value = params[name] if default is _REQUIRED or name in params else default
        args.append(value if process is None else process(value))
    return sql, args


def _broke(exc: BaseException, driver: Any) -> bool:
    """Did `exc` leave the connection unusable (rather than fail the statement or its result)?"""
    if driver.is_closed():
        return True
    return not isinstance(exc, asyncpg.PostgresError) and is_connection_error(exc)


def _release(connection: PoolProxiedConnection, broken: BaseException | None) -> None:
    if broken is not None:
        connection.invalidate(broken)  # closed, never handed out again
    connection.close()


def _retire_pool(pool: QueuePool, connection: PoolProxiedConnection, broken: BaseException) -> None:
    """After a disconnect: close `connection` and retire every connection the pool opened before
    now when it is next checked out (what SQLAlchemy does when a statement meets a disconnect)."""
    pool._invalidate(connection, broken)  # pyright: ignore[reportPrivateUsage]
    if connection.is_valid:  # pragma: no cover - _invalidate closes it
        _release(connection, broken)


def _release_all(connections: list[PoolProxiedConnection], broken: BaseException | None) -> None:
    for connection in connections:
        try:
            _release(connection, broken)
        except Exception as exc:  # one failing close must not leave the others checked out
            logger.warning("closing a pooled connection failed: {}", type(exc).__name__)


class Tx:
    """The statements of one write request: what the CRUD layer and the hooks run them on.

    `fetch` runs a statement inside the request's transaction, begun before its first statement
    and committed when the request's work is done, before the response is sent; any error rolls
    it back. `fetch_alone` runs a statement that is a whole write by itself (an INSERT …
    RETURNING, an UPDATE of one row by key): on PostgreSQL, outside a transaction begun here,
    it commits on its own, which saves the BEGIN and COMMIT round trips. Use it only for a
    statement that is complete on its own, or that changed nothing when its result sends the
    caller on (an insert that met a conflict and returned no row): what follows then runs in a
    transaction of its own. Inside a transaction already begun it is part of that transaction;
    on SQLite every statement is (the request is one transaction there, as before).

    Statements must be built once (module level or cached), with a bound parameter for every
    value: PostgreSQL runs them as SQL compiled once per statement.
    """

    dialect: str
    began: bool = False

    async def fetch(
        self, statement: Executable, params: Mapping[str, Any] | None = None
    ) -> Sequence[Row]:
        if not self.began:
            await self._begin()
            self.began = True
        return await self._run(statement, params or {})

    async def fetch_alone(
        self, statement: Executable, params: Mapping[str, Any] | None = None
    ) -> Sequence[Row]:
        return await self._run(statement, params or {})

    async def _begin(self) -> None:
        raise NotImplementedError

    async def _run(self, statement: Executable, params: Mapping[str, Any]) -> Sequence[Row]:
        raise NotImplementedError


class _AlchemyTx(Tx):
    """SQLite (and PgBouncer with a schema): a SQLAlchemy connection in one transaction."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection
        self.dialect = connection.dialect.name
        self.began = True  # engine.begin(): the whole request is one transaction

    async def _run(self, statement: Executable, params: Mapping[str, Any]) -> Sequence[Row]:
        result = await self.connection.execute(statement, dict(params))
        return result.mappings().all() if result.returns_rows else []


class _DriverTx(Tx):
    """PostgreSQL: asyncpg itself, as the read path uses it (SQL compiled once per statement)."""

    dialect = "postgresql"

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self.began = False

    async def _begin(self) -> None:
        await self.driver.execute("BEGIN")

    async def _run(self, statement: Executable, params: Mapping[str, Any]) -> Sequence[Row]:
        sql, args = _args(statement, params)
        try:
            return await self.driver.fetch(sql, *args)
        except asyncpg.IntegrityConstraintViolationError as exc:
            # As SQLAlchemy wraps it: the CRUD layer maps constraints from this one class.
            raise sa_exc.IntegrityError(sql, None, exc) from exc


# A warm connection (see Database) goes back to the pool after this long in the read path, so
# the pool's own upkeep (pool_recycle, invalidation after a disconnect) still reaches it.
WARM_LEASE_SECONDS = 60.0


@dataclass(slots=True)
class _Warm:
    connection: PoolProxiedConnection
    leased_at: float
    idle_since: float


class Database:
    """The engine, the gate in front of its pool, and the read path.

    Reads need no transaction and no SQLAlchemy `Connection`: `fetch` sends SQL compiled once
    per statement straight to asyncpg (its prepared-statement cache, the JSON codecs SQLAlchemy
    installed) on a pooled connection. That is one round trip and none of the per-request
    compile, cache-key, result-processing or transaction-bookkeeping work.

    Taking a connection from SQLAlchemy's async pool and giving it back costs two greenlet
    switches and the pool's bookkeeping: a third of a by-id read's CPU. So the read path keeps
    the connections it used *warm*: still checked out from the pool, on a LIFO list, handed
    straight to the next read. The rules that keep this safe:

    - The gate admits at most `capacity` requests (the pool's size plus overflow), and the pool
      is never asked for more than that: before anyone else takes a connection from the pool
      (`reserve`: writes, the readiness probe, diagnostics), warm connections go back until
      the pool has one to give.
    - A warm connection idle for more than 5 s is pinged before reuse (the pool's rule); one
      taken after WARM_LEASE_SECONDS in the read path goes back to the pool instead.
    - A broken connection (a disconnect, not a failed statement) sends every warm connection
      back invalidated, as SQLAlchemy does with its pool: after a database restart they are all
      dead. The read is then retried once through SQLAlchemy.
    - `close` gives them all back before the engine is disposed.
    """

    def __init__(self, engine: AsyncEngine, gate: FairGate, *, capacity: int) -> None:
        self.engine = engine
        self.gate = gate
        self.capacity = capacity
        self.dialect = engine.dialect.name
        # Behind PgBouncer with ?schema= the tables are schema-qualified by SQLAlchemy's
        # schema_translate_map, which precompiled SQL does not carry: SQLAlchemy runs those.
        translated = engine.get_execution_options().get("schema_translate_map")
        self.precompiled = self.dialect == "postgresql" and not translated
        self._pool = cast("QueuePool", engine.sync_engine.pool)
        self._warm: list[_Warm] = []
        self._closed = False

    @property
    def warm(self) -> int:
        """Connections the read path holds between reads."""
        return len(self._warm)

    async def fetch(self, statement: Select[Any], params: dict[str, Any]) -> Sequence[Row]:
        """The rows of a read-only statement (built once at import, or cached)."""
        await self.gate.acquire()
        try:
            if not self.precompiled:
                return await self._fetch_with_sqlalchemy(statement, params)
            return await self._fetch(statement, params)
        finally:
            self.gate.release()

    async def _fetch(self, statement: Select[Any], params: dict[str, Any]) -> Sequence[Row]:
        sql, args = _args(statement, params)
        warm = await self._lease()
        driver: Any = warm.connection.driver_connection
        try:
            rows = await driver.fetch(sql, *args)
        except TimeoutError as exc:
            # asyncpg's command timeout: the statement was too slow, the server is not gone.
            # This connection's state is unknown (close it); the others are fine; no retry.
            await greenlet_spawn(_release, warm.connection, exc)
            raise
        except Exception as exc:
            if not _broke(exc, driver):
                await self._keep(warm)
                raise  # the statement or its result failed: the connection is fine
            broken = exc
        except BaseException as exc:
            # Cancelled mid-query: the connection's state is unknown. Close it.
            await greenlet_spawn(_release, warm.connection, exc)
            raise
        else:
            await self._keep(warm)
            return rows
        # The connection broke: as SQLAlchemy does with its pool, assume every other one is
        # gone too (a restarted server killed them all), then let SQLAlchemy meet the failure:
        # its disconnect handling empties the pool and raises the error our handler turns into
        # a 503. If the server is back, this is simply a retry on a fresh connection.
        logger.warning("read failed on a broken connection ({}); retrying", type(broken).__name__)
        stale, self._warm = [warm.connection, *(w.connection for w in self._warm)], []
        await greenlet_spawn(_release_all, stale, broken)
        return await self._fetch_with_sqlalchemy(statement, params)

    async def _lease(self) -> _Warm:
        """A warm connection, else one from the pool (the caller holds a gate slot)."""
        warm = await self._take_warm()
        if warm is None:
            now = time.monotonic()
            warm = _Warm(await self.engine.raw_connection(), leased_at=now, idle_since=now)
        return warm

    def transaction(self) -> AbstractAsyncContextManager[Tx]:
        """The write path's `Tx` for the block: a gate slot and one connection.

        On PostgreSQL the connection is a warm one of the read path's (asyncpg itself, SQL
        compiled once per statement); a transaction `fetch` began is committed when the block
        ends and rolled back when it raises. A connection that broke, timed out or was
        cancelled mid-statement is closed, and as SQLAlchemy does after a disconnect the pool's
        other connections are retired (after a server restart they are all dead).
        """
        if not self.precompiled:
            return self._alchemy_transaction()
        return _DriverTransaction(self)

    @asynccontextmanager
    async def _alchemy_transaction(self) -> AsyncGenerator[Tx]:
        async with self.reserve(), self.engine.begin() as connection:
            yield _AlchemyTx(connection)

    async def _after_failed_write(self, warm: _Warm, tx: _DriverTx, exc: BaseException) -> None:
        driver: Any = warm.connection.driver_connection
        if (
            isinstance(exc, Exception)
            and not isinstance(exc, TimeoutError)
            and not _broke(exc, driver)
        ):
            # The statement or the request failed, the connection is fine: end the transaction.
            try:
                if tx.began:
                    await driver.execute("ROLLBACK")
            except BaseException as rollback_exc:
                await greenlet_spawn(_release, warm.connection, rollback_exc)
                raise
            await self._keep(warm)
            return
        if isinstance(exc, Exception) and not isinstance(exc, TimeoutError):
            logger.warning("write failed on a broken connection ({})", type(exc).__name__)
            stale, self._warm = [w.connection for w in self._warm], []
            await greenlet_spawn(_retire_pool, self._pool, warm.connection, exc)
            await greenlet_spawn(_release_all, stale, exc)
            return
        await greenlet_spawn(_release, warm.connection, exc)

    async def _take_warm(self) -> _Warm | None:
        while self._warm:
            warm = self._warm.pop()
            now = time.monotonic()
            if now - warm.leased_at > WARM_LEASE_SECONDS:
                await greenlet_spawn(_release, warm.connection, None)
                continue
            if now - warm.idle_since > PING_AFTER_IDLE_SECONDS:
                driver: Any = warm.connection.driver_connection
                try:
                    await driver.fetchrow(";")
                except BaseException as exc:
                    await greenlet_spawn(_release, warm.connection, exc)
                    if not isinstance(exc, Exception):
                        raise  # cancelled: the connection is closed, not lost
                    continue
            return warm
        return None

    async def _keep(self, warm: _Warm) -> None:
        if self._closed:  # a read that finished during shutdown
            await greenlet_spawn(_release, warm.connection, None)
            return
        warm.idle_since = time.monotonic()
        self._warm.append(warm)

    @asynccontextmanager
    async def reserve(self) -> AsyncGenerator[None]:
        """A gate slot and room in the pool for one connection taken outside the read path.

        Every caller that takes a SQLAlchemy connection (writes, the readiness probe,
        diagnostics) goes through here: warm connections go back only for slot holders.
        """
        async with self.gate.slot():
            await self.make_room()
            yield

    async def make_room(self) -> None:
        """Give warm connections back until the pool has one for a caller outside the read path."""
        while self._warm and self._pool.checkedout() >= self.capacity:
            await greenlet_spawn(_release, self._warm.pop(0).connection, None)

    async def close(self) -> None:
        """Give every warm connection back (before the engine is disposed)."""
        self._closed = True
        warm, self._warm = [w.connection for w in self._warm], []
        await greenlet_spawn(_release_all, warm, None)

    async def _fetch_with_sqlalchemy(
        self, statement: Select[Any], params: dict[str, Any]
    ) -> Sequence[Row]:
        await self.make_room()
        async with self.engine.connect() as connection:
            return (await connection.execute(statement, params)).mappings().all()


class _DriverTransaction:
    """`Database.transaction` on PostgreSQL, as a class: an `@asynccontextmanager` (two of
    them, with the gate's slot) cost 2.5 µs of a write's CPU in generator machinery."""

    __slots__ = ("db", "tx", "warm")

    def __init__(self, db: Database) -> None:
        self.db = db

    async def __aenter__(self) -> Tx:
        db = self.db
        await db.gate.acquire()
        try:
            warm = await db._lease()  # pyright: ignore[reportPrivateUsage]
        except BaseException:
            db.gate.release()
            raise
        self.warm = warm
        self.tx = tx = _DriverTx(warm.connection.driver_connection)
        return tx

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        db, warm, tx = self.db, self.warm, self.tx
        try:
            if exc is not None:
                await db._after_failed_write(warm, tx, exc)  # pyright: ignore[reportPrivateUsage]
                return  # the block's exception goes on
            try:
                if tx.began:
                    await tx.driver.execute("COMMIT")
            except BaseException as failed:
                await db._after_failed_write(warm, tx, failed)  # pyright: ignore[reportPrivateUsage]
                raise
            await db._keep(warm)  # pyright: ignore[reportPrivateUsage]
        finally:
            db.gate.release()


def create_database(settings: Settings, engine: AsyncEngine) -> Database:
    database = settings.database
    capacity = database.pool_size + settings.DB_MAX_OVERFLOW
    return Database(engine, FairGate(capacity, database.pool_timeout), capacity=capacity)


async def prepare_embedded_database(
    engine: AsyncEngine,
    *,
    seed: bool = True,
    prisma_dir: Path | None = None,
    schemas: Sequence[ServedSchema] = (),
) -> None:
    """SQLite only: create the tables of the served models (`schemas`, by default the generated
    app/models.py) and add demo rows.

    Never on PostgreSQL: there the schema belongs to Prisma, and `create_all` would silently
    create a table a migration has not.
    """
    if engine.dialect.name != "sqlite":
        raise RuntimeError(
            "prepare_embedded_database: SQLite only (the schema of PostgreSQL is Prisma's)"
        )
    from app.core.embedded import create_tables, create_views, project_schema, seed_demo_rows

    migrations = (prisma_dir or Path("prisma")) / "migrations"
    schemas = schemas or (project_schema(),)
    try:
        async with engine.begin() as connection:
            created = views = 0
            for schema in schemas:
                created += await connection.run_sync(create_tables, schema.metadata)
            if any(schema.is_project for schema in schemas):
                views = await connection.run_sync(create_views, migrations)
    except sa_exc.OperationalError as exc:
        # Typically a folder that does not exist or cannot be written to.
        raise StartupError(
            f"embedded SQLite database {engine.url.database}: {startup_reason(exc)} "
            "(set SQLITE_PATH to a file in a writable folder, or DATABASE_URL)"
        ) from exc
    if created:
        logger.info("embedded database: created {} tables", created)
    logger.debug("embedded database: {} views from {}", views, migrations)
    if seed:
        async with create_sessionmaker(engine)() as session, session.begin():
            added = 0
            for metadata, mappers in schemas:
                added += await seed_demo_rows(session, metadata, mappers)
        if added:
            logger.info("embedded database: added {} demo rows", added)
