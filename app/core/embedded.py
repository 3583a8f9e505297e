"""The embedded SQLite default: tables from the generated models and a few demo rows."""

from __future__ import annotations

import re
from pathlib import Path

from loguru import logger
from sqlalchemy import Connection, Table, inspect, text
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


_CREATE_VIEW = re.compile(
    r'CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+"?(?P<name>\w+)"?\s+AS\s+(?P<body>.*?);\s*(?:\n|$)',
    re.IGNORECASE | re.DOTALL,
)
_DROP_VIEW = re.compile(r'DROP\s+VIEW\s+(?:IF\s+EXISTS\s+)?"?(?P<name>\w+)"?', re.IGNORECASE)
# `'PUBLISHED'::"PageStatus"`, `0::integer`, `'{}'::text[]`: SQLite has no casts of this kind.
_CAST = re.compile(r'::\s*(?:"[^"]+"|\w+)(?:\(\d+(?:,\s*\d+)?\))?(?:\[\])*')


def view_definitions(migrations_dir: Path) -> dict[str, str]:
    """Each view's latest `SELECT` in the Prisma migrations (applied in order), casts removed."""
    definitions: dict[str, str] = {}
    for migration in sorted(migrations_dir.glob("*/migration.sql")):
        sql = migration.read_text(encoding="utf-8")
        events = [(m.start(), m.group("name"), m.group("body")) for m in _CREATE_VIEW.finditer(sql)]
        events += [(m.start(), m.group("name"), None) for m in _DROP_VIEW.finditer(sql)]
        for _, name, body in sorted(events, key=lambda event: event[0]):
            if body is None:
                definitions.pop(name, None)
            else:
                definitions[name] = _CAST.sub("", body).strip()
    return definitions


def create_views(connection: Connection, migrations_dir: Path) -> int:
    """(Re)create on SQLite the views of `app/view_tables.py`, from the migrations' SQL.

    Prisma keeps a view's SQL in the migrations only; the embedded default runs the same
    `SELECT` on SQLite. A view whose SQL SQLite refuses, or that no migration defines, is left
    out with a warning (its routes then answer 503 on the embedded default only).
    """
    if connection.dialect.name != "sqlite":
        raise RuntimeError("create_views: SQLite only (the schema of PostgreSQL is Prisma's)")
    from app import view_tables

    names = {
        table.name
        for value in vars(view_tables).values()
        if isinstance(table := getattr(value, "__table__", None), Table)
        and table.info.get("is_view")
    }
    definitions = view_definitions(migrations_dir) if migrations_dir.is_dir() else {}
    created = 0
    for name in sorted(names):
        body = definitions.get(name)
        if body is None:
            logger.warning(
                "embedded database: no migration in {} defines view {}", migrations_dir, name
            )
            continue
        connection.execute(text(f'DROP VIEW IF EXISTS "{name}"'))
        try:
            with connection.begin_nested():
                connection.execute(text(f'CREATE VIEW "{name}" AS {body}'))
        except Exception as exc:
            logger.warning("embedded database: view {} not created on SQLite ({})", name, exc)
            continue
        created += 1
    return created


async def seed_demo_rows(session: AsyncSession) -> int:
    """Add demo rows to an empty database; return how many were added."""
    from app.core.demo import seed

    return await seed(session)
