"""`make run` (`python -m app.serve app.main:app --reload`): a start that fails exits 1 with one
line saying why and what to do, and leaves no reloader running; a start that works serves.

The server module runs the machinery fixture (tests.machinery.fixture.asgi:app) where the
failure is the app's whatever it serves (a setting, a good start). Where `make run`'s own target
is the subject (the embedded SQLite default, the declarations in app/resources.py against
app/models.py and the Prisma schema), it runs app.main:app, asking only for the utility routes:
in a folder of the test's own, or in a copy of app/ with a schema the test writes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, TEST_SECRET
from tests.faults import free_port
from tests.support import bearer

FIXTURE_APP = "tests.machinery.fixture.asgi:app"
PROJECT_APP = "app.main:app"  # `make run`'s target
WAIT_SECONDS = 90


def serve(
    target: str, cwd: Path, env: dict[str, str], port: int = 0, path: Path = ROOT
) -> subprocess.Popen[str]:
    """`make run`'s command for `target`, run in `cwd` with `path` importable, in its own
    process group (so that leftovers can be found)."""
    unset = {"DATABASE_URL", "ENVIRONMENT", "PRISMA_DIR", "SQLITE_PATH"}
    environ = {k: v for k, v in os.environ.items() if k not in unset}
    environ |= {"SECRET_KEY": TEST_SECRET, "PYTHONPATH": str(path), **env}
    command = [sys.executable, "-m", "app.serve", target, "--reload"]
    return subprocess.Popen(
        [*command, "--port", str(port or free_port())],
        cwd=cwd,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def group_is_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def failed_start(target: str, cwd: Path, path: Path = ROOT, **env: str) -> str:
    """Run a start that must fail: its one-line reason (asserting status and leftovers)."""
    process = serve(target, cwd, env, path=path)
    try:
        out, err = process.communicate(timeout=WAIT_SECONDS)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 1, (out, err)
    deadline = time.monotonic() + 10
    while not group_is_gone(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert group_is_gone(process.pid), "a process of the failed start is still running"
    assert "Traceback" not in out + err
    reasons = [line for line in err.splitlines() if line.startswith("app-api cannot start: ")]
    assert len(reasons) == 1, err
    return reasons[0].removeprefix("app-api cannot start: ")


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A copy of the app (no Prisma folder: a test that needs a schema writes its own), for
    declarations that no longer match."""
    copy = tmp_path / "project"
    shutil.copytree(ROOT / "app", copy / "app", ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_sqlite_path_in_a_missing_folder_fails_in_one_line(tmp_path: Path) -> None:
    # The embedded default of `make run` (no DATABASE_URL): the project's app builds it.
    reason = failed_start(
        PROJECT_APP, tmp_path, SQLITE_PATH=str(tmp_path / "missing" / "app.sqlite3")
    )
    assert str(tmp_path / "missing" / "app.sqlite3") in reason
    assert "SQLITE_PATH" in reason


def test_production_without_database_url_fails_in_one_line(tmp_path: Path) -> None:
    reason = failed_start(
        FIXTURE_APP, tmp_path, ENVIRONMENT="production", SQLITE_PATH=str(tmp_path / "x.db")
    )
    assert reason.startswith("DATABASE_URL is required when ENVIRONMENT=production")


def test_the_target_app_is_the_one_started(tmp_path: Path) -> None:
    # The check before the reloader starts the target's own app, not the project's default.
    (tmp_path / "own_target.py").write_text(
        "from contextlib import asynccontextmanager\n"
        "from fastapi import FastAPI\n\n\n"
        "@asynccontextmanager\n"
        "async def lifespan(_app):\n"
        "    raise RuntimeError('the target app refuses to start')\n"
        "    yield\n\n\n"
        "app = FastAPI(lifespan=lifespan)\n",
        encoding="utf-8",
    )
    reason = failed_start("own_target:app", tmp_path, SQLITE_PATH="x.db")
    assert reason.endswith("the target app refuses to start")


def test_declaration_of_a_model_the_schema_dropped_says_make_resources(
    project_copy: Path,
) -> None:
    resources = project_copy / "app" / "resources.py"
    resources.write_text(resources.read_text() + "\nfrom app.models import Widget\n")
    reason = failed_start(
        PROJECT_APP, project_copy, project_copy, SQLITE_PATH=str(project_copy / "x.sqlite3")
    )
    assert re.match(r"app/resources.py:\d+: Widget is not in app/models.py", reason), reason
    assert "make resources FRESH=1" in reason


@pytest.mark.slow
def test_model_the_schema_has_but_the_models_lack_says_make_orm(project_copy: Path) -> None:
    resources = project_copy / "app" / "resources.py"
    resources.write_text(resources.read_text() + "\nfrom app.models import Widget\n")
    schema = project_copy / "prisma" / "schema.prisma"  # PRISMA_DIR's default, in the copy
    schema.parent.mkdir()
    schema.write_text("model Widget {\n  id Int @id\n}\n")
    reason = failed_start(
        PROJECT_APP, project_copy, project_copy, SQLITE_PATH=str(project_copy / "x.sqlite3")
    )
    assert re.match(r"app/resources.py:\d+: app/models.py has no Widget", reason), reason
    assert "run `make orm`" in reason


@pytest.mark.slow
def test_missing_declarations_say_make_resources(project_copy: Path) -> None:
    (project_copy / "app" / "resources.py").unlink()
    reason = failed_start(
        PROJECT_APP, project_copy, project_copy, SQLITE_PATH=str(project_copy / "x.sqlite3")
    )
    assert reason == "app/resources.py is missing: run `make resources` to declare every model"


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    url = f"http://127.0.0.1:{port}{path}"
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=2) as response:
        return response.status, response.read()


@pytest.mark.parametrize("target", [FIXTURE_APP, PROJECT_APP])
def test_a_start_that_works_serves_and_stops_cleanly(tmp_path: Path, target: str) -> None:
    port = free_port()
    process = serve(target, tmp_path, {"SQLITE_PATH": str(tmp_path / "ok.sqlite3")}, port)
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            assert process.poll() is None, process.communicate()
            try:
                assert get(port, "/api/v1/utils/health-check")[0] == 200
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not answer"
                time.sleep(0.3)
        assert get(port, "/api/v1/utils/ready")[0] == 200
        if target == FIXTURE_APP:  # the reloader's worker serves the target: its resources
            status, body = get(port, "/api/v1/articles/", bearer("articles:read"))
            assert status == 200
            # The fixture's demo rows: the embedded default builds the models it serves.
            assert [row["status"] for row in json.loads(body)["data"]] == ["DRAFT"] * 3
        os.killpg(process.pid, signal.SIGTERM)
        process.communicate(timeout=WAIT_SECONDS)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not group_is_gone(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert group_is_gone(process.pid)
