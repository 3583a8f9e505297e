"""The example's ORM fixtures: prisma/ copied, one scratch database migrated from it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.example.conftest import MIGRATIONS
from tests.orm.conftest import orm_pg_server, require_postgres, scratch_db
from tools.migrate import apply_migrations, create_scratch_database, drop_database

__all__ = ["orm_pg_server", "require_postgres", "scratch_db"]  # the ORM tests' fixtures, reused


@pytest.fixture(scope="session")
def orm_migrated_url(orm_pg_server: str) -> Iterator[str]:
    """One scratch database migrated to the example's latest migration."""
    url = create_scratch_database(orm_pg_server, "orm_test_example")
    try:
        apply_migrations(url, MIGRATIONS)
        yield url
    finally:
        drop_database(url)


@pytest.fixture
def prisma_copy(tmp_path: Path) -> Path:
    """A writable copy of the example's prisma/ (schema.prisma + migrations)."""
    target = tmp_path / "prisma"
    shutil.copytree(MIGRATIONS.parent, target)
    for path in [target, *target.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target
