"""Fixtures of the reliability suite: the leak watch, a scratch PostgreSQL database (the
machinery fixture's schema) reached through a password role, the fixture app on SQLite and
PostgreSQL, and the TCP fault proxy."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI

from tests.faults import TcpProxy
from tests.reliability.support import (
    TEST_DATABASE_URL,
    WATCH,
    PgDatabase,
    PgRole,
    SecretWatch,
    client_for,
    rel_settings,
    running_app,
    scratch_database,
)


@pytest.fixture(scope="session", autouse=True)
def leak_watch() -> Iterator[SecretWatch]:
    """Capture every log line of the session, whatever app is started and when.

    Each app's lifespan calls `configure_logging`, which removes every loguru sink: the watch
    re-attaches its sink right after.
    """
    import app.main as main_module

    original = main_module.configure_logging

    def configure_and_watch(**kwargs: object) -> None:
        original(**kwargs)  # pyright: ignore[reportArgumentType]
        WATCH.attach()

    patch = pytest.MonkeyPatch()
    patch.setattr(main_module, "configure_logging", configure_and_watch)
    WATCH.attach()
    try:
        yield WATCH
    finally:
        patch.undo()
        WATCH.detach()


# ------------------------------------------------------------------------------ PostgreSQL


@pytest.fixture(scope="session")
def pg_role() -> Iterator[PgRole]:
    """A LOGIN role with a password (the app connects with it over 127.0.0.1)."""
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL is not set (PostgreSQL reliability tests)")
    import psycopg
    from psycopg import sql

    from tools.migrate import to_conninfo

    role = PgRole(
        name=f"app_api_secret_{secrets.token_hex(4)}",
        password=WATCH.secret("database password", "pw-" + secrets.token_hex(20)),
    )
    with psycopg.connect(to_conninfo(TEST_DATABASE_URL), autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(role.name), sql.Literal(role.password)
            )
        )
    try:
        yield role
    finally:
        with psycopg.connect(to_conninfo(TEST_DATABASE_URL), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role.name)))


@pytest.fixture(scope="session")
def pg(pg_role: PgRole) -> Iterator[PgDatabase]:
    """The suite's scratch database (faults, concurrency, hostile input, auth)."""
    with scratch_database(pg_role, "app_api_rel") as database:
        yield database


@pytest.fixture(scope="session")
async def pg_app(pg: PgDatabase) -> AsyncIterator[FastAPI]:
    """The service on the scratch database, as staging runs it (password role, 127.0.0.1)."""
    settings = rel_settings(ENVIRONMENT="staging", DATABASE_URL=pg.app_url())
    async with running_app(settings) as application:
        yield application


@pytest.fixture
async def pg_client(pg: PgDatabase, pg_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `pg_app` on an empty database."""
    await pg.truncate()
    async with client_for(pg_app) as client:
        yield client


@pytest.fixture
async def proxy(pg: PgDatabase) -> AsyncIterator[TcpProxy]:
    """A fault-injecting TCP proxy in front of the scratch database's server."""
    fault_proxy = TcpProxy(pg.host, pg.port)
    await fault_proxy.start()
    try:
        yield fault_proxy
    finally:
        await fault_proxy.close()


# ---------------------------------------------------------------------------------- SQLite


@pytest.fixture(scope="session")
async def sqlite_app(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    path = tmp_path_factory.mktemp("reliability") / "rel.sqlite3"
    async with running_app(rel_settings(DATABASE_URL=f"sqlite:///{path}")) as application:
        yield application
