"""The embedded SQLite default: tables from the generated models and a few demo rows."""

from __future__ import annotations

from sqlalchemy import Connection, Table, inspect
from sqlalchemy.ext.asyncio import AsyncSession

# The generated module: importing it registers its tables on SQLModel.metadata.
from app.models import SQLModel


def _tables() -> list[Table]:
    # Views share the metadata (app/view_tables.py) but are never created as tables.
    return [table for table in SQLModel.metadata.sorted_tables if not table.info.get("is_view")]


def create_tables(connection: Connection) -> int:
    """Create the missing tables on SQLite; return how many were created."""
    if connection.dialect.name != "sqlite":
        raise RuntimeError("create_tables: SQLite only (the schema of PostgreSQL is Prisma's)")
    existing = set(inspect(connection).get_table_names())
    missing = [table for table in _tables() if table.name not in existing]
    SQLModel.metadata.create_all(connection, tables=missing)
    return len(missing)


async def seed_demo_rows(session: AsyncSession) -> int:
    """Add demo rows to an empty database; return how many were added."""
    from app.core.demo import seed

    return await seed(session)
