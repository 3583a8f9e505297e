"""Liveness and readiness."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from loguru import logger
from pydantic import BaseModel
from sqlalchemy import text

from app.core.db import Database
from app.core.errors import ServiceUnavailableError, is_connection_error, problem_responses

router = APIRouter(prefix="/utils", tags=["utils"])

READY_TIMEOUT_SECONDS = 3.0


class Health(BaseModel):
    status: bool


class Ready(BaseModel):
    status: bool
    database: str


async def _ping(database: Database) -> None:
    # Through the gate like every request: warm read connections go back to the pool only for
    # a caller holding a slot, so the probe waits its turn instead of for the pool.
    async with database.reserve(), database.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


def _consume(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not log "never retrieved"


@router.get("/health-check", operation_id="healthCheck", summary="Liveness (no I/O)")
async def health_check() -> Health:
    return Health(status=True)


@router.get(
    "/ready",
    operation_id="readiness",
    summary="Readiness: pings the database",
    responses=problem_responses(503),
)
async def readiness(request: Request) -> Ready:
    database: Database = request.app.state.db
    # The ping runs as its own task: on timeout we answer at once and let it clean up behind
    # us (closing a stalled connection can take seconds more).
    ping = asyncio.create_task(_ping(database))
    done, _ = await asyncio.wait({ping}, timeout=READY_TIMEOUT_SECONDS)
    if not done:
        ping.cancel()
        ping.add_done_callback(_consume)
        logger.warning("readiness: database did not answer within {}s", READY_TIMEOUT_SECONDS)
        raise ServiceUnavailableError()
    exc = ping.exception()
    if exc is not None:
        if not is_connection_error(exc):
            raise exc
        logger.warning("readiness: database unreachable ({})", type(exc).__name__)
        raise ServiceUnavailableError() from exc
    return Ready(status=True, database="ok")
