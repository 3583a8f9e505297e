""".github/workflows/ci.yml: the gate of .ci/run, plus the image and the compose stack."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.deploy.support import (
    CI_SCRIPT,
    WORKFLOW,
    load_yaml,
    make_invocations,
    schema_errors,
    vendored_schema,
)

GATE_JOB = "check"
IMAGE_JOB = "docker"
TEST_DATABASE_URL = "postgresql://postgres:postgres@localhost:5432/postgres"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return load_yaml(WORKFLOW)


def steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [step for step in job["steps"] if str(step.get("uses", "")).startswith(f"{action}@")]


def run_scripts(job: dict[str, Any]) -> str:
    return "\n".join(str(step["run"]) for step in job["steps"] if "run" in step)


def test_workflow_validates_against_the_github_workflow_schema(workflow: dict[str, Any]) -> None:
    assert schema_errors(workflow, vendored_schema("github-workflows")) == []


def test_workflow_runs_on_pushes_and_pull_requests(workflow: dict[str, Any]) -> None:
    assert {"push", "pull_request"} <= set(workflow["on"])


def test_gate_runs_the_makefile_targets_of_ci_run_in_order(workflow: dict[str, Any]) -> None:
    assert CI_SCRIPT.is_file(), ".ci/run is missing: CI must run what it runs"
    expected = make_invocations(CI_SCRIPT.read_text(encoding="utf-8"))

    assert expected, ".ci/run runs no make target"
    assert make_invocations(run_scripts(workflow["jobs"][GATE_JOB])) == expected


def test_gate_tests_against_its_postgres_service(workflow: dict[str, Any]) -> None:
    job = workflow["jobs"][GATE_JOB]
    postgres = job["services"]["postgres"]
    test_steps = [step for step in job["steps"] if "make test" in str(step.get("run", ""))]

    assert re.fullmatch(r"postgres:1[5-8](\.\d+)*(-\w+)?", postgres["image"])
    assert "5432:5432" in [str(port) for port in postgres["ports"]]
    assert "--health-cmd" in postgres["options"]
    assert "pg_isready" in postgres["options"]
    assert test_steps
    for step in test_steps:
        environment = {**job.get("env", {}), **step.get("env", {})}
        assert environment.get("TEST_DATABASE_URL") == TEST_DATABASE_URL


def test_gate_sets_up_python_3_11_and_a_cached_uv(workflow: dict[str, Any]) -> None:
    job = workflow["jobs"][GATE_JOB]
    python = steps_using(job, "actions/setup-python")
    uv = steps_using(job, "astral-sh/setup-uv")

    assert steps_using(job, "actions/checkout")
    assert [step["with"]["python-version"] for step in python] == ["3.11"]
    assert job["env"]["UV_PYTHON"] == "3.11"
    assert len(uv) == 1
    assert uv[0]["with"]["enable-cache"] is True


def test_image_job_builds_without_pushing_and_validates_compose(workflow: dict[str, Any]) -> None:
    job = workflow["jobs"][IMAGE_JOB]
    builds = steps_using(job, "docker/build-push-action")
    scripts = run_scripts(job)

    assert len(builds) == 1
    assert builds[0]["with"]["push"] is False
    assert "docker compose config -q" in scripts
    assert "docker compose -f compose.yaml config -q" in scripts
    assert {"SECRET_KEY", "POSTGRES_PASSWORD"} <= set(job["env"])


def test_actions_are_pinned_to_releases(workflow: dict[str, Any]) -> None:
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if "uses" not in step:
                continue
            action, _, ref = str(step["uses"]).partition("@")
            assert re.fullmatch(r"v\d+(\.\d+){0,2}|[0-9a-f]{40}", ref), step["uses"]
            if action == "astral-sh/setup-uv":
                # Since v8, setup-uv publishes no major (`v8`) or minor tags.
                assert re.fullmatch(r"v\d+\.\d+\.\d+|[0-9a-f]{40}", ref), step["uses"]


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("make check\nmake smoke\n", ["check", "smoke"]),
        ("TEST_DATABASE_URL=postgresql://u:p@h:5432/d make test MODE=full", ["test MODE=full"]),
        (
            "set -euo pipefail\n# make nothing\nmake -s check && make orm-check",
            ["check", "orm-check"],
        ),
        ("make test \\\n  MODE=full; echo done", ["test MODE=full"]),
        ("uv run pytest", []),
    ],
)
def test_make_invocations_are_read_like_a_shell_reads_them(
    script: str, expected: list[str]
) -> None:
    assert make_invocations(script) == expected
