"""The Dockerfile, read as text: the stages, what the final image holds, how it runs."""

from __future__ import annotations

import importlib
import re
import tomllib
from urllib.parse import urlsplit

import pytest

from tests.deploy.support import (
    DOCKERFILE,
    DUMMY_ENV,
    ROOT,
    WORKFLOW,
    Stage,
    dockerfile_stages,
    load_yaml,
)

UV_IMAGE = re.compile(r"^ghcr\.io/astral-sh/uv:(?P<version>\d+\.\d+\.\d+)$")
FINAL_CONTENTS = {"/app/.venv", "/app/app", "/app/prisma"}


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return dockerfile_stages(DOCKERFILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def builder(stages: list[Stage]) -> Stage:
    return stages[0]


@pytest.fixture(scope="module")
def final(stages: list[Stage]) -> Stage:
    return stages[-1]


def uv_commands(stage: Stage) -> list[list[str]]:
    return [run.arguments for run in stage.all("RUN") if {"uv", "uvx"} & set(run.arguments)]


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_image_is_built_in_stages_on_a_slim_python_the_project_supports(
    stages: list[Stage], final: Stage
) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    minimum = tuple(int(part) for part in project["requires-python"].removeprefix(">=").split("."))

    assert len(stages) >= 2
    assert all(stage.name for stage in stages[:-1]), "name the build stages"
    match = re.fullmatch(r"python:(?P<version>3\.\d+)-slim(-\w+)?", final.base)
    assert match, final.base
    assert tuple(int(part) for part in match["version"].split(".")) >= minimum
    assert {stage.base for stage in stages} == {final.base}, "builder and runtime share the Python"


def test_uv_comes_pinned_from_its_official_image_into_the_builder_only(
    builder: Stage, final: Stage
) -> None:
    sources = [copy.flag("from") for copy in builder.all("COPY")]
    uv_images = [source for source in sources if source and UV_IMAGE.match(source)]

    assert len(uv_images) == 1
    assert not [copy for copy in final.all("COPY") if copy.flag("from") == uv_images[0]]
    assert not uv_commands(final)
    assert not [name for name in final.env if name.startswith("UV_")]


def test_uv_in_the_image_is_the_uv_of_ci(builder: Stage) -> None:
    match = next(
        filter(None, (UV_IMAGE.match(copy.flag("from") or "") for copy in builder.all("COPY")))
    )
    workflow = load_yaml(WORKFLOW)
    setup_uv = [
        step
        for job in workflow["jobs"].values()
        for step in job["steps"]
        if str(step.get("uses", "")).startswith("astral-sh/setup-uv@")
    ]

    assert setup_uv
    assert all(step["with"]["version"] == match["version"] for step in setup_uv)


def test_builder_compiles_bytecode_copies_from_the_cache_and_never_downloads_python(
    builder: Stage,
) -> None:
    env = builder.env

    assert env["UV_COMPILE_BYTECODE"] == "1"
    assert env["UV_LINK_MODE"] == "copy"
    assert env["UV_PYTHON_DOWNLOADS"] == "never"


def test_dependencies_get_their_own_cached_layer_before_the_code(builder: Stage) -> None:
    keywords = [(item.keyword, item) for item in builder.instructions]
    first_sync = next(
        index for index, (keyword, item) in enumerate(keywords) if "uv sync" in item.value
    )
    first_code_copy = next(
        index
        for index, (keyword, item) in enumerate(keywords)
        if keyword == "COPY" and not item.flag("from")
    )
    run = keywords[first_sync][1]
    mounts = [flag.removeprefix("--mount=") for flag in run.flags]

    assert first_sync < first_code_copy
    assert "--no-install-project" in run.arguments
    assert any("type=cache" in mount and "/root/.cache/uv" in mount for mount in mounts)
    for name in ("uv.lock", "pyproject.toml"):
        assert any("type=bind" in mount and f"source={name}" in mount for mount in mounts), name


def test_every_sync_is_locked_and_leaves_out_dev_dependencies(builder: Stage) -> None:
    syncs = [command for command in uv_commands(builder) if command[:2] == ["uv", "sync"]]

    assert len(syncs) == 2, "dependencies first, then the project"
    for command in syncs:
        assert "--frozen" in command or "--locked" in command
        assert "--no-dev" in command


def test_runtime_holds_only_the_venv_and_the_code(builder: Stage, final: Stage) -> None:
    copies = final.all("COPY")

    assert all(copy.flag("from") == builder.name for copy in copies)
    assert {copy.arguments[-1].rstrip("/") for copy in copies} == FINAL_CONTENTS
    assert "/app/.venv/bin" in final.env["PATH"].split(":")


def test_runtime_runs_as_an_unprivileged_user(final: Stage) -> None:
    user = final.last("USER")

    assert user is not None
    name = user.value.split(":")[0]
    assert name not in {"root", "0"}
    # The last USER is the one the container runs with: nothing after it may undo it.
    assert final.instructions.index(user) > max(
        final.instructions.index(item) for item in final.all("COPY") + final.all("RUN")
    )


def test_runtime_defaults_to_production_and_reads_workers_from_the_environment(
    final: Stage,
) -> None:
    env = final.env

    assert env["ENVIRONMENT"] == "production"
    assert int(env["WEB_CONCURRENCY"]) >= 1
    assert env["FORWARDED_ALLOW_IPS"]


async def test_health_check_asks_python_for_a_route_the_app_serves(final: Stage) -> None:
    import httpx

    from app.core.config import Settings
    from app.main import create_app

    healthcheck = final.last("HEALTHCHECK")
    assert healthcheck is not None
    command = healthcheck.exec_form()
    url = urlsplit(re.findall(r"https?://[^'\"\s]+", command[-1])[0])
    settings = Settings(
        _env_file=None,  # pyright: ignore[reportCallIssue]
        ENVIRONMENT="local",
        SECRET_KEY=DUMMY_ENV["SECRET_KEY"],
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://container") as client:
        response = await client.get(url.path)

    assert command[:2] == ["python", "-c"]
    assert "urllib.request" in command[-1]
    assert not {"curl", "wget"} & set(" ".join(command).split())
    assert url.path == "/api/v1/utils/health-check"
    assert url.port == 8000
    assert "get" in app.openapi()["paths"][url.path]
    assert response.status_code == 200
    assert response.json() == {"status": True}


def test_command_serves_the_app_with_uvicorn_behind_a_proxy(final: Stage) -> None:
    cmd = final.last("CMD")
    assert cmd is not None
    command = cmd.exec_form()
    exposed = {port for expose in final.all("EXPOSE") for port in expose.arguments}

    # app.serve prepares the metrics directory, then runs uvicorn with these same arguments.
    assert command[:4] == ["python", "-m", "app.serve", "app.main:app"]
    assert option(command, "--host") == "0.0.0.0"
    assert option(command, "--port") == "8000"
    assert "--proxy-headers" in command
    assert "--reload" not in command
    assert "8000" in exposed


def test_command_module_path_is_importable(final: Stage) -> None:
    cmd = final.last("CMD")
    assert cmd is not None
    command = cmd.exec_form()
    module_name, attribute = command[3].split(":")

    module = importlib.import_module(module_name)
    serve = importlib.import_module(command[2])

    assert callable(getattr(module, attribute))
    assert callable(serve.main)
