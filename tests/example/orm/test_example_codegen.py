"""The example's generated code: app/models.py and app/view_tables.py are what the generator
writes from prisma/, orm-check fails on each kind of drift of the example's schema, the parser
reads the example's schema.prisma."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.example.conftest import MIGRATIONS
from tests.orm.conftest import ROOT, add_migration
from tests.orm.test_codegen import generate, relationships
from tests.orm.test_orm_check import needs_postgres
from tools import codegen, orm_check
from tools.migrate import apply_migrations
from tools.prisma_schema import load_schema

PRISMA_DIR = ROOT / "prisma"


@pytest.mark.postgres
@pytest.mark.usefixtures("require_postgres")
def test_output_is_identical_across_runs_and_databases(
    orm_migrated_url: str, scratch_db: Callable[[], str], tmp_path: Path
) -> None:
    first = generate(orm_migrated_url, tmp_path / "a", PRISMA_DIR)
    second = generate(orm_migrated_url, tmp_path / "b", PRISMA_DIR)
    other = scratch_db()
    apply_migrations(other, MIGRATIONS)
    third = generate(other, tmp_path / "c", PRISMA_DIR)
    assert first == second == third
    models, views = first
    # Committed files are what the generator writes (also checked by orm_check).
    assert models == (ROOT / "app" / "models.py").read_text()
    assert views == (ROOT / "app" / "view_tables.py").read_text()
    for text in first:
        head = "\n".join(text.splitlines()[:5])
        assert "GENERATED" in head
        assert "20261118100000_page_listing_index" in head
        assert "orm_test" not in text  # no scratch database name


@pytest.mark.postgres
@pytest.mark.usefixtures("require_postgres")
def test_prisma_names_types_and_defaults(orm_migrated_url: str, tmp_path: Path) -> None:
    models, views = generate(orm_migrated_url, tmp_path, PRISMA_DIR)
    assert "_prisma_migrations" not in models
    assert "schema=" not in models
    assert "class PageStatus(enum.StrEnum):" in models
    assert "class Role(enum.StrEnum):" in models
    assert 'SCHEDULED = "SCHEDULED"' in models
    assert "::" not in models  # no PostgreSQL casts in server defaults
    assert relationships(models) == {
        "Tag": {"pages"},
        "User": {"pages"},
        "Page": {"author", "tagItems", "revisions"},
        "PageRevision": {"page"},
    }
    assert "class PageRevision(SQLModel, table=True):" in models
    assert "metadata_: Any = Field(" in models
    assert 'JSONB(none_as_null=True).with_variant(JSON(none_as_null=True), "sqlite")' in models
    assert 'ARRAY(Text()).with_variant(JSON(), "sqlite")' in models
    assert "default_factory=cuid" in models
    assert "default=utcnow, onupdate=utcnow" in models
    assert "default_factory=uuid4_value" in models  # @db.Uuid column -> uuid.UUID objects
    assert "class PublishedPage(SQLModel, table=True):" in views
    assert 'Column("id", Text, primary_key=True)' in views


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


@needs_postgres
def test_committed_models_match_the_migrations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRISMA_DIR", str(PRISMA_DIR))
    assert orm_check.main(["--out-dir", str(committed_copy(tmp_path))]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("orm-check OK")


@needs_postgres
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


def test_project_schema() -> None:
    schema = load_schema(PRISMA_DIR)
    assert schema is not None
    assert set(schema.models) == {"User", "Page", "Tag", "PageRevision", "PublishedPage"}
    assert schema.models["PublishedPage"].kind == "view"
    assert schema.models["PublishedPage"].id_fields() == ["id"]
    assert [v for v, _ in schema.enums["PageStatus"].values][-1] == "SCHEDULED"

    revision = schema.models["PageRevision"]
    assert revision.db_name == "page_revisions"
    assert schema.model_for_table("page_revisions") is revision
    assert revision.field_by_column("page_id").name == "pageId"  # type: ignore[union-attr]
    external = revision.field_by_name("externalId")
    assert external is not None
    assert external.default == "uuid()"
    assert external.native_type == "Uuid"
    assert revision.field_by_name("editedAt").updated_at  # type: ignore[union-attr]

    page = schema.models["Page"]
    assert page.field_by_name("id").default == "cuid()"  # type: ignore[union-attr]
    author = page.field_by_name("author")
    assert author is not None
    relation = schema.relation_of(page, author)
    assert (relation.name, relation.fields, relation.references) == (
        "PageToUser",
        ["authorId"],
        ["id"],
    )
    tag_items = page.field_by_name("tagItems")
    assert tag_items is not None
    assert tag_items.is_list
    assert schema.relation_of(page, tag_items).name == "PageToTag"
