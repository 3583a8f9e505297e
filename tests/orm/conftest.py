"""Fixtures of the ORM tooling tests: scratch PostgreSQL databases, always dropped.

PostgreSQL tests are marked ``postgres`` and skipped (module-level fixture ``require_postgres``)
when the server — ``TEST_DATABASE_URL`` or ``postgresql://postgres@127.0.0.1:5432/postgres`` —
is unreachable.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.pg import require_pg_server
from tools.migrate import (
    apply_migrations,
    create_scratch_database,
    drop_database,
)

ROOT = Path(__file__).resolve().parents[2]
# A schema the tests own (an enum, an index built CONCURRENTLY), never the example's prisma/.
PRISMA_DIR = Path(__file__).resolve().parent / "migrations_fixtures" / "tiny_prisma"
MIGRATIONS = PRISMA_DIR / "migrations"


def asyncpg_url(url: str) -> str:
    """A scratch-database URL for SQLAlchemy + asyncpg (Prisma query parameters dropped)."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql+asyncpg", parts.netloc, parts.path, "", ""))


@pytest.fixture(scope="session")
def orm_pg_server() -> str:
    return require_pg_server()


@pytest.fixture(scope="module")
def require_postgres(orm_pg_server: str) -> str:
    return orm_pg_server


@pytest.fixture
def scratch_db(orm_pg_server: str) -> Iterator[Callable[[], str]]:
    """Factory of empty scratch databases, all dropped at teardown (also on failure)."""
    created: list[str] = []

    def make() -> str:
        url = create_scratch_database(orm_pg_server, "orm_test")
        created.append(url)
        return url

    try:
        yield make
    finally:
        for url in created:
            drop_database(url)


@pytest.fixture(scope="session")
def orm_migrated_url(orm_pg_server: str) -> Iterator[str]:
    """One scratch database migrated to the latest migration, shared by read-mostly tests."""
    with migrated_database(orm_pg_server, MIGRATIONS, "orm_test_shared") as url:
        yield url


@pytest.fixture
def prisma_copy(tmp_path: Path) -> Path:
    """A writable copy of the fixture schema's folder (schema.prisma + migrations)."""
    return writable_copy(PRISMA_DIR, tmp_path / "prisma")


def add_migration(prisma_dir: Path, name: str, sql: str) -> Path:
    folder = prisma_dir / "migrations" / name
    folder.mkdir()
    (folder / "migration.sql").write_text(sql, encoding="utf-8")
    return folder


@contextmanager
def migrated_database(server: str, migrations: Path, prefix: str) -> Iterator[str]:
    """A scratch database migrated from `migrations` (dropped afterwards)."""
    url = create_scratch_database(server, prefix)
    try:
        apply_migrations(url, migrations)
        yield url
    finally:
        drop_database(url)


def writable_copy(folder: Path, target: Path) -> Path:
    """A copy of a Prisma folder the test may change (the source may be read-only)."""
    shutil.copytree(folder, target)
    for path in [target, *target.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target
