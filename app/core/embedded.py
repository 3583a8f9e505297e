"""The embedded SQLite default: tables from the generated models and a few demo rows."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from loguru import logger
from sqlalchemy import (
    CheckConstraint,
    Column,
    Connection,
    DefaultClause,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    Table,
    Text,
    UniqueConstraint,
    inspect,
    text,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper
from sqlalchemy.schema import Computed, CreateIndex, CreateTable, Identity
from sqlalchemy.sql.elements import ClauseElement, TextClause
from sqlalchemy.types import TypeEngine

# The generated module: its tables (any schema's) are on its SQLModel.metadata.
from app import models

if TYPE_CHECKING:
    from app.resource import Resource

_LOG = "embedded database: "


def data_tables(metadata: MetaData) -> list[Table]:
    """The tables of `metadata`, views left out, by name."""
    # Views share the metadata (app/view_tables.py) but are never created as tables. Sorted by
    # name, not by dependency: SQLite checks foreign keys on writes, never on CREATE TABLE, and
    # `sorted_tables` warns about the foreign-key cycles real schemas have.
    tables = metadata.tables.values()
    return sorted((t for t in tables if not t.info.get("is_view")), key=lambda t: t.name)


def single_column_uniques(table: Table) -> set[Column[Any]]:
    """Columns unique on their own (`@unique`), by a unique index or constraint."""
    found: set[Column[Any]] = set()
    for index in table.indexes:
        if index.unique and len(index.columns) == 1:
            found.update(index.columns)
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint) and len(constraint.columns) == 1:
            found.update(constraint.columns)
    return found


def create_tables(connection: Connection, metadata: MetaData = models.SQLModel.metadata) -> int:
    """Create the missing tables on SQLite; return how many were created.

    Each table is created from an SQLite copy of the generated one: what SQLite cannot express
    (PostgreSQL types, functions, CHECK syntax, GIN or expression indexes) is left out of the
    copy with one warning line naming it; the shared metadata, PostgreSQL's, is never changed.
    """
    if connection.dialect.name != "sqlite":
        raise RuntimeError("create_tables: SQLite only (the schema of PostgreSQL is Prisma's)")
    found = inspect(connection)
    existing = set(found.get_table_names()) | set(found.get_view_names())
    copies = MetaData()
    for table in metadata.tables.values():
        # Every table (views too) is copied, so that foreign keys resolve in the copy.
        table.to_metadata(copies)
    created = 0
    for table in data_tables(metadata):
        if table.name not in existing and _create_table(connection, copies.tables[table.key]):
            created += 1
    return created


def _create_table(connection: Connection, table: Table) -> bool:
    """Create one table (then its indexes) on SQLite from its copy; False when SQLite refuses."""
    for column in table.columns:
        _adapt_column(connection, table, column)
    for constraint in sorted(table.constraints, key=lambda c: str(c.name)):
        if isinstance(constraint, CheckConstraint):
            _adapt_check(connection, table, constraint)
    try:
        with connection.begin_nested():
            connection.execute(CreateTable(table))
    except SQLAlchemyError as exc:
        logger.warning(_LOG + "table {} left out on SQLite ({})", table.name, first_line(exc))
        return False
    for index in sorted(table.indexes, key=lambda i: str(i.name)):
        _create_index(connection, table, index)
    return True


def _adapt_column(connection: Connection, table: Table, column: Column[Any]) -> None:
    """Make one column of the SQLite copy creatable: its type, its default."""
    name = f"{table.name}.{column.name}"
    try:
        column.type.compile(dialect=connection.dialect)
    except SQLAlchemyError:
        stand_in = _stand_in(column.type)
        logger.warning(
            _LOG + "column {} of type {} created as {} on SQLite",
            name,
            _pg_type(column.type),
            stand_in.compile(dialect=connection.dialect),
        )
        column.type = stand_in
    if table.autoincrement_column is column and not _is_sqlite_integer(connection, column):
        # Only `INTEGER PRIMARY KEY` numbers rows by itself on SQLite (`BIGINT` does not).
        column.type = Integer()
    default = column.server_default
    if isinstance(default, Identity):
        column.server_default = None  # the integer key numbers itself (above)
    elif isinstance(default, Computed):
        _adapt_computed(connection, table, column, default)
    elif isinstance(default, DefaultClause):
        _adapt_default(connection, column, name)


def _is_sqlite_integer(connection: Connection, column: Column[Any]) -> bool:
    return str(column.type.compile(dialect=connection.dialect)) == "INTEGER"


def _stand_in(type_: TypeEngine[Any]) -> TypeEngine[Any]:
    """A type SQLite stores the same values in, for a PostgreSQL-only type (`citext`, `inet`…)."""
    try:
        python_type = type_.python_type
    except NotImplementedError:
        return Text()
    if python_type is bytes:
        return LargeBinary()
    if python_type is int:
        return Integer()
    if python_type is float:
        return Float()
    if python_type.__name__ == "Decimal":
        return Numeric()
    return Text()


def _pg_type(type_: TypeEngine[Any]) -> str:
    from sqlalchemy.dialects import postgresql

    try:
        return str(type_.compile(dialect=postgresql.dialect()))
    except SQLAlchemyError:
        return type(type_).__name__


# PostgreSQL functions in defaults that SQLite can compute (a UUID v4 from random bytes).
_UUID_V4 = (
    "lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || "
    "substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1)"
    " || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))"
)
_TRANSLATIONS = (
    (
        re.compile(r"^\(?\s*(?:now|transaction_timestamp|statement_timestamp)\(\s*\)\s*\)?$", re.I),
        "CURRENT_TIMESTAMP",
    ),
    (re.compile(r"^\(?\s*CURRENT_TIMESTAMP\s*\(\s*\d*\s*\)\s*\)?$", re.I), "CURRENT_TIMESTAMP"),
    (re.compile(r"^\(?\s*(?:gen_random_uuid|uuid_generate_v4)\(\s*\)\s*\)?$", re.I), _UUID_V4),
)


def _adapt_default(connection: Connection, column: Column[Any], name: str) -> None:
    """Keep a server default SQLite can compute (casts removed, `now()` translated), or drop it."""
    arg = column.server_default.arg if isinstance(column.server_default, DefaultClause) else None
    if isinstance(arg, str):
        expression = "'" + arg.replace("'", "''") + "'"
    elif isinstance(arg, TextClause):
        expression = arg.text
    elif isinstance(arg, ClauseElement):
        expression = _sql(connection, arg)
    else:
        return
    portable = _CAST.sub("", expression).strip()
    for pattern, replacement in _TRANSLATIONS:
        if pattern.match(portable):
            portable = replacement
            break
    if portable == "CURRENT_TIMESTAMP" or _evaluates(connection, f"SELECT ({portable})"):
        if portable != expression:
            column.server_default = DefaultClause(text(portable))
        return
    logger.warning(_LOG + "default {} of column {} left out on SQLite", expression, name)
    column.server_default = None


def _adapt_computed(
    connection: Connection, table: Table, column: Column[Any], computed: Computed
) -> None:
    """Keep a generated column whose expression SQLite can compute; else a plain column."""
    expression = _sql(connection, computed.sqltext)
    if _evaluates(connection, f"SELECT ({expression}) FROM {_probe_row(connection, table)}"):
        return
    logger.warning(
        _LOG + "generated column {}.{} ({}) created as a plain column on SQLite",
        table.name,
        column.name,
        expression,
    )
    column.server_default = None
    column.computed = None


def _adapt_check(connection: Connection, table: Table, constraint: CheckConstraint) -> None:
    """Keep a CHECK constraint SQLite can evaluate (`price >= 0`); leave out PostgreSQL's (`~`)."""
    expression = _sql(connection, constraint.sqltext)
    if _evaluates(connection, f"SELECT 1 FROM {_probe_row(connection, table)} WHERE {expression}"):
        return
    logger.warning(
        _LOG + "CHECK constraint {} on {} left out on SQLite ({})",
        constraint.name or expression,
        table.name,
        expression,
    )
    table.constraints.discard(constraint)


def _create_index(connection: Connection, table: Table, index: Index) -> None:
    """Create one index on SQLite, or leave it out with a warning when SQLite cannot have it."""
    label = f"index {index.name} on {table.name}"
    using = index.dialect_options["postgresql"]["using"]
    if using and str(using).lower() != "btree":
        logger.warning(_LOG + "{} left out on SQLite (USING {}: B-tree only)", label, using)
        return
    if not index.expressions:
        logger.warning(_LOG + "{} left out on SQLite (no columns or expressions)", label)
        return
    where = index.dialect_options["postgresql"]["where"]
    if where is not None:
        # A partial index stays partial (a partial unique index must not become a full one).
        index.dialect_options["sqlite"]["where"] = where
    try:
        with connection.begin_nested():
            connection.execute(CreateIndex(index))
    except SQLAlchemyError as exc:
        logger.warning(_LOG + "{} left out on SQLite ({})", label, first_line(exc))


def _sql(connection: Connection, clause: ClauseElement) -> str:
    compiled = clause.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
    return str(compiled)


def _probe_row(connection: Connection, table: Table) -> str:
    """`(SELECT NULL AS "a", …) AS "T"`: a row with the table's columns, to evaluate SQL on."""
    quote = connection.dialect.identifier_preparer.quote
    columns = ", ".join(f"NULL AS {quote(column.name)}" for column in table.columns)
    return f"(SELECT {columns}) AS {quote(table.name)}"


def _evaluates(connection: Connection, sql: str) -> bool:
    """Whether SQLite prepares this statement (its syntax, functions and columns)."""
    try:
        with connection.begin_nested():
            connection.exec_driver_sql(sql).close()
    except SQLAlchemyError:
        return False
    return True


def first_line(exc: BaseException) -> str:
    """The first line of what the driver said (SQLAlchemy adds the statement and a link)."""
    orig = getattr(exc, "orig", None)
    message = str(orig if orig is not None else exc).strip()
    return message.splitlines()[0] if message else type(exc).__name__


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


class ServedSchema(NamedTuple):
    """The tables of some models (views left out) and their mappers (relations without a
    foreign key): what the embedded database is built from."""

    metadata: MetaData
    mappers: Sequence[Mapper[Any]] | None

    @property
    def is_project(self) -> bool:
        """The generated models (their views are app/view_tables.py's)."""
        return self.metadata is models.SQLModel.metadata


def project_schema() -> ServedSchema:
    """The generated models (app/models.py)."""
    return ServedSchema(models.SQLModel.metadata, None)


def served_schemas(resources: Sequence[Resource]) -> tuple[ServedSchema, ...]:
    """The schemas the served resources' models belong to: the project's when they are the
    generated ones, any other `MetaData` with the mappers of its registry (no resource: the
    project's)."""
    found: dict[int, ServedSchema] = {}
    for resource in resources:
        metadata = resource.table.metadata
        if metadata is models.SQLModel.metadata:
            schema = project_schema()
        else:  # another registry's models (a test fixture's)
            schema = ServedSchema(metadata, tuple(inspect(resource.model).registry.mappers))
        found.setdefault(id(metadata), schema)
    return tuple(found.values()) or (project_schema(),)


async def seed_demo_rows(
    session: AsyncSession,
    metadata: MetaData = models.SQLModel.metadata,
    mappers: Sequence[Mapper[Any]] | None = None,
) -> int:
    """Add demo rows to an empty database; return how many were added."""
    from app.core.demo import seed

    return await seed(session, metadata, mappers)
