"""compose.yaml (the stack) and compose.override.yaml (development), checked without Docker."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.deploy.support import (
    COMPOSE,
    COMPOSE_OVERRIDE,
    DOCKERFILE,
    DUMMY_ENV,
    PRISMA_CONFIG,
    ROOT,
    RequiredVariableError,
    dockerfile_stages,
    interpolate,
    load_yaml,
    merged_compose,
    schema_errors,
    vendored_schema,
    volume_mounts,
)

REQUIRED_VARIABLES = ("SECRET_KEY", "POSTGRES_PASSWORD")
DEPENDENCY_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|DSN|_KEY$")
PURE_REFERENCE = re.compile(r"^\$\{[A-Z_][A-Z0-9_]*(?::?[-?][^}]*)?\}$")
URL_PASSWORD = re.compile(r"://[^:/@\s]+:(?P<password>[^@\s]+)@")
EXACT_VERSION = r"\d+\.\d+\.\d+"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_yaml(COMPOSE)


@pytest.fixture(scope="module")
def override() -> dict[str, Any]:
    return load_yaml(COMPOSE_OVERRIDE)


@pytest.fixture(scope="module")
def merged() -> dict[str, Any]:
    return merged_compose()


@pytest.fixture(scope="module")
def compose_schema() -> dict[str, Any]:
    return vendored_schema("compose-spec")


def test_compose_files_validate_against_the_compose_specification(
    compose: dict[str, Any],
    override: dict[str, Any],
    merged: dict[str, Any],
    compose_schema: dict[str, Any],
) -> None:
    for name, document in [
        ("compose.yaml", compose),
        ("compose.override.yaml", override),
        ("merged", merged),
        ("compose.yaml interpolated", interpolate(compose, DUMMY_ENV)),
        ("merged interpolated", interpolate(merged, DUMMY_ENV)),
    ]:
        assert schema_errors(document, compose_schema) == [], name


@pytest.mark.parametrize("variable", REQUIRED_VARIABLES)
def test_required_variable_is_referenced_only_with_a_failing_default(variable: str) -> None:
    text = COMPOSE.read_text(encoding="utf-8") + COMPOSE_OVERRIDE.read_text(encoding="utf-8")
    references = re.findall(rf"\$\{{{variable}(?P<rest>[^}}]*)\}}", text)

    assert references, f"compose.yaml never uses {variable}"
    for rest in references:
        usage = f"${{{variable}{rest}}} must be ${{{variable}:?<message>}}"
        assert rest.startswith(":?"), usage
        assert rest[2:].strip(), usage


@pytest.mark.parametrize("variable", REQUIRED_VARIABLES)
def test_stack_refuses_to_start_without_required_variable(
    variable: str, merged: dict[str, Any]
) -> None:
    env = {key: value for key, value in DUMMY_ENV.items() if key != variable}

    with pytest.raises(RequiredVariableError) as raised:
        interpolate(merged, env)

    assert raised.value.name == variable


def test_no_secret_is_written_in_the_compose_files(
    compose: dict[str, Any], override: dict[str, Any]
) -> None:
    for document in (compose, override):
        for service_name, service in document["services"].items():
            environment: dict[str, Any] = service.get("environment", {})
            for name, value in environment.items():
                where = f"{service_name}.environment.{name}"
                if SECRET_NAME.search(name):
                    assert value is None or PURE_REFERENCE.match(str(value)), where
                for match in URL_PASSWORD.finditer(str(value or "")):
                    assert PURE_REFERENCE.match(match["password"]), where
    raw = COMPOSE.read_text(encoding="utf-8") + COMPOSE_OVERRIDE.read_text(encoding="utf-8")
    assert "changethis" not in raw


def test_every_dependency_exists_and_waits_on_a_valid_condition(merged: dict[str, Any]) -> None:
    services: dict[str, Any] = merged["services"]
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: use the long depends_on syntax"
        for target, rule in depends_on.items():
            assert target in services, f"{name} depends on unknown service {target}"
            assert rule["condition"] in DEPENDENCY_CONDITIONS, f"{name} → {target}"


def test_services_waited_on_as_healthy_have_a_health_check(merged: dict[str, Any]) -> None:
    dockerfile_healthcheck = dockerfile_stages(DOCKERFILE.read_text(encoding="utf-8"))[-1].last(
        "HEALTHCHECK"
    )
    services: dict[str, Any] = merged["services"]
    for service in services.values():
        for target, rule in service.get("depends_on", {}).items():
            if rule["condition"] != "service_healthy":
                continue
            built_here = "build" in services[target]
            assert "healthcheck" in services[target] or (built_here and dockerfile_healthcheck)


def test_db_is_postgres_with_a_readiness_check_and_a_named_volume(
    compose: dict[str, Any],
) -> None:
    db = compose["services"]["db"]

    assert re.fullmatch(r"postgres:1[5-8](\.\d+)*(-\w+)?", db["image"])
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    data = [mount for mount in volume_mounts(db) if mount.target == "/var/lib/postgresql/data"]
    assert data
    assert not data[0].is_bind
    assert data[0].source in compose["volumes"]


def test_api_starts_after_the_database_is_healthy_and_migrations_completed(
    compose: dict[str, Any],
) -> None:
    api = compose["services"]["api"]

    assert api["depends_on"]["db"]["condition"] == "service_healthy"
    assert api["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert compose["services"]["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"


def test_api_is_built_from_the_dockerfile_and_keeps_its_health_check(
    compose: dict[str, Any], merged: dict[str, Any]
) -> None:
    api = compose["services"]["api"]
    build = api["build"]
    context = build if isinstance(build, str) else build["context"]

    assert (ROOT / context / "Dockerfile").resolve() == DOCKERFILE
    assert "healthcheck" not in merged["services"]["api"]


def test_migrate_runs_the_pinned_prisma_cli_on_the_mounted_schema(
    compose: dict[str, Any],
) -> None:
    migrate = compose["services"]["migrate"]
    command: list[str] = migrate["command"]
    workdir: str = migrate["working_dir"]
    mounts = {mount.source: mount for mount in volume_mounts(migrate)}

    assert migrate["image"].startswith("node:")
    assert command[0] == "npx"
    assert any(re.fullmatch(rf"prisma@{EXACT_VERSION}", word) for word in command), command
    assert command[command.index("migrate") + 1] == "deploy"
    config = command[command.index("--config") + 1]
    assert mounts["./prisma"].target == f"{workdir}/prisma"
    assert mounts["./prisma"].read_only
    assert mounts["./deploy/prisma.config.ts"].target == f"{workdir}/{config}"
    assert (
        migrate["environment"]["DATABASE_URL"]
        == compose["services"]["api"]["environment"]["DATABASE_URL"]
    )
    assert migrate.get("restart") == "no"


def test_prisma_config_takes_the_url_from_the_environment() -> None:
    source = PRISMA_CONFIG.read_text(encoding="utf-8")

    # npx runs Prisma from its cache, where an import of "prisma/config" would not resolve.
    assert not re.search(r"^\s*import\b", source, re.MULTILINE)
    assert re.search(r"url:\s*process\.env\.DATABASE_URL\b", source)
    assert re.search(r"""schema:\s*["']prisma/schema\.prisma["']""", source)
    assert re.search(r"""path:\s*["']prisma/migrations["']""", source)
    assert (ROOT / "prisma" / "schema.prisma").is_file()


def test_bind_mounts_point_at_files_of_the_repository(merged: dict[str, Any]) -> None:
    for name, service in merged["services"].items():
        for mount in volume_mounts(service):
            if mount.is_bind:
                assert (ROOT / mount.source).exists(), f"{name}: {mount.source} does not exist"


def test_database_url_is_a_prisma_url_the_app_accepts(compose: dict[str, Any]) -> None:
    from app.core.config import Settings

    url = interpolate(compose["services"]["api"]["environment"]["DATABASE_URL"], DUMMY_ENV)
    settings = Settings(
        _env_file=None,  # pyright: ignore[reportCallIssue]
        ENVIRONMENT="production",
        SECRET_KEY=DUMMY_ENV["SECRET_KEY"],
        DATABASE_URL=url,
    )

    database = settings.database
    assert database.is_postgres
    assert database.url.host == "db"
    assert database.url.password == DUMMY_ENV["POSTGRES_PASSWORD"]
    assert database.search_path == "public"


def test_api_runs_in_production_by_default_with_the_required_settings(
    compose: dict[str, Any],
) -> None:
    environment = compose["services"]["api"]["environment"]

    assert interpolate(environment["ENVIRONMENT"], {}) == "production"
    assert {"SECRET_KEY", "DATABASE_URL"} <= set(environment)


def test_override_is_the_development_setup(override: dict[str, Any]) -> None:
    api = override["services"]["api"]
    db = override["services"]["db"]
    api_ports = interpolate(api["ports"], {})
    db_ports = interpolate(db["ports"], {})

    assert api["environment"]["ENVIRONMENT"] == "local"
    assert "127.0.0.1:8000:8000" in api_ports
    assert "127.0.0.1:5432:5432" in db_ports
    assert "--reload" in api["command"]
    assert api["command"][:2] == ["uvicorn", "app.main:app"]
    assert str(api["environment"]["WEB_CONCURRENCY"]) == "1"
    assert any(
        mount.source == "./app" and mount.target == "/app/app" for mount in volume_mounts(api)
    )
