"""Liveness and readiness."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from loguru import logger
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.errors import ServiceUnavailableError, is_connection_error, problem_responses

router = APIRouter(prefix="/utils", tags=["utils"])

READY_TIMEOUT_SECONDS = 3.0


class Health(BaseModel):
    status: bool


class Ready(BaseModel):
    status: bool
    database: str


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
    engine: AsyncEngine = request.app.state.engine
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:
        if not is_connection_error(exc):
            raise
        logger.warning("readiness: database unreachable ({})", type(exc).__name__)
        raise ServiceUnavailableError() from exc
    return Ready(status=True, database="ok")
