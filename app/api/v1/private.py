"""`/private/diagnostics`: for a developer on their machine. Mounted only when ENVIRONMENT=local."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from loguru import logger

from app.core.config import Settings
from app.core.db import Database
from app.core.errors import ServiceUnavailableError, is_connection_error, problem_responses
from app.diagnostics import (
    DatabaseDiagnostics,
    ServerDiagnostics,
    collect_database_diagnostics,
    collect_server_diagnostics,
    loop_name,
    read_migration_folder,
)

router = APIRouter(prefix="/private/diagnostics", tags=["private"])

DIAGNOSTICS_TIMEOUT_SECONDS = 3.0


@router.get(
    "/server",
    operation_id="serverDiagnostics",
    summary="Process, runtime, package versions and settings (secrets masked)",
)
async def server_diagnostics(request: Request) -> ServerDiagnostics:
    settings: Settings = request.app.state.settings
    return collect_server_diagnostics(settings, event_loop=loop_name(asyncio.get_running_loop()))


@router.get(
    "/database",
    operation_id="databaseDiagnostics",
    summary="Database server, latency, pool, Prisma migrations and live schema drift",
    responses=problem_responses(503),
)
async def database_diagnostics(request: Request) -> DatabaseDiagnostics:
    settings: Settings = request.app.state.settings
    db: Database = request.app.state.db
    engine = db.engine
    migrations_dir = settings.PRISMA_DIR.resolve() / "migrations"
    migration_files = await asyncio.to_thread(read_migration_folder, migrations_dir)
    database = settings.database
    # Behind PgBouncer the schema is not on the search_path: name it when reflecting.
    schema = database.search_path if database.pgbouncer else None
    try:
        async with asyncio.timeout(DIAGNOSTICS_TIMEOUT_SECONDS), db.reserve():
            return await collect_database_diagnostics(
                engine,
                migrations_dir=migrations_dir,
                migration_files=migration_files,
                schema=schema,
                resources=request.app.state.resources,
            )
    except Exception as exc:
        if not is_connection_error(exc):
            raise
        logger.warning("diagnostics: database unreachable ({})", type(exc).__name__)
        raise ServiceUnavailableError() from exc
