# syntax=docker/dockerfile:1
#
# app-api production image: the locked runtime dependencies, the `app` package and the Prisma
# schema (read by the local-only diagnostics), run by uvicorn as a non-root user.
# Built in CI (.github/workflows/ci.yml, job `docker`); the development machines have no engine.
#
#   docker build -t app-api .
#   docker run -p 8000:8000 -e SECRET_KEY=... -e DATABASE_URL=postgresql://... app-api

ARG PYTHON_VERSION=3.11

# --- builder: uv resolves uv.lock into /app/.venv ------------------------------------------------
FROM python:${PYTHON_VERSION}-slim AS builder

COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /uvx /bin/

# Bytecode compiled once here (faster start, nothing written at run time); files copied out of the
# cache mount instead of hard-linked; the image's Python only, never a downloaded one.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON_PREFERENCE=only-system

WORKDIR /app

# Dependencies in their own layer: rebuilt only when uv.lock or pyproject.toml change.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-install-project --no-dev

COPY app ./app
COPY prisma ./prisma

RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-dev

# --- runtime: the interpreter, the venv and the code; no uv, no compiler, no dev dependency -----
FROM python:${PYTHON_VERSION}-slim AS runtime

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin app

# uvicorn reads WEB_CONCURRENCY (--workers) and FORWARDED_ALLOW_IPS (--forwarded-allow-ips) from
# the environment, so both are tuned per deployment without a shell in CMD. "*" trusts
# X-Forwarded-* from any peer: right when only the load balancer reaches the container; otherwise
# set the proxy's address.
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ENVIRONMENT=production \
    WEB_CONCURRENCY=2 \
    FORWARDED_ALLOW_IPS="*"

WORKDIR /app

# Owned by root and read-only for the service user.
COPY --from=builder /app/.venv /app/.venv
COPY --from=builder /app/app /app/app
COPY --from=builder /app/prisma /app/prisma

USER 10001:10001

EXPOSE 8000

# Liveness only (no database I/O); urllib raises on any non-2xx answer, so the exit code is 1.
# During the start period it polls every 2 s (--start-interval, Engine 25+), then every 30 s.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --start-interval=2s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/v1/utils/health-check', timeout=4)"]

# Exec form: `python -m app.serve` is uvicorn (same arguments, same process: PID 1, SIGTERM goes
# to uvicorn for a graceful shutdown) after it has prepared the Prometheus multiprocess directory
# the workers share, before they start: PROMETHEUS_MULTIPROC_DIR when set (created, emptied of
# metric files), else with WEB_CONCURRENCY > 1 a fresh one in /tmp, removed at exit. /metrics
# then sums every worker. Set PROMETHEUS_MULTIPROC_DIR only to a directory of this container.
CMD ["python", "-m", "app.serve", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers"]
