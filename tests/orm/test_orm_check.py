"""tools/orm_check.py fails with a readable diff when the models drift from the migrations."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tools import codegen, orm_check
from tools.migrate import apply_migrations

from .conftest import ROOT, add_migration

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("require_postgres")]

CASES: dict[str, tuple[str, str | None, list[str]]] = {
    # case: (migration.sql, schema.prisma addition, strings the diff must name)
    "column": (
        'ALTER TABLE "Page" ADD COLUMN "subtitle" TEXT;\n',
        None,
        ['+    subtitle: str | None = Field(default=None, sa_column=Column("subtitle", Text))'],
    ),
    "enum value": (
        "ALTER TYPE \"PageStatus\" ADD VALUE 'HIDDEN';\n",
        None,
        ['+    HIDDEN = "HIDDEN"'],
    ),
    "table": (
        'CREATE TABLE "Comment" (\n    "id" SERIAL NOT NULL,\n    "pageId" TEXT NOT NULL,\n'
        '    "body" TEXT NOT NULL,\n    CONSTRAINT "Comment_pkey" PRIMARY KEY ("id")\n);\n'
        'ALTER TABLE "Comment" ADD CONSTRAINT "Comment_pageId_fkey" FOREIGN KEY ("pageId")'
        ' REFERENCES "Page"("id") ON DELETE CASCADE ON UPDATE CASCADE;\n',
        "model Comment {\n  id Int @id @default(autoincrement())\n  pageId String\n"
        "  body String\n  page Page @relation(fields: [pageId], references: [id])\n}\n",
        ["+class Comment(SQLModel, table=True):", '+    comments: list["Comment"]'],
    ),
    "view": (
        'CREATE VIEW "DraftPage" AS SELECT "id", "title" FROM "Page" WHERE "status" = \'DRAFT\';\n',
        "view DraftPage {\n  id String @unique\n  title String\n}\n",
        ["+class DraftPage(SQLModel, table=True):", "+_register_view(DraftPage)"],
    ),
}


def committed_copy(tmp_path: Path) -> Path:
    out = tmp_path / "committed"
    out.mkdir()
    for name in ("models.py", "view_tables.py"):
        shutil.copy(ROOT / "app" / name, out / name)
    return out


def test_committed_models_match_the_migrations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRISMA_DIR", str(ROOT / "prisma"))
    assert orm_check.main(["--out-dir", str(committed_copy(tmp_path))]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("orm-check OK")


@pytest.mark.parametrize("case", list(CASES))
def test_new_migration_makes_the_check_fail_until_regenerated(
    case: str,
    prisma_copy: Path,
    tmp_path: Path,
    scratch_db: Callable[[], str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    sql, prisma_addition, expected = CASES[case]
    add_migration(prisma_copy, "20270101000000_drift", sql)
    if prisma_addition:
        schema = prisma_copy / "schema.prisma"
        text = schema.read_text() + "\n" + prisma_addition
        if case == "table":
            text = text.replace(
                "  revisions   PageRevision[]\n",
                "  revisions   PageRevision[]\n  comments Comment[]\n",
            )
        schema.write_text(text)
    out = committed_copy(tmp_path)
    capsys.readouterr()

    assert orm_check.main(["--prisma-dir", str(prisma_copy), "--out-dir", str(out)]) == 1
    output = capsys.readouterr().out
    for needle in expected:
        assert needle in output, f"{needle!r} not in:\n{output}"
    assert "20270101000000_drift" in output  # the header names the new latest migration
    last = output.strip().splitlines()[-1]
    assert "make orm" in last
    assert "commit" in last

    # Regenerate as a developer would (a database at the latest migration), then it passes.
    dev = scratch_db()
    apply_migrations(dev, prisma_copy / "migrations")
    codegen.write_outputs(dev, ["models", "views"], prisma_dir=prisma_copy, out_dir=out)
    capsys.readouterr()
    assert orm_check.main(["--prisma-dir", str(prisma_copy), "--out-dir", str(out)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("orm-check OK")
