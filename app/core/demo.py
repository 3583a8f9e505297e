"""Demo rows for the embedded database, derived from the generated models, so /docs shows data.

A few rows per table of any schema: parents before children (foreign keys point at rows
already added; a nullable foreign key the order cannot satisfy, as in a cycle, stays NULL), a
value of each column's type, distinct where a value may have to be unique, and the models'
client-side defaults (`cuid()`, `@updatedAt`…) applied as on any write. A table that cannot be
filled is skipped with one log line.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, time, timedelta
from decimal import Decimal
from typing import Any, cast

from loguru import logger
from sqlalchemy import (
    ARRAY,
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Enum,
    Float,
    Integer,
    Interval,
    LargeBinary,
    MetaData,
    Numeric,
    RowMapping,
    String,
    Table,
    Time,
    Uuid,
    insert,
    literal,
    select,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import MANYTOONE, Mapper
from sqlalchemy.schema import Computed, Identity
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeEngine
from sqlmodel.main import default_registry

# The generated module: its tables (any schema's) are on its SQLModel.metadata.
from app import models
from app.core.embedded import data_tables, first_line, single_column_uniques
from app.prisma_defaults import utcnow

ROWS_PER_TABLE = 3

_LOG = "embedded database: "


@dataclass(frozen=True)
class ForeignKey:
    """A foreign key of the database, or a relation Prisma keeps without one
    (`relationMode = "prisma"`): (child column, parent column) pairs."""

    name: str
    parent: Table
    pairs: tuple[tuple[ColumnElement[Any], ColumnElement[Any]], ...]

    @property
    def nullable(self) -> bool:
        return all(getattr(child, "nullable", True) for child, _ in self.pairs)


async def seed(
    session: AsyncSession,
    metadata: MetaData = models.SQLModel.metadata,
    mappers: Iterable[Mapper[Any]] | None = None,
) -> int:
    """Add a few rows to every table of an empty database; return how many were added.

    `mappers` (the generated models' by default) add the relations that have no foreign key.
    """
    tables = data_tables(metadata)
    if await _has_rows(session, tables):
        return 0
    keys = foreign_keys(tables, default_registry.mappers if mappers is None else mappers)
    seeded: dict[str, Sequence[RowMapping]] = {}
    added = 0
    for table in fill_order(tables, keys):
        rows = _rows(table, keys[table.name], seeded)
        if isinstance(rows, str):
            logger.info(_LOG + "no demo rows for {} ({})", table.name, rows)
            continue
        try:
            async with session.begin_nested():
                await session.execute(insert(table), rows)
                stored = await session.execute(select(table).order_by(*table.primary_key))
                seeded[table.name] = stored.mappings().all()
        except SQLAlchemyError as exc:
            logger.info(_LOG + "no demo rows for {} ({})", table.name, first_line(exc))
            continue
        added += len(rows)
    return added


async def _has_rows(session: AsyncSession, tables: list[Table]) -> bool:
    """Whether any table holds a row: demo rows go only into a database that has none."""
    for table in tables:
        try:
            async with session.begin_nested():
                found = await session.scalar(select(literal(1)).select_from(table).limit(1))
        except SQLAlchemyError:
            continue  # a table SQLite could not create holds nothing
        if found is not None:
            return True
    return False


def foreign_keys(
    tables: list[Table], mappers: Iterable[Mapper[Any]]
) -> dict[str, list[ForeignKey]]:
    """Each table's foreign keys: its constraints, then the many-to-one relations of its model
    that no constraint backs (Prisma keeps those itself)."""
    keys: dict[str, list[ForeignKey]] = {table.name: [] for table in tables}
    for table in tables:
        for constraint in sorted(table.foreign_key_constraints, key=lambda c: str(c.name)):
            pairs = tuple((element.parent, element.column) for element in constraint.elements)
            keys[table.name].append(
                ForeignKey(str(constraint.name), constraint.referred_table, pairs)
            )
    by_table = {table: table.name for table in tables}
    for mapper in mappers:
        name = by_table.get(mapper.local_table)  # pyright: ignore[reportArgumentType]
        if name is None:
            continue
        try:
            relations = sorted(mapper.relationships, key=lambda relation: relation.key)
        except SQLAlchemyError:
            continue  # models that do not configure: their constraints are all there is
        for relation in relations:
            pairs = tuple(relation.local_remote_pairs or ())
            if relation.direction is not MANYTOONE or relation.secondary is not None or not pairs:
                continue
            children = {child for child, _ in pairs}
            parent: object = getattr(pairs[0][1], "table", None)
            if not isinstance(parent, Table) or any(
                {child for child, _ in key.pairs} == children for key in keys[name]
            ):
                continue
            label = f"{mapper.class_.__name__}.{relation.key}"
            keys[name].append(ForeignKey(label, cast("Table", parent), pairs))
    return keys


def fill_order(tables: list[Table], keys: dict[str, list[ForeignKey]]) -> list[Table]:
    """Parents before children; inside a cycle, first a table whose pending keys are nullable."""
    pending = {table.name: table for table in tables}
    order: list[Table] = []
    while pending:
        ready = [t for t in pending.values() if not _waits(keys[t.name], t, pending, strict=True)]
        if not ready:
            # A cycle: one table goes first, its nullable keys into the cycle left NULL.
            relaxed = [
                t for t in pending.values() if not _waits(keys[t.name], t, pending, strict=False)
            ]
            ready = (relaxed or list(pending.values()))[:1]
        for table in ready:
            order.append(table)
            del pending[table.name]
    return order


def _waits(
    keys: list[ForeignKey], table: Table, pending: dict[str, Table], *, strict: bool
) -> bool:
    for key in keys:
        if key.parent is table or key.parent.name not in pending:
            continue
        if strict or not key.nullable:
            return True
    return False


def _rows(
    table: Table, keys: list[ForeignKey], seeded: dict[str, Sequence[RowMapping]]
) -> list[dict[str, Any]] | str:
    """The demo rows of one table, or why it cannot have any."""
    rows: list[dict[str, Any]] = [{} for _ in range(ROWS_PER_TABLE)]
    for key in keys:
        problem = _point(table, key, rows, seeded.get(key.parent.name))
        if problem:
            return problem
    uniques = single_column_uniques(table)
    if len(table.primary_key.columns) == 1:
        uniques.update(table.primary_key.columns)
    for column in table.columns:
        if column.key in rows[0] or _generated(table, column):
            continue
        for index, row in enumerate(rows):
            value = demo_value(column.type, column.name, index, unique=column in uniques)
            if value is None and not column.nullable:
                if column.server_default is not None:
                    break  # the database's default applies
                return f"no demo value for column {column.name} of type {column.type!r}"
            row[column.key] = value
    return rows


def _point(
    table: Table,
    key: ForeignKey,
    rows: list[dict[str, Any]],
    parents: Sequence[RowMapping] | None,
) -> str | None:
    """Set one foreign key in every row: a parent row each, or NULL when there is none."""
    if parents and key.parent is not table:
        for index, row in enumerate(rows):
            parent = parents[index % len(parents)]
            for child, column in key.pairs:
                row.setdefault(str(child.key), parent[column])
        return None
    if key.nullable:
        for row in rows:
            for child, _ in key.pairs:
                row.setdefault(str(child.key), None)
        return None
    return f"its foreign key {key.name} needs rows of {key.parent.name}"


def _generated(table: Table, column: Column[Any]) -> bool:
    """Columns whose value comes from elsewhere: the models' defaults, the database."""
    if column.default is not None or table.autoincrement_column is column:
        return True
    return isinstance(column.server_default, Computed | Identity)


def demo_value(type_: TypeEngine[Any], name: str, index: int, *, unique: bool = False) -> Any:
    """A value of this column type for demo row `index` (0-based), distinct per row where a
    type allows it; None for a type it does not know."""
    number = index + 1
    if isinstance(type_, Enum):
        members: list[Any] = list(type_.enum_class) if type_.enum_class else list(type_.enums)
        return members[index % len(members) if unique else 0] if members else None
    if isinstance(type_, Boolean):
        return index % 2 == 0
    if isinstance(type_, ARRAY):
        item = cast("TypeEngine[Any]", type_.item_type)  # pyright: ignore[reportUnknownMemberType]
        return [demo_value(item, name, index)]
    if isinstance(type_, JSON):
        return {"demo": number}
    if isinstance(type_, LargeBinary):
        return f"demo {number}".encode()
    if isinstance(type_, Uuid):
        value = uuid.uuid4()
        return value if type_.as_uuid else str(value)
    if isinstance(type_, DateTime):
        moment = utcnow() - timedelta(days=index)
        return moment.replace(tzinfo=UTC) if type_.timezone else moment
    if isinstance(type_, Date):
        return utcnow().date() - timedelta(days=index)
    if isinstance(type_, Time):
        return time(12, index % 60)
    if isinstance(type_, Interval):
        return timedelta(hours=number)
    if isinstance(type_, Float):
        return number + 0.5
    if isinstance(type_, Numeric):
        return _decimal(type_, number)
    if isinstance(type_, Integer):
        return number
    if isinstance(type_, String):
        return _text(name, number, type_.length)
    try:
        python_type = type_.python_type
    except NotImplementedError:
        return None
    return _text(name, number, None) if python_type is str else None


def _decimal(type_: Numeric[Any], number: int) -> Decimal:
    """`1.01`, `2.02`… within the column's precision and scale (`0.01` when it has no digits
    before the point)."""
    scale = type_.scale or 0
    whole = number if type_.precision is None or type_.precision > scale else 0
    if not scale:
        return Decimal(whole)
    return Decimal(f"{whole}.{str(number).rjust(scale, '0')[-scale:]}")


def _text(name: str, number: int, length: int | None) -> str:
    lowered = name.lower()
    if "email" in lowered:
        value = f"demo{number}@example.com"
    elif lowered.endswith("url"):
        value = f"https://example.com/demo/{number}"
    else:
        value = f"{name} {number}"
    if length is not None and len(value) > length:
        suffix = str(number)
        value = value[: max(length - len(suffix), 0)] + suffix
    return value
