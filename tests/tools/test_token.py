"""`make token` (tools/token.py): a development JWT in local, one clear line elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_token(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m tools.token` from an empty folder (no .env) with only `env` set."""
    clean = {k: v for k, v in os.environ.items() if k not in ("ENVIRONMENT", "DATABASE_URL")}
    return subprocess.run(
        [sys.executable, "-m", "tools.token", "--scope", "pages:read"],
        cwd=tmp_path,
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_token_outside_local_refuses_in_one_line(tmp_path: Path, environment: str) -> None:
    result = run_token(tmp_path, ENVIRONMENT=environment)
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"ENVIRONMENT={environment}" in lines[0]
    assert "local" in lines[0]
    assert "Traceback" not in result.stderr


def test_token_with_settings_that_do_not_validate_says_which(tmp_path: Path) -> None:
    result = run_token(tmp_path, DB_POOL_SIZE="0")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "DB_POOL_SIZE" in result.stderr


def test_token_in_local_prints_a_jwt(tmp_path: Path) -> None:
    result = run_token(tmp_path, ENVIRONMENT="local")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(".") == 2
