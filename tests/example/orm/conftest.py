"""The example's ORM fixtures: prisma/ copied, one scratch database migrated from it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.example.conftest import MIGRATIONS
from tests.orm.conftest import (
    migrated_database,
    orm_pg_server,
    require_postgres,
    scratch_db,
    writable_copy,
)

__all__ = ["orm_pg_server", "require_postgres", "scratch_db"]  # the ORM tests' fixtures, reused


@pytest.fixture(scope="session")
def orm_migrated_url(orm_pg_server: str) -> Iterator[str]:
    """One scratch database migrated to the example's latest migration."""
    with migrated_database(orm_pg_server, MIGRATIONS, "orm_test_example") as url:
        yield url


@pytest.fixture
def prisma_copy(tmp_path: Path) -> Path:
    """A writable copy of the example's prisma/ (schema.prisma + migrations)."""
    return writable_copy(MIGRATIONS.parent, tmp_path / "prisma")
