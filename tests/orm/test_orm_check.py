"""tools/orm_check.py fails with a readable diff when the models drift from the migrations;
``make orm`` without ``DATABASE_URL`` builds, reflects and drops the same scratch database."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from tools import codegen, orm_check
from tools.migrate import to_conninfo

from .conftest import add_migration

FIXTURES = Path(__file__).parent / "migrations_fixtures"
PROJECT = Path(__file__).resolve().parents[2]
TINY = FIXTURES / "tiny_prisma"


def needs_postgres(test: Callable[..., None]) -> Callable[..., None]:
    return pytest.mark.postgres(pytest.mark.usefixtures("require_postgres")(test))


# -------------------------------------------------------- make orm without a DATABASE_URL


@pytest.fixture
def no_database_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, orm_pg_server: str
) -> pytest.MonkeyPatch:
    """No DATABASE_URL anywhere (environment or ./.env); scratch databases on the test server."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ORM_DATABASE_URL", orm_pg_server)
    return monkeypatch


def database_exists(server: str, name: str) -> bool:
    with psycopg.connect(to_conninfo(server)) as conn:
        row = conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,))
        return row.fetchone() == (1,)


def scratch_name(out: str) -> str:
    match = re.search(r"scratch database (\S+) created", out)
    assert match, out
    return match.group(1)


@needs_postgres
def test_make_orm_without_database_url_builds_reflects_and_drops_a_scratch_database(
    tmp_path: Path,
    no_database_url: pytest.MonkeyPatch,
    orm_pg_server: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out_dir = tmp_path / "out"
    assert codegen.main(["all", "--prisma-dir", str(TINY), "--out-dir", str(out_dir)]) == 0
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert lines[0] == f"no DATABASE_URL: building a scratch database from {TINY / 'migrations'}"
    name = scratch_name(out)
    assert "[2/2] applying 20270102000000_name_index … ok" in out
    assert f"wrote {out_dir / 'models.py'}" in out
    assert lines[-1] == f"scratch database {name} dropped"
    assert not database_exists(orm_pg_server, name)

    models = (out_dir / "models.py").read_text()
    assert "class Item(SQLModel, table=True):" in models
    assert "class ItemKind(" in models
    assert "migrated to Prisma migration 20270102000000_name_index" in models
    assert (out_dir / "view_tables.py").is_file()


@needs_postgres
def test_make_orm_drops_the_scratch_database_when_a_migration_fails(
    tmp_path: Path,
    no_database_url: pytest.MonkeyPatch,
    orm_pg_server: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prisma_dir = tmp_path / "prisma"
    shutil.copytree(TINY, prisma_dir)
    add_migration(prisma_dir, "20270103000000_broken", 'ALTER TABLE "Nope" ADD COLUMN "x" INT;\n')
    out_dir = tmp_path / "out"
    assert codegen.main(["models", "--prisma-dir", str(prisma_dir), "--out-dir", str(out_dir)]) == 1
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines() == [
        'error: migration 20270103000000_broken failed: line 1: relation "Nope" does not exist'
    ]
    assert not database_exists(orm_pg_server, scratch_name(captured.out))
    assert not (out_dir / "models.py").exists()


def test_no_migrations_folder_is_one_line_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    prisma_dir = tmp_path / "prisma"
    prisma_dir.mkdir()
    (prisma_dir / "schema.prisma").write_text((TINY / "schema.prisma").read_text())
    missing = prisma_dir / "migrations"

    assert codegen.main(["all", "--prisma-dir", str(prisma_dir)]) == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: no migrations folder at {missing}"
    ]
    assert orm_check.main(["--prisma-dir", str(prisma_dir), "--out-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"orm-check error: no migrations folder at {missing}"
    ]
    missing.mkdir()  # a folder without any <name>/migration.sql
    assert codegen.main(["all", "--prisma-dir", str(prisma_dir)]) == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: no migrations in {missing} (no <name>/migration.sql)"
    ]


def test_unreachable_server_is_one_line_saying_what_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ORM_DATABASE_URL", "postgresql://postgres:secret@127.0.0.1:1/postgres")
    assert codegen.main(["all", "--prisma-dir", str(TINY), "--out-dir", str(tmp_path)]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert (
        "cannot connect to PostgreSQL at postgresql://postgres:***@127.0.0.1:1/postgres" in lines[0]
    )
    assert "set ORM_DATABASE_URL" in lines[0]
    assert "secret" not in lines[0]
    assert orm_check.main(["--prisma-dir", str(TINY), "--out-dir", str(tmp_path)]) == 2
    assert "set ORM_DATABASE_URL" in capsys.readouterr().err


def test_a_password_given_as_a_query_parameter_is_masked_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # libpq takes `?password=`; the message masks it as it masks the authority's.
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(
        "ORM_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/postgres?password=hush-7"
    )
    assert codegen.main(["all", "--prisma-dir", str(TINY), "--out-dir", str(tmp_path)]) == 1
    message = capsys.readouterr().err
    assert "postgresql://postgres@127.0.0.1:1/postgres?password=***" in message
    assert "hush-7" not in message


@needs_postgres
def test_columns_named_like_builtins_and_modules_generate_an_importable_class(
    tmp_path: Path, no_database_url: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # `bytes Bytes` before `data Bytes?`: a class attribute `bytes` would shadow the builtin in
    # the next annotation (the import failed with "'FieldInfo' object has no attribute ...").
    out_dir = tmp_path / "out"
    prisma_dir = FIXTURES / "shadowing_prisma"
    assert codegen.main(["models", "--prisma-dir", str(prisma_dir), "--out-dir", str(out_dir)]) == 0
    capsys.readouterr()
    code = (out_dir / "models.py").read_text()
    assert 'bytes_: bytes = Field(sa_column=Column("bytes"' in code
    assert 'str_: str = Field(sa_column=Column("str"' in code
    # In a fresh interpreter: the generated tables must not join this process's metadata.
    script = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('shadowing', {str(out_dir / 'models.py')!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "from sqlalchemy import inspect\n"
        "from app.schemas import wire_name\n"
        "print(*[wire_name(c) for c in inspect(module.Blob).local_table.columns])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[:6] == ["id", "bytes", "datetime", "str", "int", "float"]
