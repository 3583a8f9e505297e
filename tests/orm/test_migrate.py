"""tools/migrate.py applies prisma/migrations like `prisma migrate deploy`."""

from __future__ import annotations

import hashlib
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from tools import migrate
from tools.migrate import MigrationError, apply_migrations, to_conninfo

from .conftest import MIGRATIONS, add_migration

FIXTURES = Path(__file__).parent / "migrations_fixtures"

NAMES = sorted(p.name for p in MIGRATIONS.iterdir() if (p / "migration.sql").is_file())


def rows(url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(to_conninfo(url)) as conn:
        return conn.execute(
            "SELECT id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at,"
            ' applied_steps_count FROM "_prisma_migrations" ORDER BY started_at, migration_name'
        ).fetchall()


def query(url: str, statement: str) -> list[tuple[object, ...]]:
    with psycopg.connect(to_conninfo(url)) as conn:
        return conn.execute(statement.encode()).fetchall()


def table_exists(url: str, name: str) -> bool:
    with psycopg.connect(to_conninfo(url)) as conn:
        row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f'"{name}"',)).fetchone()
    return bool(row and row[0])


# ------------------------------------------------------------------------ no database needed


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u:p@h:5433/db", "postgresql://u:p@h:5433/db"),
        (
            "postgresql+asyncpg://u@h/db?schema=app",
            "postgresql://u@h/db?options=-csearch_path%3Dapp",
        ),
        (
            "postgresql://u@h/db?schema=public&connection_limit=5&pgbouncer=true&sslmode=require"
            "&pool_timeout=10&socket_timeout=3",
            "postgresql://u@h/db?sslmode=require&options=-csearch_path%3Dpublic",
        ),
        (
            "postgresql://u@h/db?connect_timeout=4&unknown=1",
            "postgresql://u@h/db?connect_timeout=4",
        ),
    ],
)
def test_prisma_urls_become_libpq_uris(url: str, expected: str) -> None:
    assert to_conninfo(url) == expected


def test_non_postgres_url_is_refused() -> None:
    with pytest.raises(ValueError, match="not a PostgreSQL URL"):
        to_conninfo("sqlite:///x.db")


def test_dotenv_parser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text(
        '# comment\nexport DATABASE_URL="postgresql://u@h/db?schema=x"\nOTHER=1 # note\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert migrate.read_dotenv(tmp_path / ".env")["OTHER"] == "1"
    assert migrate.resolve_database_url(None) == "postgresql://u@h/db?schema=x"
    monkeypatch.setenv("DATABASE_URL", "postgresql://env/db")
    assert migrate.resolve_database_url(None) == "postgresql://env/db"
    assert migrate.resolve_database_url("postgresql://arg/db") == "postgresql://arg/db"


def test_split_statements_keeps_quotes_bodies_and_comments_whole() -> None:
    script = (
        "-- CreateTable\nCREATE TABLE a (x TEXT DEFAULT 'a;b''c', \"y;\"\"z\" INT);\n"
        "/* nested /* ; */ still a comment; */\n"
        "CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END; $body$ LANGUAGE plpgsql;\n"
        "SELECT E'it\\'s; fine', $1, a$b$c FROM t;\n"
        "DO $$ BEGIN PERFORM 1; END $$\n"
        "-- a trailing comment; not a statement\n"
    )
    statements = migrate.split_statements(script)
    assert statements is not None
    assert [s.line for s in statements] == [2, 4, 5, 6]
    assert statements[0].sql.startswith("-- CreateTable\nCREATE TABLE a")
    assert statements[1].sql.strip().startswith("/* nested")
    assert statements[1].sql.rstrip().endswith("LANGUAGE plpgsql;")
    assert statements[2].sql.strip() == "SELECT E'it\\'s; fine', $1, a$b$c FROM t;"
    assert statements[3].sql.strip().startswith("DO $$ BEGIN PERFORM 1; END $$")


@pytest.mark.parametrize(
    "script",
    [
        "CREATE FUNCTION g() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\nEND;",
        "SELECT 'never closed; SELECT 2;",
        "SELECT 1; /* never closed",
    ],
)
def test_scripts_that_cannot_be_split_safely_are_sent_whole(script: str) -> None:
    assert migrate.split_statements(script) is None


def test_comment_only_script_has_no_statement() -> None:
    assert migrate.split_statements("-- nothing to do\n/* really */\n") == []


# --------------------------------------------------------------------------------- PostgreSQL


@pytest.mark.postgres
@pytest.mark.usefixtures("require_postgres")
def test_applies_in_order_records_like_prisma_and_is_idempotent(
    scratch_db: Callable[[], str], capsys: pytest.CaptureFixture[str]
) -> None:
    url = scratch_db()
    assert apply_migrations(url, MIGRATIONS) == NAMES
    out = capsys.readouterr().out
    assert f"applying {NAMES[0]} … ok" in out

    recorded = rows(url)
    assert [r[3] for r in recorded] == NAMES
    for row_id, checksum, finished, name, logs, rolled_back, started, steps in recorded:
        uuid.UUID(str(row_id))
        data = (MIGRATIONS / str(name) / "migration.sql").read_bytes()
        assert checksum == hashlib.sha256(data).hexdigest()
        assert finished is not None
        assert started is not None
        assert finished >= started  # type: ignore[operator]
        assert logs is None
        assert rolled_back is None
        assert steps == 1

    # Second run: nothing to do, nothing recorded twice.
    assert apply_migrations(url, MIGRATIONS) == []
    assert len(rows(url)) == len(NAMES)
    assert migrate.main(["--database-url", url, "--prisma-dir", str(MIGRATIONS.parent)]) == 0
    assert "up to date" in capsys.readouterr().out


@pytest.mark.postgres
@pytest.mark.usefixtures("require_postgres")
def test_prisma_url_with_schema_param(scratch_db: Callable[[], str]) -> None:
    url = scratch_db() + "?schema=tenant&connection_limit=3"
    assert apply_migrations(url, MIGRATIONS) == NAMES
    with psycopg.connect(to_conninfo(url)) as conn:
        row = conn.execute(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 'Item'"
        ).fetchone()
    assert row == ("tenant",)


@pytest.mark.postgres
@pytest.mark.usefixtures("require_postgres")
def test_refuses_a_migration_modified_after_it_was_applied(
    scratch_db: Callable[[], str], prisma_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = scratch_db()
    apply_migrations(url, prisma_copy / "migrations")
    script = prisma_copy / "migrations" / NAMES[0] / "migration.sql"
    script.write_text(script.read_text() + "\n-- edited afterwards\n")
    with pytest.raises(MigrationError, match=f"{NAMES[0]} was modified after it was applied"):
        apply_migrations(url, prisma_copy / "migrations")
    assert migrate.main(["--database-url", url, "--prisma-dir", str(prisma_copy)]) == 1
    assert NAMES[0] in capsys.readouterr().err
    # Only line endings changed: accepted, as Prisma does.
    script.write_bytes(
        (MIGRATIONS / NAMES[0] / "migration.sql").read_bytes().replace(b"\n", b"\r\n")
    )
    assert apply_migrations(url, prisma_copy / "migrations") == []


@pytest.mark.postgres
@pytest.mark.usefixtures("require_postgres")
def test_alter_type_add_value_then_use_it_in_a_later_migration(
    scratch_db: Callable[[], str], prisma_copy: Path
) -> None:
    # A value added in one migration is usable in the next.
    add_migration(
        prisma_copy, "20280101000000_hidden", "ALTER TYPE \"ItemKind\" ADD VALUE 'HIDDEN';\n"
    )
    add_migration(
        prisma_copy,
        "20280102000000_use_hidden",
        'ALTER TABLE "Item" ALTER COLUMN "kind" SET DEFAULT \'HIDDEN\';\n',
    )
    url = scratch_db()
    assert len(apply_migrations(url, prisma_copy / "migrations")) == len(NAMES) + 2


@pytest.mark.postgres
@pytest.mark.usefixtures("require_postgres")
def test_scratch_database_is_dropped(orm_pg_server: str) -> None:
    url = migrate.create_scratch_database(orm_pg_server, "orm-Test drop")
    name = migrate.database_name(url)
    assert name.startswith("orm_test_drop_")
    holder = psycopg.connect(to_conninfo(url))  # an open connection does not block the drop
    try:
        migrate.drop_database(url)
    finally:
        holder.close()
    with psycopg.connect(to_conninfo(orm_pg_server)) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
    assert row == (0,)


# ------------------------------------------------- migrations as Prisma Migrate (7.4+) runs them


def fixture_migrations(case: str, tmp_path: Path) -> Path:
    """A writable copy of ``migrations_fixtures/<case>/migrations``."""
    target = tmp_path / case
    shutil.copytree(FIXTURES / case, target)
    return target / "migrations"


@pytest.mark.postgres
@pytest.mark.usefixtures("require_postgres")
def test_create_index_concurrently_applies_alone_and_among_other_statements(
    scratch_db: Callable[[], str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = scratch_db()
    migrations = fixture_migrations("concurrently", tmp_path)
    assert migrate.main(["--database-url", url, "--prisma-dir", str(migrations.parent)]) == 0
    out = capsys.readouterr().out
    assert "3 of 3 migration(s)" in out
    assert "[1/3] applying 20270101000000_init … ok" in out
    assert "[3/3] applying 20270103000000_created_at_index … ok" in out
    assert out.strip().endswith("3 migration(s) applied")

    indexes = query(
        url,
        "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        """ WHERE i.indrelid = '"Item"'::regclass ORDER BY c.relname""",
    )
    assert [(str(n), v) for n, v in indexes] == [
        ("Item_createdAt_idx", True),
        ("Item_name_idx", True),
        ("Item_name_kind_key", True),
        ("Item_pkey", True),
    ]
    assert [(r[3], r[7], r[4]) for r in rows(url)] == [
        ("20270101000000_init", 1, None),
        ("20270102000000_name_index", 1, None),
        ("20270103000000_created_at_index", 1, None),
    ]


@pytest.mark.postgres
@pytest.mark.usefixtures("require_postgres")
def test_scripts_managing_their_own_transaction_apply_as_written(
    scratch_db: Callable[[], str], tmp_path: Path
) -> None:
    url = scratch_db()
    migrations = fixture_migrations("own_transaction", tmp_path)
    assert len(apply_migrations(url, migrations)) == 4

    # BEGIN … COMMIT, SET TRANSACTION: the file's own transaction, with its isolation level.
    assert query(url, 'SELECT "note" FROM "Audit" ORDER BY "id"') == [
        ("isolation: serializable",),
        ("done; in a DO block",),
    ]
    assert table_exists(url, "Audit")
    assert query(url, "SELECT count(*) FROM pg_proc WHERE proname = 'item_touch'") == [(1,)]
    # A value added by ALTER TYPE is usable by the next statement of the same file: each
    # statement commits on its own (in one transaction PostgreSQL refuses it).
    default = query(
        url,
        "SELECT column_default FROM information_schema.columns"
        " WHERE table_name = 'Item' AND column_name = 'kind'",
    )
    assert default == [("'ARCHIVED'::\"ItemKind\"",)]
    assert all(r[2] is not None and r[7] == 1 for r in rows(url))


@pytest.mark.postgres
@pytest.mark.usefixtures("require_postgres")
def test_failing_statement_is_recorded_like_prisma_and_later_runs_refuse(
    scratch_db: Callable[[], str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = scratch_db()
    migrations = fixture_migrations("failing", tmp_path)
    broken, later = "20270102000000_broken", "20270103000000_later"

    assert migrate.main(["--database-url", url, "--prisma-dir", str(migrations.parent)]) == 1
    captured = capsys.readouterr()
    assert f"[2/3] applying {broken} … FAILED" in captured.out
    error = captured.err.strip()
    assert error.startswith(f"error: migration {broken} failed: line 3: ")
    assert 'relation "NoSuchTable" does not exist' in error

    # As Prisma 7.4+ leaves it: the statement before the failing one is applied (it committed
    # on its own), nothing after it ran, and no later migration ran.
    assert table_exists(url, "Half")
    assert not table_exists(url, "AfterTheError")
    assert not table_exists(url, "Later")

    recorded = {str(r[3]): r for r in rows(url)}
    assert recorded["20270101000000_init"][2] is not None
    failed = recorded[broken]
    assert failed[2] is None  # finished_at
    assert failed[7] == 0  # applied_steps_count
    assert failed[5] is None  # rolled_back_at
    logs = str(failed[4])
    assert f"Migration name: {broken}" in logs
    assert "Database error code: 42P01" in logs
    assert 'relation "NoSuchTable" does not exist' in logs
    assert later not in recorded

    # Like Prisma (P3009): later runs stop until the failed migration is resolved.
    with pytest.raises(MigrationError, match=f"{broken} .*failed in an earlier run"):
        apply_migrations(url, migrations)
    assert migrate.main(["--database-url", url, "--prisma-dir", str(migrations.parent)]) == 1
    assert "prisma migrate resolve --rolled-back" in capsys.readouterr().err
    assert not table_exists(url, "Later")


@pytest.mark.postgres
@pytest.mark.usefixtures("require_postgres")
def test_failure_inside_the_scripts_own_transaction_rolls_that_transaction_back(
    scratch_db: Callable[[], str], tmp_path: Path
) -> None:
    url = scratch_db()
    migrations = fixture_migrations("failing_in_transaction", tmp_path)
    name = "20270102000000_broken_transaction"
    with pytest.raises(MigrationError, match=f"{name} failed: line 5: division by zero"):
        apply_migrations(url, migrations)
    assert table_exists(url, "BeforeTheTransaction")
    assert not table_exists(url, "InTheTransaction")
    failed = {str(r[3]): r for r in rows(url)}[name]
    assert failed[2] is None
    assert "Database error code: 22012" in str(failed[4])


@pytest.mark.postgres
@pytest.mark.usefixtures("require_postgres")
def test_a_transaction_left_open_fails_the_migration(
    scratch_db: Callable[[], str], prisma_copy: Path
) -> None:
    name = "20280101000000_no_commit"
    add_migration(prisma_copy, name, 'BEGIN;\nCREATE TABLE "Uncommitted" ("id" INTEGER);\n')
    url = scratch_db()
    with pytest.raises(MigrationError, match="did not end it"):
        apply_migrations(url, prisma_copy / "migrations")
    assert not table_exists(url, "Uncommitted")
    assert {str(r[3]): r[2] for r in rows(url)}[name] is None


@pytest.mark.postgres
@pytest.mark.usefixtures("require_postgres")
def test_bookkeeping_survives_a_migration_that_changes_search_path(
    scratch_db: Callable[[], str], prisma_copy: Path
) -> None:
    add_migration(
        prisma_copy,
        "20280101000000_elsewhere",
        'CREATE SCHEMA "other";\nSET search_path TO "other";\nCREATE TABLE "Elsewhere" ("id" INT);\n',
    )
    add_migration(prisma_copy, "20280102000000_after", "SELECT 1;\n")
    url = scratch_db()
    assert len(apply_migrations(url, prisma_copy / "migrations")) == len(NAMES) + 2
    assert len(rows(url)) == len(NAMES) + 2
