"""Settings rules: each Prisma URL form, the secret rules, CORS parsing."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.core.config import Settings
from tests.conftest import TEST_SECRET, make_settings

STRONG = "s" * 40


def test_defaults_are_local_with_embedded_sqlite() -> None:
    settings = make_settings()
    assert settings.ENVIRONMENT == "local"
    database = settings.database
    assert database.is_sqlite
    assert database.url.drivername == "sqlite+aiosqlite"
    assert database.url.database == "app-api.sqlite3"


def test_changethis_is_tolerated_in_local_with_a_reason() -> None:
    settings = make_settings(SECRET_KEY="changethis")
    assert settings.secret_key_problem is not None
    assert "SECRET_KEY" in settings.secret_key_problem


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_changethis_refused_outside_local(environment: str) -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        make_settings(
            ENVIRONMENT=environment, SECRET_KEY="changethis", DATABASE_URL="postgresql://h/db"
        )


def test_short_secret_refused_outside_local() -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY is shorter than 32"):
        make_settings(
            ENVIRONMENT="production", SECRET_KEY="x" * 31, DATABASE_URL="postgresql://h/db"
        )


def test_database_url_required_outside_local() -> None:
    with pytest.raises(ValidationError, match="DATABASE_URL is required"):
        make_settings(ENVIRONMENT="staging", SECRET_KEY=STRONG)


def test_sqlite_refused_outside_local() -> None:
    with pytest.raises(ValidationError, match="DATABASE_URL must be PostgreSQL"):
        make_settings(ENVIRONMENT="production", SECRET_KEY=STRONG, DATABASE_URL="sqlite:///x.db")


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "postgresql+asyncpg"])
def test_prisma_url_schemes_become_asyncpg(scheme: str) -> None:
    database = make_settings(DATABASE_URL=f"{scheme}://app:p%40ss@db.internal:6543/app").database
    assert database.url.drivername == "postgresql+asyncpg"
    assert database.url.username == "app"
    assert database.url.password == "p@ss"
    assert database.url.host == "db.internal"
    assert database.url.port == 6543
    assert database.url.database == "app"
    assert database.is_postgres
    assert not database.pgbouncer
    assert database.statement_cache_size == 100


def test_schema_parameter_becomes_search_path() -> None:
    database = make_settings(DATABASE_URL="postgresql://u@h/db?schema=tenant_a").database
    assert database.search_path == "tenant_a"
    assert "schema" not in database.url.query


def test_sslmode_is_passed_to_asyncpg() -> None:
    database = make_settings(DATABASE_URL="postgresql://u@h/db?sslmode=require").database
    assert database.ssl == "require"


def test_missing_sslrootcert_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="sslrootcert"):
        make_settings(
            DATABASE_URL=f"postgresql://u@h/db?sslmode=verify-full&sslrootcert={tmp_path}/no.pem"
        )


def test_sslrootcert_builds_a_verifying_context() -> None:
    cafile = "/etc/ssl/certs/ca-certificates.crt"
    if not Path(cafile).is_file():
        pytest.skip("no system CA bundle")
    database = make_settings(
        DATABASE_URL=f"postgresql://u@h/db?sslmode=verify-full&sslrootcert={cafile}"
    ).database
    assert isinstance(database.ssl, ssl.SSLContext)
    assert database.ssl.verify_mode == ssl.CERT_REQUIRED
    assert database.ssl.check_hostname


def test_sslaccept_invalid_certs_disables_verification() -> None:
    database = make_settings(
        DATABASE_URL="postgresql://u@h/db?sslmode=require&sslaccept=accept_invalid_certs"
    ).database
    assert isinstance(database.ssl, ssl.SSLContext)
    assert database.ssl.verify_mode == ssl.CERT_NONE


def test_pgbouncer_turns_the_statement_cache_off() -> None:
    database = make_settings(DATABASE_URL="postgres://u@h/db?pgbouncer=true").database
    assert database.pgbouncer
    assert database.statement_cache_size == 0


def test_connection_limit_sets_the_pool_size() -> None:
    database = make_settings(DATABASE_URL="postgresql://u@h/db?connection_limit=3").database
    assert database.pool_size == 3


def test_all_prisma_parameters_together() -> None:
    url = (
        "postgresql://u:pw@h:5432/db?schema=public&sslmode=prefer&pgbouncer=true"
        "&connection_limit=7&pool_timeout=2&connect_timeout=4&application_name=web"
    )
    database = make_settings(DATABASE_URL=url).database
    assert (database.search_path, database.ssl, database.pgbouncer) == ("public", "prefer", True)
    assert (database.pool_size, database.pool_timeout, database.connect_timeout) == (7, 2.0, 4.0)
    assert database.application_name == "web"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://u@h/db?sslmod=require", "unsupported query parameter 'sslmod'"),
        ("postgresql://u@h/db?pgbouncer=yes", "pgbouncer='yes' must be true or false"),
        ("postgresql://u@h/db?connection_limit=0", "connection_limit='0' is out of range"),
        ("postgresql://u@h/db?connection_limit=many", "connection_limit='many' is not a number"),
        ("postgresql://u@h/db?sslmode=sometimes", "sslmode='sometimes'"),
        ("mysql://u@h/db", "unsupported scheme 'mysql'"),
        ("postgresql:///db", "no host"),
    ],
)
def test_bad_database_urls_name_the_problem(url: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        make_settings(DATABASE_URL=url)
    assert "DATABASE_URL" in str(caught.value)
    assert message in str(caught.value)


def test_bad_url_error_does_not_echo_the_password() -> None:
    with pytest.raises(ValidationError) as caught:
        make_settings(DATABASE_URL="postgresql://u:hunter2secret@h/db?bogus=1")
    assert "hunter2secret" not in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            '["http://localhost:3000","https://app.example.com/"]',
            ["http://localhost:3000", "https://app.example.com"],
        ),
        (
            "http://localhost:3000, https://app.example.com",
            ["http://localhost:3000", "https://app.example.com"],
        ),
        ("", []),
    ],
)
def test_cors_origins_accept_json_or_comma_list(
    raw: str, expected: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BACKEND_CORS_ORIGINS", raw)
    assert make_settings().BACKEND_CORS_ORIGINS == expected


def test_cors_origin_must_be_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKEND_CORS_ORIGINS", "localhost:3000")
    with pytest.raises(ValidationError, match="BACKEND_CORS_ORIGINS"):
        make_settings()


def test_env_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text(
        f"ENVIRONMENT=staging\nSECRET_KEY={TEST_SECRET}\nDATABASE_URL=postgres://u@h/db\n"
    )
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.ENVIRONMENT == "staging"
    assert settings.database.is_postgres


def test_log_json_defaults_to_environment() -> None:
    assert make_settings(LOG_JSON=None).log_json is False
    assert (
        make_settings(
            LOG_JSON=None,
            ENVIRONMENT="production",
            SECRET_KEY=STRONG,
            DATABASE_URL="postgresql://h/db",
        ).log_json
        is True
    )
