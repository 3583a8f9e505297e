"""The application factory. Importing this module connects to nothing."""

from __future__ import annotations

import gc
import hashlib
import hmac
from collections.abc import AsyncGenerator, Sequence
from contextlib import asynccontextmanager

import sentry_sdk
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from loguru import logger
from sentry_sdk.integrations.loguru import LoggingLevels, LoguruIntegration

from app import __version__
from app.api.hot import HotPath
from app.api.main import api_routers
from app.core.config import Settings, get_settings
from app.core.db import create_database, create_engine, prepare_embedded_database
from app.core.errors import install_error_handlers
from app.core.logging import configure_logging, flush_logs
from app.core.metrics import install_metrics, start_metrics, stop_metrics
from app.core.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from app.core.security import TokenVerifier
from app.core.startup import check_prisma_dir
from app.resource import Link, Resource

API_PREFIX = "/api/v1"


def _operation_id(route: APIRoute) -> str:
    """camelCase operation ids (`listPages`) so generated TypeScript clients read well."""
    head, *rest = route.name.split("_")
    return head + "".join(word.capitalize() for word in rest)


def init_sentry(settings: Settings) -> bool:
    """Start Sentry when `SENTRY_DSN` is set; errors logged through loguru become events."""
    if settings.SENTRY_DSN is None:
        return False
    sentry_sdk.init(
        dsn=settings.SENTRY_DSN.get_secret_value(),
        environment=settings.ENVIRONMENT,
        release=f"app-api@{__version__}",
        traces_sample_rate=settings.SENTRY_TRACES_SAMPLE_RATE,
        # The successor of `send_default_pii=False` (deprecated in sentry-sdk 2.7x): no user
        # identity, no request bodies, no local variables (they may hold tokens) in events.
        data_collection={"user_info": False, "http_bodies": [], "stack_frame_variables": False},
        include_local_variables=False,
        integrations=[
            LoguruIntegration(level=LoggingLevels.INFO.value, event_level=LoggingLevels.ERROR.value)
        ],
    )
    return True


def create_app(
    settings: Settings | None = None,
    *,
    resources: Sequence[Resource] | None = None,
    links: Sequence[Link] | None = None,
) -> FastAPI:
    """Build the ASGI app for these settings (the process's settings by default), serving
    these resources and links (by default app.resources' `V1` and `LINKS`)."""
    settings = settings or get_settings()
    if resources is None:
        from app.core.declarations import LINKS, V1

        resources, links = V1, LINKS if links is None else links

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncGenerator[None]:
        configure_logging(level=settings.LOG_LEVEL, json=settings.log_json, batched=True)
        if init_sentry(settings):
            logger.info("sentry enabled (environment {})", settings.ENVIRONMENT)
        problem = settings.secret_key_problem
        if problem:
            logger.warning("{}: tolerated only because ENVIRONMENT=local", problem)
        database = settings.database
        if database.is_sqlite:
            # The embedded default builds on the schema's folder (its views): a PRISMA_DIR set
            # to a folder without a model stops here. On PostgreSQL only diagnostics read it.
            check_prisma_dir(
                settings.PRISMA_DIR, explicit="PRISMA_DIR" in settings.model_fields_set
            )
        engine = create_engine(settings)
        logger.info(
            "app-api {} starting: environment={} database={}",
            __version__,
            settings.ENVIRONMENT,
            database.url.render_as_string(hide_password=True),
        )
        if database.is_sqlite:
            try:
                from app.core.embedded import served_schemas

                await prepare_embedded_database(
                    engine, prisma_dir=settings.PRISMA_DIR, schemas=served_schemas(resources)
                )
            except BaseException:
                await engine.dispose()  # a failed start leaves no connection behind
                raise
        app.state.engine = engine
        app.state.db = create_database(settings, engine)
        start_metrics(app)
        # Everything allocated at startup is long-lived: move it out of the collector's sight so
        # full collections stay short (they were the p99 tail under load).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await stop_metrics(app)
            await app.state.db.close()
            await engine.dispose()
            logger.info("app-api stopped")
            flush_logs()

    app = FastAPI(
        title=settings.PROJECT_NAME,
        version=__version__,
        summary="JSON CRUD over the Prisma-owned database of the Next.js monorepo.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        generate_unique_id_function=_operation_id,
        lifespan=lifespan,
        # app-api reports through Sentry and its logs. FastAPI's OpenTelemetry bridge would
        # look up three providers on every request to find none configured.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.resources = tuple(resources)  # the drift check compares with their models
    app.state.token_verifier = TokenVerifier(settings)
    # Cursors are signed with a key derived from SECRET_KEY, never with the key itself.
    app.state.cursor_key = hmac.new(
        settings.SECRET_KEY.get_secret_value().encode(), b"app-api cursor", hashlib.sha256
    ).digest()
    install_error_handlers(app)
    routers = api_routers(settings, resources, links or ())
    for router in routers:
        app.include_router(router, prefix=API_PREFIX)

    # Added innermost first: the request id wraps everything, so even a 413 or a 500 has one.
    app.add_middleware(
        HotPath,
        prefix=API_PREFIX,
        resources=tuple(resources),
        routes=[route for router in routers for route in router.routes],
    )
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.MAX_BODY_BYTES)
    if settings.BACKEND_CORS_ORIGINS:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.BACKEND_CORS_ORIGINS,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "If-Match",
                "If-None-Match",
                "X-Request-ID",
            ],
            expose_headers=["ETag", "Location", "X-Request-ID"],
            max_age=600,
        )
    # Outermost: its access line and the metrics (None when off) get the final status, the 500
    # it answers itself included.
    metrics = install_metrics(app, settings)
    app.add_middleware(
        RequestContextMiddleware, on_response=metrics.observe if metrics is not None else None
    )
    return app


app = create_app()
