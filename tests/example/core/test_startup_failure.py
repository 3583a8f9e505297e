"""`make run` (`python -m app.serve app.main:app --reload`): a start that fails exits 1 with one
line saying why and what to do, and leaves no reloader running; a start that works serves."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SECRET = "a-test-secret-key-that-is-long-enough-0123456789"
WAIT_SECONDS = 90


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(cwd: Path, env: dict[str, str], port: int = 0) -> subprocess.Popen[str]:
    """`make run`'s command, in its own process group (so that leftovers can be found)."""
    environ = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "ENVIRONMENT"}}
    environ |= {"SECRET_KEY": SECRET, "PYTHONPATH": str(cwd), **env}
    command = [sys.executable, "-m", "app.serve", "app.main:app", "--reload"]
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


def failed_start(cwd: Path, **env: str) -> str:
    """Run a start that must fail: its one-line reason (asserting status and leftovers)."""
    process = serve(cwd, env)
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
    """A copy of the app and its Prisma folder, for declarations that no longer match."""
    copy = tmp_path / "project"
    shutil.copytree(ROOT / "app", copy / "app", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "prisma", copy / "prisma")
    return copy


def test_sqlite_path_in_a_missing_folder_fails_in_one_line(tmp_path: Path) -> None:
    reason = failed_start(ROOT, SQLITE_PATH=str(tmp_path / "missing" / "app.sqlite3"))
    assert str(tmp_path / "missing" / "app.sqlite3") in reason
    assert "SQLITE_PATH" in reason


def test_production_without_database_url_fails_in_one_line(tmp_path: Path) -> None:
    reason = failed_start(ROOT, ENVIRONMENT="production", SQLITE_PATH=str(tmp_path / "x.db"))
    assert reason.startswith("DATABASE_URL is required when ENVIRONMENT=production")


def test_declaration_of_a_model_the_schema_dropped_says_make_resources(
    project_copy: Path,
) -> None:
    resources = project_copy / "app" / "resources.py"
    resources.write_text(resources.read_text() + "\nfrom app.models import Widget\n")
    reason = failed_start(project_copy, SQLITE_PATH=str(project_copy / "x.sqlite3"))
    assert re.match(r"app/resources.py:\d+: Widget is not in app/models.py", reason), reason
    assert "make resources FRESH=1" in reason


@pytest.mark.slow
def test_model_the_schema_has_but_the_models_lack_says_make_orm(project_copy: Path) -> None:
    resources = project_copy / "app" / "resources.py"
    resources.write_text(resources.read_text() + "\nfrom app.models import Widget\n")
    schema = project_copy / "prisma" / "schema.prisma"
    schema.write_text(schema.read_text() + "\nmodel Widget {\n  id Int @id\n}\n")
    reason = failed_start(project_copy, SQLITE_PATH=str(project_copy / "x.sqlite3"))
    assert re.match(r"app/resources.py:\d+: app/models.py has no Widget", reason), reason
    assert "run `make orm`" in reason


@pytest.mark.slow
def test_missing_declarations_say_make_resources(project_copy: Path) -> None:
    (project_copy / "app" / "resources.py").unlink()
    reason = failed_start(project_copy, SQLITE_PATH=str(project_copy / "x.sqlite3"))
    assert reason == "app/resources.py is missing: run `make resources` to declare every model"


def test_a_start_that_works_serves_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    process = serve(ROOT, {"SQLITE_PATH": str(tmp_path / "ok.sqlite3")}, port)
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            assert process.poll() is None, process.communicate()
            try:
                url = f"http://127.0.0.1:{port}/api/v1/utils/health-check"
                with urllib.request.urlopen(url, timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, "the server did not answer"
                time.sleep(0.3)
        os.killpg(process.pid, signal.SIGTERM)
        process.communicate(timeout=WAIT_SECONDS)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not group_is_gone(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert group_is_gone(process.pid)
