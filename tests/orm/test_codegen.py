"""tools/codegen.py: deterministic, Prisma-aware, lint-clean models."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tools import codegen
from tools.migrate import apply_migrations

from .conftest import PRISMA_DIR, ROOT

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("require_postgres")]


def generate(url: str, out: Path, prisma_dir: Path = PRISMA_DIR) -> tuple[str, str]:
    codegen.write_outputs(url, ["models", "views"], prisma_dir=prisma_dir, out_dir=out)
    return (out / "models.py").read_text(), (out / "view_tables.py").read_text()


def relationships(source: str) -> dict[str, set[str]]:
    """{class: {relationship attribute names}} of a generated module."""
    result: dict[str, set[str]] = {}
    current = ""
    for line in source.splitlines():
        if match := re.match(r"class (\w+)\(SQLModel", line):
            current = match.group(1)
            result[current] = set()
        elif match := re.match(r"    (\w+): .* = Relationship\(", line):
            result[current].add(match.group(1))
    return result


def check_importable(out: Path) -> None:
    """Import generated modules in a fresh interpreter, configure mappers, create on SQLite."""
    script = (
        "import importlib.util, sys\n"
        "from sqlalchemy import create_engine\n"
        "from sqlalchemy.orm import configure_mappers\n"
        "from sqlmodel import SQLModel\n"
        "for name in ('models', 'view_tables'):\n"
        "    spec = importlib.util.spec_from_file_location('gen_' + name, sys.argv[1] + f'/{name}.py')\n"
        "    module = importlib.util.module_from_spec(spec)\n"
        "    spec.loader.exec_module(module)\n"
        "configure_mappers()\n"
        "SQLModel.metadata.create_all(create_engine('sqlite://'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(out)], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_generated_files_pass_ruff_and_pyright(orm_migrated_url: str, tmp_path: Path) -> None:
    out = tmp_path / "app"
    generate(orm_migrated_url, out)
    files = [str(out / "models.py"), str(out / "view_tables.py")]
    ruff = [sys.executable, "-m", "ruff"]
    subprocess.run([*ruff, "check", *files], cwd=ROOT, check=True, capture_output=True)
    subprocess.run([*ruff, "format", "--check", *files], cwd=ROOT, check=True, capture_output=True)


def test_without_a_prisma_model_generation_stops_naming_the_folder(
    orm_migrated_url: str, tmp_path: Path, prisma_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Never the silent fallback to database names: no model read, no file written."""
    (prisma_copy / "schema.prisma").unlink()
    out = tmp_path / "app"
    argv = ["all", "--database-url", orm_migrated_url, "--prisma-dir", str(prisma_copy)]
    argv += ["--out-dir", str(out)]
    assert codegen.main(argv) != 0
    error = capsys.readouterr().err
    assert "no Prisma model could be read" in error
    assert str(prisma_copy) in error
    assert not out.exists()


EDGE = Path(__file__).parent / "edge_prisma"


def build_project(url: str, prisma_dir: Path, tmp_path: Path) -> tuple[str, str, Path]:
    """Migrate ``url`` from ``prisma_dir``, generate into ``<tmp>/project/app``: (models, views,
    project folder)."""
    apply_migrations(url, prisma_dir / "migrations")
    project = tmp_path / "project"
    out = project / "app"
    models, views = generate(url, out, prisma_dir)
    shutil.copy(ROOT / "app" / "prisma_defaults.py", out / "prisma_defaults.py")
    (out / "__init__.py").touch()
    return models, views, project


def run_in_project(project: Path, script: Path) -> str:
    """Run a fixture's round-trip script with the generated ``app/`` first on sys.path."""
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(project)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def check_strict_and_lint_clean(project: Path) -> None:
    """pyright strict (as the project runs it on app/), ruff lint and format."""
    (project / "pyrightconfig.json").write_text(
        json.dumps({"strict": ["app"], "venvPath": str(ROOT), "venv": ".venv"})
    )
    checked = subprocess.run(
        [sys.executable, "-m", "pyright", "-p", "pyrightconfig.json", "app"],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout
    files = [str(project / "app" / "models.py"), str(project / "app" / "view_tables.py")]
    ruff = [sys.executable, "-m", "ruff"]
    subprocess.run([*ruff, "check", *files], cwd=ROOT, check=True, capture_output=True)
    subprocess.run([*ruff, "format", "--check", *files], cwd=ROOT, check=True, capture_output=True)


def test_edge_cases_generate_strict_clean_importable_sqlite_portable_models(
    scratch_db: Callable[[], str], tmp_path: Path
) -> None:
    """Enum arrays and @map'ed enums, JSON, self/one-to-one/double relations, `from`/`text`
    names, every Prisma id generator, array defaults, a foreign-key cycle, Float and Bytes
    (tests/orm/edge_prisma)."""
    models, views, project = build_project(scratch_db(), EDGE, tmp_path)
    assert relationships(models) == {
        "Account": {"parent", "children", "profile", "sent", "received"},
        "Profile": {"account"},
        "Transfer": {"from_", "to"},
        "Team": {"owner", "members"},
        "Member": {"team", "owns"},
    }
    assert 'RED = "red"' in models
    assert "text_: str | None" in models
    assert "'info': {'prisma': 'from'}" in models.replace('"', "'")
    assert "default_factory=lambda: nanoid(10)" in models
    assert "default_factory=uuid4, " in models  # uuid() on a String column: a str
    assert "default_factory=uuid7_value" in models  # uuid(7) on @db.Uuid: a uuid.UUID
    assert "score: float | None" in models
    assert "avatar: bytes | None" in models
    assert models.count("use_alter=True") == 2  # the Team <-> Member cycle, both edges
    assert "from app.models import Color" in views
    assert "edge ok" in run_in_project(project, EDGE / "roundtrip.py")
    check_strict_and_lint_clean(project)


MULTIFILE = Path(__file__).parent / "edge_prisma_multifile"


def test_multi_file_schema_with_relation_mode_prisma(
    scratch_db: Callable[[], str], tmp_path: Path
) -> None:
    """prisma.config.ts names a schema folder; relationMode = "prisma" (no foreign key in the
    database): every relation shape from schema.prisma, a model named `Field` with a relation
    named like its model, an @@unique-only model, @ignore/@@ignore, @map'ed enum values,
    expression indexes, citext, a composite-key relation, a one-to-one self-relation
    (tests/orm/edge_prisma_multifile)."""
    models, _, project = build_project(scratch_db(), MULTIFILE, tmp_path)
    assert relationships(models) == {
        "Dashboard": {"owner", "Field", "tags"},
        "Field": {"Dashboard"},
        "Message": {"sender", "recipient"},
        "Org": {"teams"},
        "Team": {"org", "next", "previous"},
        "Profile": {"user"},
        "Setting": set(),
        "Tag": {"dashboards"},
        "User": {
            "profile",
            "dashboards",
            "sent",
            "received",
            "followers",
            "following",
            "manager",
            "reports",
        },
    }
    assert "class Field(SQLModel, table=True):" in models
    assert "from sqlmodel import Field as SQLField" in models
    assert "ForeignKey" not in models  # none invented: the database has none
    assert "class Legacy" not in models  # legacy/ is outside the configured schema folder
    assert "class AuditTrail" not in models  # @@ignore
    assert "legacy" not in models  # @ignore
    assert 'BAR_CHART = "bar-chart"' in models
    assert 'Index("Field_label_lower_idx", text("lower(label)"))' in models
    assert 'postgresql_using="gin"' in models
    assert 'CITEXT().with_variant(Text(), "sqlite")' in models
    assert 'scope: str = SQLField(sa_column=Column("scope", Text, primary_key=True))' in models
    assert "multifile ok" in run_in_project(project, MULTIFILE / "roundtrip.py")
    check_strict_and_lint_clean(project)
