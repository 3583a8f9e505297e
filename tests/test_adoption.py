"""Adopting app-api on another schema (issue 23): on a copy of the project, the README's steps
alone ("Use it with your schema") lead to green `make check`, `make test` and `make smoke`.

The schema is tests/adoption_prisma/ (owned by this test: a relation, an enum, a secret-looking
field, a composite key), copied outside the project as a monorepo's prisma/ folder would be.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, TEST_DATABASE_URL

pytestmark = pytest.mark.slow

SCHEMA = ROOT / "tests" / "adoption_prisma"
# README "Use it with your schema", step 5: what an adopting team deletes of the example.
EXAMPLE_PATHS = ("tests/example", "bench")
TAIL = 60  # lines of output shown when a step fails


def project_files() -> list[str]:
    """The project as a developer has it: tracked and untracked files, not the ignored ones."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def copy_project(target: Path) -> Path:
    for name in project_files():
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, destination)
    return target


def step_env(server_url: str) -> dict[str, str]:
    """The environment of a developer's shell: no database of ours, no coverage, no venv, and
    none of an outer make's variables (`make test MODE=full` passes MODE on in MAKEFLAGS)."""
    drop = ("DATABASE_URL", "TEST_DATABASE_URL", "VIRTUAL_ENV", "PYTHONPATH", "PRISMA_DIR")
    drop += ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "MODE", "ARGS")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in drop and not key.startswith(("COV_CORE_", "COVERAGE_", "PYTEST_"))
    }
    tools = ROOT / ".tools" / "bin"  # where `make install` puts uv when it is not on PATH
    if tools.is_dir():
        env["PATH"] = f"{tools}{os.pathsep}{env.get('PATH', '')}"
    env.update(CI="true", UV_PYTHON_DOWNLOADS="never", ORM_DATABASE_URL=server_url)
    return env


def run(project: Path, env: dict[str, str], *command: str, timeout: float = 300) -> str:
    """Run one documented step in the copy; fail with the tail of its output."""
    started = time.monotonic()
    result = subprocess.run(
        command,
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = result.stdout + result.stderr
    took = time.monotonic() - started
    print(f"$ {' '.join(command)}  → exit {result.returncode} in {took:.0f}s")
    tail = "\n".join(output.splitlines()[-TAIL:])
    assert result.returncode == 0, f"`{' '.join(command)}` exited {result.returncode}:\n{tail}"
    return output


def test_the_readme_steps_adopt_another_schema(tmp_path: Path) -> None:
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL is not set (make orm needs a PostgreSQL server)")
    project = copy_project(tmp_path / "app-api")
    prisma_dir = tmp_path / "app-web" / "prisma"
    shutil.copytree(SCHEMA, prisma_dir)
    env = step_env(TEST_DATABASE_URL)
    make = ("make", "--no-print-directory")

    # 1-2. Install; point at the Prisma folder (the same line in .env for the app).
    run(project, env, *make, "install")
    (project / ".env").write_text(f"PRISMA_DIR={prisma_dir}\n", encoding="utf-8")
    # 3-4. Models from the migrations (a scratch database), then a declaration per model.
    run(project, env, *make, "orm", f"PRISMA_DIR={prisma_dir}")
    run(project, env, *make, "resources", "FRESH=1", f"PRISMA_DIR={prisma_dir}")
    # 5. Delete the rest of the example.
    for name in EXAMPLE_PATHS:
        shutil.rmtree(project / name)
    # 6. The three targets, green with no other edit.
    run(project, env, *make, "check")
    run(project, env, *make, "test", timeout=600)
    run(project, env, *make, "smoke")

    models = (project / "app" / "models.py").read_text(encoding="utf-8")
    assert "class Assignment(SQLModel, table=True):" in models
    assert "class Page(" not in models
    resources = (project / "app" / "resources.py").read_text(encoding="utf-8")
    assert "model=Member" in resources
    assert "passwordHash" in resources  # write-only, with a comment asking for review
