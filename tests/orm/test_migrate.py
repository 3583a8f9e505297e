"""tools/migrate.py applies prisma/migrations like `prisma migrate deploy`."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from tools import migrate
from tools.migrate import MigrationError, apply_migrations, to_conninfo

from .conftest import MIGRATIONS, add_migration

NAMES = sorted(p.name for p in MIGRATIONS.iterdir() if (p / "migration.sql").is_file())


def rows(url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(to_conninfo(url)) as conn:
        return conn.execute(
            "SELECT id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at,"
            ' applied_steps_count FROM "_prisma_migrations" ORDER BY started_at, migration_name'
        ).fetchall()


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
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 'Page'"
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
def test_failing_migration_is_rolled_back_and_recorded_unfinished(
    scratch_db: Callable[[], str], prisma_copy: Path
) -> None:
    url = scratch_db()
    broken = "20270101000000_broken"
    add_migration(
        prisma_copy,
        broken,
        'CREATE TABLE "Half" ("id" INTEGER);\nALTER TABLE "NoSuchTable" ADD COLUMN "x" TEXT;\n',
    )
    later = "20270102000000_after"
    add_migration(prisma_copy, later, 'CREATE TABLE "Later" ("id" INTEGER);\n')

    with pytest.raises(MigrationError, match=f"migration {broken} failed") as info:
        apply_migrations(url, prisma_copy / "migrations")
    assert "NoSuchTable" in str(info.value)
    assert not table_exists(url, "Half")  # its transaction was rolled back
    assert not table_exists(url, "Later")  # and nothing after it ran

    recorded = {str(r[3]): r for r in rows(url)}
    assert all(recorded[name][2] is not None for name in NAMES)
    failed = recorded[broken]
    assert failed[2] is None  # finished_at
    assert failed[7] == 0  # applied_steps_count
    assert "NoSuchTable" in str(failed[4])  # logs
    assert later not in recorded

    # Like Prisma (P3009): later runs stop until the failed migration is resolved.
    with pytest.raises(MigrationError, match=f"{broken} failed in an earlier run"):
        apply_migrations(url, prisma_copy / "migrations")


@pytest.mark.postgres
@pytest.mark.usefixtures("require_postgres")
def test_alter_type_add_value_then_use_it_in_a_later_migration(
    scratch_db: Callable[[], str], prisma_copy: Path
) -> None:
    # One transaction per migration: a value added in one migration is usable in the next.
    add_migration(
        prisma_copy, "20270101000000_hidden", "ALTER TYPE \"PageStatus\" ADD VALUE 'HIDDEN';\n"
    )
    add_migration(
        prisma_copy,
        "20270102000000_use_hidden",
        'ALTER TABLE "Page" ALTER COLUMN "status" SET DEFAULT \'HIDDEN\';\n',
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
