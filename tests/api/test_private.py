"""Local-only diagnostics: `/private/diagnostics/server` and `/private/diagnostics/database`,
on the machinery fixture: PostgreSQL databases are built from its migrations and compared with
its models; the embedded SQLite file is built from the generated models, whatever they are.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.diagnostics import (
    ColumnShape,
    MigrationFile,
    MigrationRecord,
    SchemaSnapshot,
    compare_migrations,
    compare_schemas,
    normalise_type_name,
    redact_url,
)
from tests.api.diagnostics_support import (
    DATABASE,
    MIGRATIONS,
    PRISMA_DIR,
    SERVER,
    VIEW_MIGRATION,
    VIEW_SQL,
    WITH_VIEW,
    add_migration,
    copy_prisma,
    differences,
    fetch,
    find,
    run_sql,
    scratch_database,
    with_password,
)
from tests.pg import require_pg_server

OUTSIDE_LOCAL: dict[str, Any] = {
    "SECRET_KEY": "x" * 40,
    "DATABASE_URL": "postgresql://u:pw@127.0.0.1:1/db",
}


@pytest.fixture(scope="module")
def pg_reachable() -> str:
    return require_pg_server()


@pytest.fixture
def pg_server(pg_reachable: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The PostgreSQL server (the drift check compares with the models the app serves)."""
    return pg_reachable


@pytest.fixture
def prisma_with_view(pg_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the fixture's folder with a migration that adds a view, declared as well."""
    prisma = copy_prisma(tmp_path)
    add_migration(prisma, VIEW_MIGRATION, f"{VIEW_SQL};")
    return prisma


# ----------------------------------------------------------------------- local only


@pytest.mark.parametrize("environment", ["staging", "production"])
@pytest.mark.parametrize("path", [SERVER, DATABASE])
async def test_diagnostics_are_404_outside_local(environment: str, path: str) -> None:
    # Nothing connects when the app is built: no database needed to see the route is absent.
    response = await fetch(path, lifespan=False, ENVIRONMENT=environment, **OUTSIDE_LOCAL)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("environment", ["staging", "production"])
async def test_diagnostics_are_absent_from_openapi_outside_local(environment: str) -> None:
    response = await fetch(
        "/api/v1/openapi.json", lifespan=False, ENVIRONMENT=environment, **OUTSIDE_LOCAL
    )
    schema = response.json()
    assert not [path for path in schema["paths"] if "/private" in path]
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert not [op for op in operations if "private" in op.get("tags", [])]
    ids = {op["operationId"] for op in operations}
    assert not ids & {"serverDiagnostics", "databaseDiagnostics"}


async def test_openapi_lists_diagnostics_in_local(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/api/v1/openapi.json")).json()["paths"]
    server, database = paths[SERVER]["get"], paths[DATABASE]["get"]
    assert (server["operationId"], server["tags"]) == ("serverDiagnostics", ["private"])
    assert (database["operationId"], database["tags"]) == ("databaseDiagnostics", ["private"])
    assert "application/problem+json" in database["responses"]["503"]["content"]


# --------------------------------------------------------------------------- server


async def test_server_diagnostics_report_every_field(client: httpx.AsyncClient) -> None:
    response = await client.get(SERVER)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "app",
        "environment",
        "python",
        "platform",
        "pid",
        "startedAt",
        "uptimeSeconds",
        "residentMemoryBytes",
        "peakResidentMemoryBytes",
        "eventLoop",
        "packages",
        "settings",
    }
    assert body["app"] == {"name": "app-api", "version": "0.1.0"}
    assert body["environment"] == "local"
    assert set(body["python"]) == {"version", "implementation"}
    assert body["python"]["implementation"] == "CPython"
    assert body["pid"] > 0
    assert body["startedAt"].endswith("Z")
    assert body["uptimeSeconds"] >= 0
    assert body["residentMemoryBytes"] > 1_000_000
    assert body["eventLoop"].rsplit(".", 1)[-1].endswith(("Loop", "EventLoop"))
    assert set(body["packages"]) == {
        "fastapi",
        "starlette",
        "pydantic",
        "sqlalchemy",
        "sqlmodel",
        "asyncpg",
        "uvicorn",
    }
    assert all(body["packages"].values())
    settings = body["settings"]
    assert settings["SECRET_KEY"] == "***"
    assert settings["ENVIRONMENT"] == "local"
    assert settings["PRISMA_DIR"] == "prisma"
    assert settings["DB_POOL_SIZE"] == 10


async def test_server_diagnostics_never_show_secrets() -> None:
    secret_key = "Server-Secret-Key-0123456789-abcdefghijkl"
    password = "Db-Passw0rd-Never-Shown"
    sentry_key = "SentryPublicKey0123456789"
    response = await fetch(
        SERVER,
        lifespan=False,  # the lifespan would start Sentry for the whole test session
        SECRET_KEY=secret_key,
        DATABASE_URL=f"postgresql://diag:{password}@127.0.0.1:1/db",
        SENTRY_DSN=f"http://{sentry_key}@127.0.0.1:9/1",
    )
    assert response.status_code == 200
    for secret in (secret_key, password, sentry_key):
        assert secret not in response.text
    settings = response.json()["settings"]
    assert settings["SECRET_KEY"] == "***"
    assert settings["DATABASE_URL"] == "postgresql://diag:***@127.0.0.1:1/db"
    assert settings["SENTRY_DSN"] == "http://***@127.0.0.1:9/1"


# ------------------------------------------------------------------------- database


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
async def test_database_diagnostics_report_every_field(
    dialect: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if dialect == "sqlite":
        # The embedded file is built from the generated models: in sync with them.
        response = await fetch(DATABASE, DATABASE_URL=f"sqlite:///{tmp_path / 'diag.sqlite3'}")
    else:
        with scratch_database(request.getfixturevalue("pg_server")) as url:
            response = await fetch(DATABASE, DATABASE_URL=url)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "url",
        "dialect",
        "driver",
        "serverVersion",
        "database",
        "defaultSchema",
        "latencyMs",
        "pool",
        "migrations",
        "schemaDrift",
        "notes",
    }
    assert body["serverVersion"]
    assert body["database"]
    assert 0 < body["latencyMs"] < 3000
    assert set(body["pool"]) == {"implementation", "size", "checkedIn", "checkedOut", "overflow"}
    assert body["pool"]["size"] >= 1
    assert body["pool"]["overflow"] == 0
    drift = body["schemaDrift"]
    assert set(drift) == {"verdict", "compared", "differences", "fix"}
    assert drift == {
        "verdict": "in_sync",
        "compared": drift["compared"],
        "differences": [],
        "fix": None,
    }
    if dialect == "sqlite":
        assert (body["dialect"], body["driver"]) == ("sqlite", "aiosqlite")
        assert body["migrations"] is None
        assert drift["compared"] == ["tables", "columns", "types", "nullability"]
        assert any(note.startswith("migrations: not applicable") for note in body["notes"])
        assert any(note.startswith("enums: not applicable") for note in body["notes"])
    else:
        assert (body["dialect"], body["driver"]) == ("postgresql", "asyncpg")
        assert body["defaultSchema"] == "public"
        assert drift["compared"] == ["tables", "columns", "types", "nullability", "views", "enums"]
        assert body["migrations"] == {
            "folder": str(PRISMA_DIR / "migrations"),
            "applied": MIGRATIONS,
            "pending": [],
            "modified": [],
            "failed": [],
            "missingFromFolder": [],
        }
        assert body["notes"] == []


async def test_database_diagnostics_never_show_the_password(pg_server: str) -> None:
    secret_key = "Database-Secret-Key-0123456789-abcdefghij"
    password = "Db-Passw0rd-Never-Shown"
    with scratch_database(pg_server) as url:
        # With trust authentication the server ignores the password; it must still be hidden.
        response = await fetch(
            DATABASE, SECRET_KEY=secret_key, DATABASE_URL=with_password(url, password)
        )
    assert response.status_code == 200
    assert ":***@" in response.json()["url"]
    assert secret_key not in response.text
    assert password not in response.text


async def test_database_diagnostics_are_503_when_database_unreachable() -> None:
    password = "Unreachable-Passw0rd"
    response = await fetch(DATABASE, DATABASE_URL=f"postgresql://diag:{password}@127.0.0.1:1/db")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "service_unavailable"
    assert password not in response.text
    assert "Traceback" not in response.text


async def test_server_diagnostics_need_no_database() -> None:
    response = await fetch(SERVER, DATABASE_URL="postgresql://diag@127.0.0.1:1/db")
    assert response.status_code == 200


async def test_stale_sqlite_file_is_drift_fixed_by_deleting_it(tmp_path: Path) -> None:
    path = tmp_path / "stale.sqlite3"
    await fetch(DATABASE, DATABASE_URL=f"sqlite:///{path}")  # creates the tables
    with sqlite3.connect(path) as conn:
        # A table of the generated models (the file is built from them, whatever they are).
        [table] = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'"
            " ORDER BY name LIMIT 1"
        ).fetchone()
        conn.execute(f'ALTER TABLE "{table}" ADD COLUMN "subtitle" TEXT')
    body = (await fetch(DATABASE, DATABASE_URL=f"sqlite:///{path}")).json()
    assert body["schemaDrift"]["verdict"] == "drift"
    assert find(body, "extra_column", table=table, column="subtitle")
    assert len(differences(body)) == 1
    assert body["schemaDrift"]["fix"] == f"rm -f {path}*"


# ----------------------------------------------------------------------- migrations


async def test_unapplied_migration_folder_is_pending(pg_server: str, tmp_path: Path) -> None:
    prisma = copy_prisma(tmp_path)
    with scratch_database(pg_server) as url:
        add_migration(prisma, "20990101000000_add_x", 'ALTER TABLE "mx_article" ADD "x" TEXT;')
        body = (await fetch(DATABASE, DATABASE_URL=url, PRISMA_DIR=str(prisma))).json()
    migrations = body["migrations"]
    assert migrations["folder"] == str(prisma / "migrations")
    assert migrations["applied"] == MIGRATIONS
    assert migrations["pending"] == ["20990101000000_add_x"]
    assert migrations["modified"] == migrations["failed"] == []
    assert any("1 pending migration" in note for note in body["notes"])
    assert body["schemaDrift"]["verdict"] == "in_sync"


async def test_edited_migration_file_is_modified(pg_server: str, tmp_path: Path) -> None:
    prisma = copy_prisma(tmp_path)
    with scratch_database(pg_server, prisma) as url:
        script = prisma / "migrations" / MIGRATIONS[0] / "migration.sql"
        script.write_bytes(script.read_bytes() + b"-- edited after it was applied\n")
        body = (await fetch(DATABASE, DATABASE_URL=url, PRISMA_DIR=str(prisma))).json()
    migrations = body["migrations"]
    assert migrations["modified"] == [MIGRATIONS[0]]
    assert migrations["applied"] == MIGRATIONS
    assert migrations["pending"] == migrations["failed"] == []


async def test_crlf_line_endings_alone_are_not_a_modification(
    pg_server: str, tmp_path: Path
) -> None:
    # Prisma accepts a file whose only change is its line endings.
    prisma = copy_prisma(tmp_path)
    with scratch_database(pg_server, prisma) as url:
        script = prisma / "migrations" / MIGRATIONS[0] / "migration.sql"
        script.write_bytes(script.read_bytes().replace(b"\n", b"\r\n"))
        body = (await fetch(DATABASE, DATABASE_URL=url, PRISMA_DIR=str(prisma))).json()
    assert body["migrations"]["modified"] == []


async def test_unfinished_migration_is_failed(pg_server: str, tmp_path: Path) -> None:
    prisma = copy_prisma(tmp_path)
    add_migration(prisma, "20990101000000_broken", "SELECT broken;")
    add_migration(prisma, "20990102000000_undone", "SELECT 1;")
    with scratch_database(pg_server) as url:
        run_sql(
            url,
            'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at) VALUES'
            " ('f1', 'x', '20990101000000_broken', now()),"
            " ('f2', 'x', '20990102000000_undone', now())",
        )
        run_sql(url, "UPDATE \"_prisma_migrations\" SET rolled_back_at = now() WHERE id = 'f2'")
        body = (await fetch(DATABASE, DATABASE_URL=url, PRISMA_DIR=str(prisma))).json()
    migrations = body["migrations"]
    assert migrations["failed"] == ["20990101000000_broken"]
    # A rolled-back attempt does not count: Prisma would apply it again.
    assert migrations["pending"] == ["20990102000000_undone"]
    assert migrations["applied"] == MIGRATIONS


async def test_migration_missing_from_folder_is_reported(pg_server: str, tmp_path: Path) -> None:
    prisma = copy_prisma(tmp_path)
    with scratch_database(pg_server) as url:
        for child in (prisma / "migrations" / MIGRATIONS[-1]).iterdir():
            child.unlink()
        (prisma / "migrations" / MIGRATIONS[-1]).rmdir()
        body = (await fetch(DATABASE, DATABASE_URL=url, PRISMA_DIR=str(prisma))).json()
    assert body["migrations"]["missingFromFolder"] == [MIGRATIONS[-1]]
    assert body["migrations"]["pending"] == []


async def test_missing_prisma_folder_is_a_note(pg_server: str, tmp_path: Path) -> None:
    with scratch_database(pg_server) as url:
        body = (await fetch(DATABASE, DATABASE_URL=url, PRISMA_DIR=str(tmp_path / "no"))).json()
    assert body["migrations"]["applied"] == MIGRATIONS
    assert body["migrations"]["pending"] == body["migrations"]["missingFromFolder"] == []
    assert any(note.startswith("no migrations folder at") for note in body["notes"])


# -------------------------------------------------------------------------- drift


async def test_column_added_by_a_newer_migration_is_drift(pg_server: str, tmp_path: Path) -> None:
    prisma = copy_prisma(tmp_path)
    add_migration(
        prisma,
        "20990101000000_article_subtitle",
        'ALTER TABLE "mx_article" ADD COLUMN "subtitle" TEXT;',
    )
    with scratch_database(pg_server, prisma) as url:
        body = (await fetch(DATABASE, DATABASE_URL=url, PRISMA_DIR=str(prisma))).json()
    assert body["migrations"]["applied"] == [*MIGRATIONS, "20990101000000_article_subtitle"]
    assert body["migrations"]["pending"] == []
    drift = body["schemaDrift"]
    assert drift["verdict"] == "drift"
    assert drift["fix"] == "make orm"
    difference = find(body, "extra_column", table="mx_article", column="subtitle")
    assert difference["detail"] == (
        'column "mx_article"."subtitle" (TEXT, nullable) is in the database but not in'
        " app/models.py"
    )
    assert len(differences(body)) == 1


DRIFTS = [
    pytest.param(
        'ALTER TABLE "mx_article" DROP COLUMN "body"',
        "missing_column",
        {"table": "mx_article", "column": "body"},
        '"mx_article"."body" (TEXT, nullable) is in app/models.py but not in the database',
        1,
        id="column-removed",
    ),
    pytest.param(
        'ALTER TABLE "mx_article" ALTER COLUMN "views" TYPE BIGINT',
        "type_mismatch",
        {"table": "mx_article", "column": "views"},
        "is BIGINT in the database, INTEGER in app/models.py",
        1,
        id="integer-to-bigint",
    ),
    pytest.param(
        'ALTER TABLE "mx_post" ALTER COLUMN "parentId" TYPE INTEGER',
        "type_mismatch",
        {"table": "mx_post", "column": "parentId"},
        "is INTEGER in the database, BIGINT in app/models.py",
        1,
        id="bigint-to-integer",
    ),
    pytest.param(
        'ALTER TABLE "mx_article" ALTER COLUMN "price" TYPE NUMERIC(14,4)',
        "type_mismatch",
        {"table": "mx_article", "column": "price"},
        "is NUMERIC(14,4) in the database, NUMERIC(12,2) in app/models.py",
        1,
        id="numeric-precision",
    ),
    pytest.param(
        'ALTER TABLE "mx_post" ALTER COLUMN "createdAt" TYPE TIMESTAMP(6)',
        "type_mismatch",
        {"table": "mx_post", "column": "createdAt"},
        "is TIMESTAMP in the database, TIMESTAMP(3) in app/models.py",
        1,
        id="timestamp-precision",
    ),
    pytest.param(
        'ALTER TABLE "mx_snapshot" ALTER COLUMN "takenAt" TYPE DATE',
        "type_mismatch",
        {"table": "mx_snapshot", "column": "takenAt"},
        "is DATE in the database, TIMESTAMP(3) in app/models.py",
        1,
        id="timestamp-to-date",
    ),
    pytest.param(
        'ALTER TABLE "_LabelToPost" DROP CONSTRAINT "_LabelToPost_A_fkey";'
        ' ALTER TABLE "mx_label" ALTER COLUMN "id" TYPE TEXT',
        "type_mismatch",
        {"table": "mx_label", "column": "id"},
        "is TEXT in the database, UUID in app/models.py",
        1,
        id="uuid-to-text",
    ),
    pytest.param(
        'ALTER TABLE "mx_article" ALTER COLUMN "tags" TYPE JSONB USING to_jsonb("tags")',
        "type_mismatch",
        {"table": "mx_article", "column": "tags"},
        "is JSONB in the database, TEXT[] in app/models.py",
        1,
        id="array-to-jsonb",
    ),
    pytest.param(
        'ALTER TABLE "mx_article" ALTER COLUMN "metadata" TYPE JSON',
        "type_mismatch",
        {"table": "mx_article", "column": "metadata"},
        "is JSON in the database, JSONB in app/models.py",
        1,
        id="jsonb-to-json",
    ),
    pytest.param(
        'ALTER TABLE "mx_article" ALTER COLUMN "status" DROP DEFAULT,'
        ' ALTER COLUMN "status" TYPE TEXT',
        "type_mismatch",
        {"table": "mx_article", "column": "status"},
        # An all-lowercase enum name keeps its case (it is not quoted when compiled).
        'is TEXT in the database, "mx_article_status" in app/models.py',
        1,
        id="enum-to-text",
    ),
    pytest.param(
        'ALTER TABLE "mx_article" ALTER COLUMN "status" DROP DEFAULT,'
        ' ALTER COLUMN "status" TYPE TEXT; DROP TYPE "mx_article_status"',
        "missing_enum",
        {"enum": "mx_article_status"},
        'enum "mx_article_status" is used by app/models.py but does not exist in the database',
        2,
        id="enum-dropped",
    ),
    pytest.param(
        'ALTER TABLE "mx_article" ALTER COLUMN "body" SET NOT NULL',
        "nullability_mismatch",
        {"table": "mx_article", "column": "body"},
        "is NOT NULL in the database, nullable in app/models.py",
        1,
        id="nullability",
    ),
    pytest.param(
        "ALTER TYPE \"mx_article_status\" ADD VALUE 'X'",
        "extra_enum_value",
        {"enum": "mx_article_status"},
        "enum \"mx_article_status\" has value 'X' in the database, not in app/models.py",
        1,
        id="enum-value-added",
    ),
    pytest.param(
        'CREATE TABLE "mx_extra" ("id" SERIAL PRIMARY KEY, "body" TEXT NOT NULL)',
        "extra_table",
        {"table": "mx_extra"},
        'table "mx_extra" is in the database but not in app/models.py',
        1,
        id="table-added",
    ),
    pytest.param(
        'DROP TABLE "_LabelToPost"',
        "missing_table",
        {"table": "_LabelToPost"},
        'table "_LabelToPost" is in app/models.py but not in the database',
        1,
        id="table-removed",
    ),
    pytest.param(
        'CREATE VIEW "mx_draft_article" AS SELECT "id", "title" FROM "mx_article"'
        " WHERE \"status\" = 'DRAFT'",
        "extra_view",
        {"table": "mx_draft_article"},
        'view "mx_draft_article" is in the database but not in app/view_tables.py',
        1,
        id="view-added",
    ),
    pytest.param(
        'DROP VIEW "mx_published_article"',
        "missing_view",
        {"table": "mx_published_article"},
        'view "mx_published_article" is in app/view_tables.py but not in the database',
        1,
        id="view-removed",
    ),
    pytest.param(
        'CREATE OR REPLACE VIEW "mx_published_article" AS SELECT "id", "title", "slug",'
        ' "authorId", "publishedAt", "views" FROM "mx_article" WHERE "published"',
        "extra_column",
        {"table": "mx_published_article", "column": "views"},
        'column "mx_published_article"."views" (INTEGER) is in the database but not in'
        " app/view_tables.py",
        1,
        id="view-column-added",
    ),
]


async def test_declared_view_matching_the_database_is_in_sync(
    pg_server: str, prisma_with_view: Path
) -> None:
    with scratch_database(pg_server, prisma_with_view) as url:
        body = (
            await fetch(
                DATABASE, resources=WITH_VIEW, DATABASE_URL=url, PRISMA_DIR=str(prisma_with_view)
            )
        ).json()
    assert body["migrations"]["applied"] == [*MIGRATIONS, VIEW_MIGRATION]
    assert "views" in body["schemaDrift"]["compared"]
    assert body["schemaDrift"]["verdict"] == "in_sync", differences(body)


@pytest.mark.parametrize(("sql", "kind", "where", "detail", "count"), DRIFTS)
async def test_schema_change_is_drift(
    pg_server: str,
    prisma_with_view: Path,
    sql: str,
    kind: str,
    where: dict[str, str],
    detail: str,
    count: int,
) -> None:
    with scratch_database(pg_server, prisma_with_view) as url:
        run_sql(url, sql)
        body = (
            await fetch(
                DATABASE, resources=WITH_VIEW, DATABASE_URL=url, PRISMA_DIR=str(prisma_with_view)
            )
        ).json()
    drift = body["schemaDrift"]
    assert drift["verdict"] == "drift"
    assert drift["fix"] == "make orm"
    assert detail in find(body, kind, **where)["detail"]
    assert len(differences(body)) == count, differences(body)


# ------------------------------------------------------------------ pure functions


@pytest.mark.parametrize(
    ("compiled", "dialect", "expected"),
    [
        ("TEXT", "postgresql", "TEXT"),
        ("Text", "postgresql", "TEXT"),
        ("TIMESTAMP(3) WITHOUT TIME ZONE", "postgresql", "TIMESTAMP(3)"),
        ("TIMESTAMP WITH TIME ZONE", "postgresql", "TIMESTAMPTZ"),
        ("TIMESTAMP(6) WITHOUT TIME ZONE", "postgresql", "TIMESTAMP"),
        ("NUMERIC(10, 2)", "postgresql", "NUMERIC(10,2)"),
        ("DECIMAL(10,2)", "postgresql", "NUMERIC(10,2)"),
        ('"ArticleStatus"', "postgresql", '"ArticleStatus"'),
        ('"ArticleStatus"[]', "postgresql", '"ArticleStatus"[]'),
        ("TEXT[][]", "postgresql", "TEXT[]"),
        ("int4", "postgresql", "INTEGER"),
        ("INT8", "postgresql", "BIGINT"),
        ("character varying(20)", "postgresql", "VARCHAR(20)"),
        ("VARCHAR(9)", "sqlite", "VARCHAR"),
        ("CHAR(32)", "sqlite", "CHAR(32)"),
    ],
)
def test_normalise_type_name(compiled: str, dialect: str, expected: str) -> None:
    assert normalise_type_name(compiled, dialect_name=dialect) == expected


@pytest.mark.parametrize(
    ("url", "hide_username", "expected"),
    [
        ("postgresql://u:p%40ss@h:5/db?schema=x", False, "postgresql://u:***@h:5/db?schema=x"),
        ("postgres://u@h/db", False, "postgres://u@h/db"),
        ("sqlite:////tmp/app.sqlite3", False, "sqlite:////tmp/app.sqlite3"),
        ("https://key@o1.ingest.sentry.io/1", True, "https://***@o1.ingest.sentry.io/1"),
        ("https://key:secret@sentry.example/1", True, "https://***:***@sentry.example/1"),
        ("postgresql://h/db?password=pw&x=1", False, "postgresql://h/db?password=***&x=1"),
    ],
)
def test_redact_url(url: str, hide_username: bool, expected: str) -> None:
    assert redact_url(url, hide_username=hide_username) == expected


def test_compare_migrations_classifies_like_prisma() -> None:
    files = [
        MigrationFile("1_a", frozenset({"ca"})),
        MigrationFile("2_b", frozenset({"cb-new"})),
        MigrationFile("3_c", frozenset({"cc"})),
        MigrationFile("4_d", frozenset({"cd"})),
    ]
    records = [
        MigrationRecord("1_a", "ca", finished=True, rolled_back=False),
        MigrationRecord("2_b", "cb-old", finished=True, rolled_back=False),
        MigrationRecord("3_c", "cc", finished=False, rolled_back=False),
        MigrationRecord("4_d", "cd", finished=False, rolled_back=True),
        MigrationRecord("0_gone", "cg", finished=True, rolled_back=False),
    ]
    report = compare_migrations(Path("m"), files, records)
    assert report.applied == ["1_a", "2_b", "0_gone"]
    assert report.modified == ["2_b"]
    assert report.failed == ["3_c"]
    assert report.pending == ["4_d"]
    assert report.missing_from_folder == ["0_gone"]


def test_enum_value_missing_from_the_database_is_drift() -> None:
    column = {"status": ColumnShape('"mx_article_status"', nullable=False)}
    expected = SchemaSnapshot(
        tables={"mx_article": column},
        views={},
        enums={"mx_article_status": frozenset({"DRAFT", "NEW"})},
    )
    live = SchemaSnapshot(
        tables={"mx_article": column}, views={}, enums={"mx_article_status": frozenset({"DRAFT"})}
    )
    [difference] = compare_schemas(expected, live)
    assert difference.kind == "missing_enum_value"
    assert difference.enum == "mx_article_status"
    assert "'NEW'" in difference.detail
