"""Settings from the environment and `.env`, validated once at startup."""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import URL, make_url

Environment = Literal["local", "staging", "production"]

INSECURE_SECRET = "changethis"
MIN_SECRET_LENGTH = 32
MIN_METRICS_TOKEN_LENGTH = 16

# Query parameters of a Prisma PostgreSQL URL that app-api understands. Anything else is an
# error: a silently dropped parameter (a misspelt `sslmode`, say) is a security bug.
PRISMA_URL_PARAMS = frozenset(
    {
        "schema",
        "sslmode",
        "sslrootcert",
        "sslaccept",
        "pgbouncer",
        "connection_limit",
        "pool_timeout",
        "connect_timeout",
        "statement_cache_size",
        "application_name",
        "host",
    }
)
SSL_MODES = frozenset({"disable", "allow", "prefer", "require", "verify-ca", "verify-full"})


class SettingsError(ValueError):
    """A setting is wrong; the message names the variable."""


@dataclass(frozen=True)
class DatabaseConfig:
    """What the engine needs, derived from `DATABASE_URL` (a Prisma URL is accepted as is)."""

    url: URL
    pool_size: int
    pool_timeout: float
    connect_timeout: float
    search_path: str | None = None
    ssl: str | ssl.SSLContext | None = None
    pgbouncer: bool = False
    statement_cache_size: int = 100
    application_name: str = "app-api"
    connect_args: dict[str, Any] = field(default_factory=dict[str, Any])

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.url.get_backend_name() == "postgresql"


class Settings(BaseSettings):
    """Every setting of app-api. Names are the environment variables."""

    # hide_input_in_errors: a refused setting's message must not quote the environment it was
    # read from (SECRET_KEY, METRICS_TOKEN, the database password).
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
        hide_input_in_errors=True,
    )

    PROJECT_NAME: str = "app-api"
    ENVIRONMENT: Environment = "local"
    SECRET_KEY: SecretStr = SecretStr(INSECURE_SECRET)
    DATABASE_URL: SecretStr | None = None
    SQLITE_PATH: Path = Path("app-api.sqlite3")
    PRISMA_DIR: Path = Path("prisma")
    BACKEND_CORS_ORIGINS: Annotated[list[str], NoDecode] = Field(default_factory=list[str])

    DB_POOL_SIZE: int = Field(default=10, ge=1, le=200)
    DB_MAX_OVERFLOW: int = Field(default=0, ge=0, le=200)
    DB_POOL_TIMEOUT: float = Field(default=5.0, gt=0, le=120)
    DB_CONNECT_TIMEOUT: float = Field(default=3.0, gt=0, le=120)
    DB_STATEMENT_TIMEOUT_MS: int = Field(default=15_000, ge=0)

    JWT_AUDIENCE: str | None = None
    JWT_ISSUER: str | None = None
    JWT_LEEWAY_SECONDS: int = Field(default=0, ge=0, le=300)

    MAX_BODY_BYTES: int = Field(default=1_048_576, ge=1024)

    LOG_LEVEL: Literal["TRACE", "DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    LOG_JSON: bool | None = None
    SENTRY_DSN: SecretStr | None = None
    SENTRY_TRACES_SAMPLE_RATE: float = Field(default=0.0, ge=0.0, le=1.0)

    # Prometheus metrics (app.core.metrics): GET /metrics with this bearer token; without a
    # token only in local. False: no instrumentation at all and /metrics is 404.
    METRICS_ENABLED: bool = True
    METRICS_TOKEN: SecretStr | None = None

    @field_validator("BACKEND_CORS_ORIGINS", mode="before")
    @classmethod
    def _parse_origins(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        text = value.strip()
        if not text:
            return []
        if text.startswith("["):
            try:
                return json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"BACKEND_CORS_ORIGINS is not a JSON array: {exc.msg}") from exc
        return [origin.strip() for origin in text.split(",") if origin.strip()]

    @field_validator("BACKEND_CORS_ORIGINS")
    @classmethod
    def _strip_slashes(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise ValueError(f"BACKEND_CORS_ORIGINS: {origin!r} is not an http(s) origin")
        return [origin.rstrip("/") for origin in value]

    @field_validator("DATABASE_URL", "SENTRY_DSN", "METRICS_TOKEN", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    @model_validator(mode="after")
    def _enforce_rules(self) -> Settings:
        # Here rather than in a field validator, whose error would quote the value.
        token = self.METRICS_TOKEN
        if token is not None and len(token.get_secret_value()) < MIN_METRICS_TOKEN_LENGTH:
            raise SettingsError(
                f"METRICS_TOKEN is shorter than {MIN_METRICS_TOKEN_LENGTH} characters "
                "(generate one: openssl rand -hex 32)"
            )
        if self.ENVIRONMENT != "local":
            problem = self.secret_key_problem
            if problem:
                raise SettingsError(f"{problem} (ENVIRONMENT={self.ENVIRONMENT})")
            if self.DATABASE_URL is None:
                raise SettingsError(
                    f"DATABASE_URL is required when ENVIRONMENT={self.ENVIRONMENT} "
                    "(a PostgreSQL URL; the embedded SQLite default is for local only)"
                )
        # Parse now so a bad URL stops the start, not the first request.
        database = self.database
        if self.ENVIRONMENT != "local" and not database.is_postgres:
            raise SettingsError(
                f"DATABASE_URL must be PostgreSQL when ENVIRONMENT={self.ENVIRONMENT}"
            )
        return self

    @property
    def secret_key_problem(self) -> str | None:
        """Why SECRET_KEY is unsafe, or None."""
        secret = self.SECRET_KEY.get_secret_value()
        if secret == INSECURE_SECRET:
            return 'SECRET_KEY is "changethis": set a random value of 32+ characters'
        if len(secret) < MIN_SECRET_LENGTH:
            return f"SECRET_KEY is shorter than {MIN_SECRET_LENGTH} characters"
        return None

    @property
    def log_json(self) -> bool:
        return self.LOG_JSON if self.LOG_JSON is not None else self.ENVIRONMENT != "local"

    @property
    def database(self) -> DatabaseConfig:
        if self.DATABASE_URL is None:
            return sqlite_config(f"sqlite+aiosqlite:///{self.SQLITE_PATH}", self)
        return parse_database_url(self.DATABASE_URL.get_secret_value(), self)


def sqlite_config(raw: str, settings: Settings) -> DatabaseConfig:
    url = make_url(raw).set(drivername="sqlite+aiosqlite")
    if url.query:
        raise SettingsError("DATABASE_URL: query parameters are not supported for SQLite")
    return DatabaseConfig(
        url=url,
        pool_size=settings.DB_POOL_SIZE,
        pool_timeout=settings.DB_POOL_TIMEOUT,
        connect_timeout=settings.DB_CONNECT_TIMEOUT,
    )


def parse_database_url(raw: str, settings: Settings) -> DatabaseConfig:
    """Turn a Prisma (or SQLAlchemy) database URL into engine settings."""
    scheme = raw.split(":", 1)[0].lower()
    if scheme in {"sqlite", "sqlite+aiosqlite"}:
        if settings.ENVIRONMENT != "local":
            raise SettingsError(
                f"DATABASE_URL must be PostgreSQL when ENVIRONMENT={settings.ENVIRONMENT}"
            )
        return sqlite_config(raw, settings)
    if scheme not in {"postgres", "postgresql", "postgresql+asyncpg"}:
        raise SettingsError(
            f"DATABASE_URL: unsupported scheme {scheme!r} "
            "(use postgresql:// or postgres://; sqlite:// in local only)"
        )
    parts = urlsplit(raw)
    params: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key not in PRISMA_URL_PARAMS:
            allowed = ", ".join(sorted(PRISMA_URL_PARAMS))
            raise SettingsError(
                f"DATABASE_URL: unsupported query parameter {key!r} (supported: {allowed})"
            )
        params[key] = value
    if not parts.hostname and "host" not in params:
        raise SettingsError("DATABASE_URL: no host")

    def number(name: str, default: float, *, integer: bool = False) -> float:
        if name not in params:
            return default
        try:
            value = int(params[name]) if integer else float(params[name])
        except ValueError:
            raise SettingsError(f"DATABASE_URL: {name}={params[name]!r} is not a number") from None
        if value < 0 or (integer and name == "connection_limit" and value < 1):
            raise SettingsError(f"DATABASE_URL: {name}={params[name]!r} is out of range")
        return value

    pgbouncer = params.get("pgbouncer", "false").lower()
    if pgbouncer not in {"true", "false"}:
        raise SettingsError(f"DATABASE_URL: pgbouncer={pgbouncer!r} must be true or false")
    is_pgbouncer = pgbouncer == "true"
    statement_cache_size = (
        0 if is_pgbouncer else int(number("statement_cache_size", 100, integer=True))
    )

    sslmode = params.get("sslmode")
    if sslmode is not None and sslmode not in SSL_MODES:
        raise SettingsError(
            f"DATABASE_URL: sslmode={sslmode!r} (expected one of {', '.join(sorted(SSL_MODES))})"
        )
    ssl_setting = _ssl_setting(sslmode, params.get("sslrootcert"), params.get("sslaccept"))

    # 0 in Prisma means "no timeout"; for us a bounded wait is the point, so keep ours then.
    connect_timeout = (
        number("connect_timeout", settings.DB_CONNECT_TIMEOUT) or settings.DB_CONNECT_TIMEOUT
    )
    pool_timeout = number("pool_timeout", settings.DB_POOL_TIMEOUT) or settings.DB_POOL_TIMEOUT

    url = URL.create(
        drivername="postgresql+asyncpg",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        host=parts.hostname or params.get("host"),
        port=parts.port,
        database=unquote(parts.path.lstrip("/")) or None,
    )
    return DatabaseConfig(
        url=url,
        pool_size=int(number("connection_limit", settings.DB_POOL_SIZE, integer=True)),
        pool_timeout=pool_timeout,
        connect_timeout=connect_timeout,
        search_path=params.get("schema") or None,
        ssl=ssl_setting,
        pgbouncer=is_pgbouncer,
        statement_cache_size=statement_cache_size,
        application_name=params.get("application_name") or settings.PROJECT_NAME,
    )


def _ssl_setting(
    sslmode: str | None, rootcert: str | None, sslaccept: str | None
) -> str | ssl.SSLContext | None:
    if sslaccept is not None and sslaccept not in {"strict", "accept_invalid_certs"}:
        raise SettingsError(
            f"DATABASE_URL: sslaccept={sslaccept!r} (expected strict or accept_invalid_certs)"
        )
    if sslmode == "disable":
        return "disable"
    if sslaccept == "accept_invalid_certs":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if rootcert is None:
        return sslmode
    if not Path(rootcert).is_file():
        raise SettingsError(f"DATABASE_URL: sslrootcert {rootcert!r} is not a readable file")
    context = ssl.create_default_context(cafile=rootcert)
    context.check_hostname = sslmode == "verify-full"
    return context


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()
