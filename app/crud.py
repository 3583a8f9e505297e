"""Data access for every resource: keyword-only async functions that know nothing of HTTP.

Reads take the `Database` (the read path: statements compiled once, no transaction); writes
take the request's `Tx` (app.core.db: committed before the response, rolled back on any error;
a write that is one statement runs as that statement alone). A key is a mapping of column name
→ value for the whole primary key. Every statement is built once per resource and shape, with
a bound parameter for each value.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal
from functools import cache, lru_cache, partial
from typing import Any, cast

from pydantic import BaseModel
from sqlalchemy import (
    JSON,
    Column,
    ColumnElement,
    DateTime,
    ForeignKeyConstraint,
    Integer,
    Select,
    String,
    Table,
    and_,
    any_,
    bindparam,
    delete,
    exists,
    func,
    literal_column,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import BindParameter

from app.core.db import Database, Tx
from app.core.errors import (
    AppError,
    ConflictError,
    FieldError,
    NotFoundError,
    PreconditionFailedError,
    refused_value,
)
from app.pagination import Order, Position
from app.prisma_defaults import utcnow
from app.resource import (
    FieldInfo,
    Filter,
    Link,
    Relation,
    Resource,
    parent_of,
    registered,
    resource_for,
)
from app.schemas import wire_name

Row = Mapping[Any, Any]
Key = Mapping[str, Any]
Precondition = Callable[[Row], bool]


@dataclass(frozen=True, slots=True)
class Slice:
    rows: Sequence[Row]
    next_position: Position | None
    count: int | None


def _param(column: Column[Any]) -> str:
    return "k_" + re.sub(r"\W", "_", column.name)


# ------------------------------------------------------------------------------ statements
# Built once per resource and shape of request: SQLAlchemy memoises their cache keys, and the
# read path (app.core.db.Database.fetch) compiles each to asyncpg SQL once.


def _key_clause(resource: Resource) -> ColumnElement[bool]:
    """The row of an item path: every key field (parent part included) equals its value."""
    return and_(*(f.column == bindparam(_param(f.column)) for f in resource.key_fields))


@cache
def _by_key(resource: Resource) -> Select[Any]:
    return select(*resource.columns).where(_key_clause(resource))


@cache
def _lock_by_key(resource: Resource) -> Select[Any]:
    return _by_key(resource).with_for_update()


@cache
def _key_names(resource: Resource) -> tuple[tuple[str, str], ...]:
    """(bound parameter, column name) of each key column of the item path."""
    return tuple((_param(f.column), f.column.name) for f in resource.key_fields)


def key_params(resource: Resource, key: Key) -> dict[str, Any]:
    return {param: key[name] for param, name in _key_names(resource)}


def _filter_clause(resource: Resource, name: str, spec: Filter, dialect: str) -> Any:
    """The WHERE clause of one filter, its value a bound parameter named after the filter."""
    fields = resource.filter_fields(name, spec)
    column = fields[0].column
    if spec.kind == "has":
        if dialect == "postgresql":
            return column.contains(bindparam(f"f_{name}_list"))
        each = func.json_each(column).table_valued("value")
        return exists(select(1).select_from(each).where(each.c.value == bindparam(f"f_{name}")))
    if spec.kind == "search":
        pattern: BindParameter[str] = bindparam(f"f_{name}", type_=String)
        return or_(*(f.column.ilike(pattern, escape="\\") for f in fields))
    return column == bindparam(f"f_{name}")


def _filter_params(resource: Resource, values: Mapping[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, value in values.items():
        spec = resource.filters[name]
        if spec.kind == "search":
            escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params[f"f_{name}"] = f"%{escaped}%"
        elif spec.kind == "has":
            params[f"f_{name}"] = value
            params[f"f_{name}_list"] = [value]
        else:
            params[f"f_{name}"] = value
    return params


def _beyond(left: Any, right: Any) -> ColumnElement[bool]:
    return left > right


def _before(left: Any, right: Any) -> ColumnElement[bool]:
    return left < right


def tie_columns(resource: Resource, info: FieldInfo) -> list[Column[Any]]:
    return [f.column for f in resource.ties(info)]


def _row_value(columns: Sequence[Any]) -> Any:
    return columns[0] if len(columns) == 1 else tuple_(*columns)


def after_params(position: Position) -> dict[str, Any]:
    """The bound values of `_after`: the sort value and each tie-breaking key value."""
    found: Any = position.id
    ids = cast("tuple[Any, ...]", found if isinstance(found, tuple) else (found,))
    params = {"after_value": position.value}
    params |= {f"after_id_{n}": value for n, value in enumerate(ids)}
    return params


def _after(resource: Resource, order: Order, *, value_is_null: bool) -> ColumnElement[bool]:
    """Rows strictly after the position (:after_value, :after_id_N…) in `order` (NULLs last)."""
    info = resource.fields[order.column]
    column, ties = info.column, tie_columns(resource, info)
    beyond = _before if order.descending else _beyond
    value = bindparam("after_value", type_=column.type)
    last = [bindparam(f"after_id_{n}", type_=tie.type) for n, tie in enumerate(ties)]
    if not ties:
        return beyond(column, value)
    if not info.nullable:
        # A row-value comparison: PostgreSQL walks a (column, id) index with it.
        return beyond(tuple_(column, *ties), tuple_(value, *last))
    tie, last_id = _row_value(ties), _row_value(last)
    if value_is_null:
        return and_(column.is_(None), beyond(tie, last_id))
    return or_(column.is_(None), beyond(column, value), and_(column == value, beyond(tie, last_id)))


def _order_by(resource: Resource, order: Order) -> list[Any]:
    info = resource.fields[order.column]
    columns = [info.column, *tie_columns(resource, info)]
    clauses: list[Any] = [info.column.is_(None).asc()] if info.nullable else []
    return clauses + [c.desc() if order.descending else c.asc() for c in columns]


def _parent_clause(resource: Resource) -> list[ColumnElement[bool]]:
    return [f.column == bindparam(_param(f.column)) for f in resource.parent_fields]


def joinable(resource: Resource, names: Sequence[str]) -> tuple[str, ...]:
    """The relations of `names` a list reads in its own statement: many-to-one ones (at most
    one row each), joined instead of loaded by a second query."""
    return tuple(n for n in names if resource.relations[n].direction == "one")


@cache
def _joined_encoder(target: Resource, name: str) -> Callable[[Row], dict[str, Any]]:
    """The JSON of a joined relation's row from its `name.column` labelled columns."""
    return target.encoder(f"{name}.")


def _joined(resource: Resource, query: Select[Any], joins: tuple[str, ...]) -> Select[Any]:
    """`query` with each many-to-one relation LEFT JOINed, its columns labelled `name.column`."""
    source: Any = resource.table
    columns: list[Any] = []
    for name in joins:
        relation = resource.relations[name]
        target = resource_for(relation.target)
        alias = target.table.alias(f"include_{name}")
        on = and_(*(local == alias.c[remote.name] for local, remote in relation.pairs))
        source = source.outerjoin(alias, on)
        columns += [alias.c[c.name].label(f"{name}.{c.name}") for c in target.columns]
    return query.add_columns(*columns).select_from(source)


@lru_cache(maxsize=4096)
def _list_statement(
    resource: Resource,
    dialect: str,
    order: Order,
    filters: frozenset[str],
    after: str | None,
    joins: tuple[str, ...],
    limit: int,
    offset: bool,
) -> Select[Any]:
    """The list statement for one shape of request, built once (`after`: value/null/None).

    The LIMIT is written into the SQL, and OFFSET only when there is one (then bound): with
    both bound, PostgreSQL costs the prepared statement's generic plan for 10% of the table,
    so it plans every execution anew (a custom plan). With a literal LIMIT the generic plan's
    cost is the real one and is reused after five executions: PostgreSQL's CPU per 20-row list
    fell from 0.12 to 0.09-0.10 ms, per list with a joined `include` from 0.19-0.25 to 0.13
    (the join's planning was most of it). One statement per distinct limit: clients use few.
    """
    where = [
        *_parent_clause(resource),
        *(_filter_clause(resource, n, resource.filters[n], dialect) for n in sorted(filters)),
    ]
    query = select(*resource.columns).where(*where)
    if joins:
        query = _joined(resource, query, joins)
    if after is not None:
        query = query.where(_after(resource, order, value_is_null=after == "null"))
    query = query.order_by(*_order_by(resource, order)).limit(
        literal_column(str(int(limit)), Integer())
    )
    return query.offset(bindparam("offset", type_=Integer)) if offset else query


@cache
def _count_statement(resource: Resource, dialect: str, filters: frozenset[str]) -> Select[Any]:
    where = [
        *_parent_clause(resource),
        *(_filter_clause(resource, n, resource.filters[n], dialect) for n in sorted(filters)),
    ]
    count = func.count(literal_column("1")).label("count")
    return select(count).select_from(resource.table).where(*where)


# ------------------------------------------------------------------------------ reads


async def get_row(db: Database, resource: Resource, *, key: Key) -> Row:
    """One row, or NotFoundError."""
    rows = await db.fetch(_by_key(resource), key_params(resource, key))
    if not rows:
        raise _not_found(resource, key)
    return rows[0]


async def exists_row(db: Database, resource: Resource, *, key: Key) -> bool:
    return bool(await db.fetch(_by_key(resource), key_params(resource, key)))


@cache
def _parent_probe(resource: Resource) -> Select[Any]:
    relation = resource.parent_relation
    parent = parent_of(resource)
    assert relation is not None
    assert parent is not None
    clause = and_(*(remote == bindparam(_param(local)) for local, remote in relation.pairs))
    return select(literal_column("1", Integer())).select_from(parent.table).where(clause).limit(1)


async def exists_parent(db: Database | Tx, resource: Resource, *, parent_key: Key) -> bool:
    """Whether the row a nested resource's path names as its parent exists (`parent_key`:
    this resource's foreign key columns → values)."""
    params = {_param(f.column): parent_key[f.column.name] for f in resource.parent_fields}
    return bool(await db.fetch(_parent_probe(resource), params))


@cache
def parent_checked_by_database(resource: Resource) -> bool:
    """Whether a foreign key refuses a row whose parent is absent (not so for a relation
    Prisma emulates, `relationMode = "prisma"`: then a create asks first)."""
    columns = {f.column.name for f in resource.parent_fields}
    constraints: set[ForeignKeyConstraint] = resource.table.foreign_key_constraints
    return any({c.name for c in constraint.columns} == columns for constraint in constraints)


async def list_rows(
    db: Database,
    resource: Resource,
    *,
    limit: int,
    order: Order | None = None,
    after: Position | None = None,
    offset: int = 0,
    filters: Mapping[str, Any] | None = None,
    with_count: bool = False,
    parent_key: Key | None = None,
    joins: tuple[str, ...] = (),
) -> Slice:
    """A slice of rows in `order`, after a keyset position or at an offset; `joins` (see
    `joinable`) adds the columns of those relations, for `include`."""
    order = order or resource.default
    dialect = db.dialect
    values = {name: value for name, value in (filters or {}).items() if value is not None}
    params = _filter_params(resource, values)
    for info in resource.parent_fields:
        params[_param(info.column)] = (parent_key or {})[info.column.name]
    shape = frozenset(values)
    after_shape = None
    if after is not None:
        after_shape = "null" if after.value is None else "value"
        params |= after_params(after)
    statement = _list_statement(
        resource, dialect, order, shape, after_shape, joins, limit + 1, bool(offset)
    )
    rows = await db.fetch(statement, {**params, "offset": offset} if offset else params)
    next_position = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        column = resource.fields[order.column].column.name
        tie = tie_columns(resource, resource.fields[order.column])
        ids = tuple(last[column.name] for column in tie)
        next_position = Position(value=last[column], id=ids[0] if len(ids) == 1 else ids)
    count = None
    if with_count:
        count = (await db.fetch(_count_statement(resource, dialect, shape), params))[0]["count"]
    return Slice(rows=rows, next_position=next_position, count=count)


# ------------------------------------------------------------------------------ include


def any_of(column: Column[Any], dialect: str, name: str = "keys") -> ColumnElement[bool]:
    """`column` is one of the list bound as `name`."""
    # PostgreSQL: one array parameter, so the statement compiles once for any number of keys.
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=postgresql.ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


def _any_row(columns: Sequence[Column[Any]], dialect: str) -> ColumnElement[bool]:
    """The row value of `columns` is one of the keys bound as `keys_0`, `keys_1`, … (one list
    per column): a composite foreign key's relation."""
    if len(columns) == 1:
        return any_of(columns[0], dialect)
    if dialect == "postgresql":
        arrays = [
            bindparam(f"keys_{n}", type_=postgresql.ARRAY(c.type)) for n, c in enumerate(columns)
        ]
        names = [f"k{n}" for n in range(len(columns))]
        pairs = select(func.unnest(*arrays).table_valued(*names))
        return tuple_(*columns).in_(pairs)
    return tuple_(*columns).in_(bindparam("keys", expanding=True))


def _key_params(keys: Sequence[Any], width: int, dialect: str) -> dict[str, Any]:
    if width == 1 or dialect != "postgresql":
        return {"keys": list(keys)}
    return {f"keys_{n}": [key[n] for key in keys] for n in range(width)}


@cache
def _include_statement(relation: Relation, dialect: str, limit: int) -> Select[Any]:
    """One query for a relation of many parent rows (`:keys` = their join values)."""
    target = resource_for(relation.target)
    remotes = [remote for _, remote in relation.pairs]
    owner_labels = [c.label(f"__owner{n}") for n, c in enumerate(remotes)]
    if relation.direction == "one":
        return select(*target.columns, *owner_labels).where(_any_row(remotes, dialect))
    order = _order_by(target, target.default)
    source: Any = target.table
    if relation.direction == "link":
        assert relation.secondary is not None
        on = and_(*(column == join for column, join in relation.target_pairs))
        source = target.table.join(relation.secondary, on)
    rank = func.row_number().over(partition_by=remotes, order_by=order).label("__rank")
    ranked = (
        select(*target.columns, *owner_labels, rank)
        .select_from(source)
        .where(_any_row(remotes, dialect))
        .subquery()
    )
    columns = [ranked.c[c.name] for c in target.columns]
    owners = [ranked.c[label.name] for label in owner_labels]
    return cast(
        "Select[Any]",
        select(*columns, *owners)
        .where(ranked.c["__rank"] <= limit)
        .order_by(*owners, ranked.c["__rank"]),
    )


def _owner(row: Row, names: Sequence[str]) -> Any:
    """The join value of a row: one column's value, or a tuple (None when any part is)."""
    if len(names) == 1:
        return row[names[0]]
    values = tuple(row[name] for name in names)
    return None if None in values else values


async def include(
    db: Database,
    resource: Resource,
    rows: Sequence[Row],
    names: Sequence[str],
    *,
    joined: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """The rows as JSON objects with the named relations added: one query per relation, but
    for those the rows' own statement `joined` (their columns labelled `name.column`). A
    to-many relation is a list; a to-one relation (either side of a one-to-one) an object or
    null, as Prisma Client returns them."""
    bodies = [resource.to_json(row) for row in rows]
    for name in names:
        relation = resource.relations[name]
        target = resource_for(relation.target)
        if name in joined:
            key = f"{name}.{target.primary_key[0].column.name}"
            to_json = _joined_encoder(target, name)
            for body, row in zip(bodies, rows, strict=True):
                body[name] = to_json(row) if row[key] is not None else None
            continue
        locals_ = [local.name for local, _ in relation.pairs]
        owners = [_owner(row, locals_) for row in rows]
        keys = list(dict.fromkeys(k for k in owners if k is not None))
        related: dict[Any, list[dict[str, Any]]] = {}
        if keys:
            limit = resource.include_limit if relation.many else 1
            statement = _include_statement(relation, db.dialect, limit)
            params = _key_params(keys, len(locals_), db.dialect)
            labels = [f"__owner{n}" for n in range(len(locals_))]
            for row in await db.fetch(statement, params):
                related.setdefault(_owner(row, labels), []).append(target.to_json(row))
        for body, owner in zip(bodies, owners, strict=True):
            found = related.get(owner, [])
            body[name] = found if relation.many else (found[0] if found else None)
    return bodies


# ------------------------------------------------------------------------------ writes


def _not_found(resource: Resource, key: Key) -> NotFoundError:
    return NotFoundError(f"No {resource.label} with {_describe_key(resource, key)}.")


def _describe_key(resource: Resource, key: Key) -> str:
    return " and ".join(
        f"{f.name} {key[f.column.name]!r}" for f in resource.primary_key if f.column.name in key
    )


@cache
def _column_names(resource: Resource) -> dict[str, str]:
    """Field (Prisma) name → column name (write-only fields included)."""
    return {name: info.column.name for name, info in resource.all_fields.items()}


def _values(resource: Resource, data: BaseModel, *, only_set: bool = True) -> dict[str, Any]:
    """Body fields (Prisma names) → column values."""
    names = data.model_fields_set if only_set else type(data).model_fields.keys()
    columns = _column_names(resource)
    return {columns[name]: getattr(data, name) for name in names}


_KEEP = object()


@cache
def _default_of(info: FieldInfo) -> Callable[[], Any]:
    """What a full replace writes for an omitted field, Prisma's default for it: worked out
    once per field (the server default's SQL parsed once), made anew on each replace."""
    if info.is_list:
        return list
    column = info.column
    if column.default is not None:
        return lambda: _KEEP  # a client-side default (`uuid()`): made once, on create
    server_default = _server_default(column)
    if server_default is None:
        return lambda: None
    if _is_now(server_default.split("::", 1)[0].strip()):
        return utcnow
    value = _literal(server_default, info)
    if isinstance(column.type, JSON):
        return partial(copy.deepcopy, value)  # a mutable value: each row its own
    return lambda: value


def _literal(sql: str, info: FieldInfo) -> Any:
    """A server default's SQL literal as a Python value (`'DRAFT'`, `false`, `0`, `'{}'`)."""
    sql = sql.split("::", 1)[0].strip()
    if "(" in sql and not sql.startswith("'"):
        return _KEEP  # a database function (`gen_random_uuid()`): the row keeps its value
    quoted = sql.startswith("'") and sql.endswith("'")
    value = sql[1:-1].replace("''", "'") if quoted else sql
    if isinstance(info.column.type, JSON):
        # `Json @default("{}")` is the JSON value {}, never the string "{}".
        return json.loads(value)
    if quoted:
        enum_class = getattr(info.column.type, "enum_class", None)
        return enum_class(value) if enum_class is not None else value
    if sql.lower() in {"true", "false"}:
        return sql.lower() == "true"
    kind = info.wire.cursor_kind
    if kind == "decimal":
        return Decimal(sql)
    if kind == "float":
        return float(sql)
    return int(sql) if kind in {"int", "bigint"} else sql


def _constraint_of(exc: IntegrityError) -> tuple[str | None, str]:
    """The name of the violated constraint (PostgreSQL) and the driver's message."""
    orig = exc.orig
    name = None
    for candidate in (orig, getattr(orig, "__cause__", None)):
        name = name or getattr(candidate, "constraint_name", None)
    return name, str(orig)


def _unique_sets(resource: Resource) -> list[tuple[str | None, list[FieldInfo]]]:
    """Unique constraints as (name, fields): the primary key, then unique indexes."""
    table: Table = resource.table
    sets: list[tuple[Any, list[FieldInfo]]] = [(table.primary_key.name, list(resource.primary_key))]
    for index in sorted(table.indexes, key=lambda i: i.name or ""):
        if index.unique:
            sets.append((index.name, [resource.field_of(c) for c in index.columns]))
    return sets


def _taken(resource: Resource, fields: Sequence[FieldInfo], values: Mapping[str, Any]) -> AppError:
    shown = [f for f in fields if f not in resource.parent_fields] or list(fields)
    what = " and ".join(f"{f.name} {values.get(f.column.name)!r}" for f in shown)
    detail = f"A {resource.label} with {what} already exists."
    return ConflictError(
        detail, errors=[FieldError(field=f"body.{f.name}", message=detail) for f in shown]
    )


def _missing_reference(resource: Resource, values: Mapping[str, Any], name: str | None) -> AppError:
    constraints: set[ForeignKeyConstraint] = resource.table.foreign_key_constraints
    for constraint in sorted(constraints, key=lambda c: str(c.name or "")):
        if name is not None and constraint.name != name:
            continue
        columns = list(constraint.columns)
        if name is None and not any(values.get(c.name) is not None for c in columns):
            continue
        fields = [resource.field_of(c) for c in columns]
        parent = parent_of(resource)
        # Every column of the key it refers to (a composite foreign key names them all).
        refers = [(wire_name(e.column), values.get(e.parent.name)) for e in constraint.elements]
        if parent is not None and any(f in resource.parent_fields for f in fields):
            what = " and ".join(f"{name} {value!r}" for name, value in refers)
            return NotFoundError(f"No {parent.label} with {what}.")
        target_table = constraint.referred_table.name
        label = next((r.label for r in _resources_with_table(target_table)), target_table.lower())
        detail = f"No {label} with {' and '.join(f'{name} {value}' for name, value in refers)}."
        return ConflictError(
            detail, errors=[FieldError(field=f"body.{f.name}", message=detail) for f in fields]
        )
    return ConflictError("The change conflicts with existing data.")


def _resources_with_table(name: str) -> list[Resource]:
    return [r for r in registered() if r.table.name == name]


def _integrity_error(
    resource: Resource, exc: IntegrityError, values: Mapping[str, Any]
) -> AppError:
    constraint, message = _constraint_of(exc)
    for name, fields in _unique_sets(resource):
        columns = [f.column.name for f in fields]
        sqlite_form = "UNIQUE constraint failed: " + ", ".join(
            f"{resource.table.name}.{c}" for c in columns
        )
        if (constraint is not None and constraint == name) or sqlite_form in message:
            return _taken(resource, fields, values)
    if "foreign key" in message.lower() or (constraint or "").endswith("_fkey"):
        return _missing_reference(resource, values, constraint)
    return refused_value(exc) or ConflictError("The change conflicts with existing data.")


@cache
def _value_names(resource: Resource) -> dict[str, str]:
    """Column name → the bound parameter of its value (`v_<position>`: any column name works)."""
    return {column.name: f"v_{n}" for n, column in enumerate(resource.table.columns)}


def value_params(resource: Resource, values: Mapping[str, Any]) -> dict[str, Any]:
    """Column values → the bound parameters of the statements below."""
    names = _value_names(resource)
    return {names[name]: value for name, value in values.items()}


def _bound(resource: Resource, names: frozenset[str]) -> dict[Column[Any], BindParameter[Any]]:
    table = resource.table
    return {
        table.c[name]: bindparam(_value_names(resource)[name], type_=table.c[name].type)
        for name in sorted(names)
    }


@cache
def _client_defaults(resource: Resource, *, on_update: bool) -> tuple[tuple[str, Any], ...]:
    """(column name, default) of the client-side defaults (`@default(cuid())`, `@updatedAt`):
    precompiled statements do not apply them, so the write does, as SQLAlchemy would."""
    found: list[tuple[str, Any]] = []
    for column in resource.table.columns:
        default = column.onupdate if on_update else column.default
        if default is not None:
            found.append((column.name, default))
    return tuple(found)


def _apply_defaults(resource: Resource, values: dict[str, Any], *, on_update: bool) -> None:
    for name, default in _client_defaults(resource, on_update=on_update):
        if name not in values:
            values[name] = default.arg(None) if default.is_callable else default.arg


def _is_now(sql: str | None) -> bool:
    text = (sql or "").strip().upper()
    return text.startswith("CURRENT_TIMESTAMP") or text in {"NOW()", "LOCALTIMESTAMP"}


@cache
def _now_columns(resource: Resource) -> tuple[tuple[str, bool], ...]:
    """(column name, timezone-aware) of the timestamps a create sets to its one instant, as
    Prisma does: `@default(now())` (a server default, read from no clock of ours otherwise)
    and `@updatedAt` (the client-side `utcnow` default)."""
    found: list[tuple[str, bool]] = []
    for column in resource.table.columns:
        if not isinstance(column.type, DateTime):
            continue
        # `@updatedAt`: a client-side default that is also applied on every update.
        is_updated_at = column.default is not None and column.onupdate is not None
        if is_updated_at or (column.default is None and _is_now(_server_default(column))):
            found.append((column.name, bool(column.type.timezone)))
    return tuple(found)


def _set_now(resource: Resource, values: dict[str, Any]) -> None:
    columns = _now_columns(resource)
    if not columns:
        return
    now = utcnow()
    for name, aware in columns:
        if values.get(name) is None:
            values[name] = now.replace(tzinfo=UTC) if aware else now


async def _returning(
    db: Tx,
    resource: Resource,
    statement: Executable,
    params: Mapping[str, Any],
    values: Mapping[str, Any],
    *,
    alone: bool,
) -> Row | None:
    """The row the statement returned (None: none); constraint errors mapped with `values`."""
    fetch = db.fetch_alone if alone else db.fetch
    try:
        rows = await fetch(statement, params)
    except IntegrityError as exc:
        raise _integrity_error(resource, exc, values) from None
    return rows[0] if rows else None


@lru_cache(maxsize=512)
def _insert_statement(resource: Resource, dialect: str, names: frozenset[str]) -> Executable:
    # ON CONFLICT DO NOTHING: a taken unique value returns no row instead of failing (and, in a
    # transaction, aborting it), so a hook can retry (a derived slug moves on to the next free one).
    module: Any = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(resource.table).values(_bound(resource, names))
    return statement.on_conflict_do_nothing().returning(*resource.columns)


@lru_cache(maxsize=64)
def _unique_probe(resource: Resource, position: int) -> Executable:
    _, fields = _unique_sets(resource)[position]
    bound = _bound(resource, frozenset(f.column.name for f in fields))
    clause = and_(*(column == parameter for column, parameter in bound.items()))
    probe = select(literal_column("1", Integer())).select_from(resource.table)
    return probe.where(clause).limit(1)


async def _conflicting(db: Tx, resource: Resource, values: Mapping[str, Any]) -> list[FieldInfo]:
    """The unique constraint an insert that returned nothing ran into."""
    for position, (_, fields) in enumerate(_unique_sets(resource)):
        if any(values.get(f.column.name) is None for f in fields):
            continue
        params = value_params(resource, {f.column.name: values[f.column.name] for f in fields})
        if await db.fetch(_unique_probe(resource, position), params):
            return fields
    return []


async def create_row(
    db: Tx, resource: Resource, *, data: BaseModel, parent_key: Key | None = None
) -> Row:
    """Insert a row as Prisma's client would: the model's defaults give ids and `@updatedAt`.

    Without a conflict this is one statement (committed by itself); a hook that retries after
    a conflict runs in a transaction."""
    values = {k: v for k, v in _values(resource, data).items() if v is not None}
    values.update(parent_key or {})
    dialect = db.dialect
    _set_now(resource, values)
    _apply_defaults(resource, values, on_update=False)
    sent = frozenset(data.model_fields_set)
    hooks = resource.hooks
    if hooks.before_create is not None:
        await hooks.before_create(db, values)
    for attempt in range(_MAX_ATTEMPTS):
        statement = _insert_statement(resource, dialect, frozenset(values))
        params = value_params(resource, values)
        row = await _returning(db, resource, statement, params, values, alone=attempt == 0)
        if row is not None:
            return row
        fields = await _conflicting(db, resource, values)
        if not fields:
            raise ConflictError("The change conflicts with existing data.")
        retry = hooks.retry_conflict
        if retry is None or len(fields) != 1 or not await retry(db, values, fields[0].name, sent):
            raise _taken(resource, fields, values)
    raise ConflictError(f"Could not create the {resource.label}; try again.")


_MAX_ATTEMPTS = 6


def _server_default(column: Column[Any]) -> str | None:
    return getattr(getattr(column.server_default, "arg", None), "text", None)


async def _lock(db: Tx, resource: Resource, key: Key, precondition: Precondition | None) -> Row:
    # FOR UPDATE serialises concurrent writers, so a precondition is checked against the
    # version the write will replace: two PATCHes with one If-Match leave one winner.
    rows = await db.fetch(_lock_by_key(resource), key_params(resource, key))
    what = f"{resource.label} with {_describe_key(resource, key)}"
    if not rows and precondition is not None:
        # RFC 9110: If-Match is false when there is no current representation.
        raise PreconditionFailedError(f"No {what} exists any more (If-Match cannot match).")
    if not rows:
        raise _not_found(resource, key)
    if precondition is not None and not precondition(rows[0]):
        raise PreconditionFailedError(
            f"The {resource.label} has changed since you read it (If-Match does not match its ETag)."
        )
    return rows[0]


@lru_cache(maxsize=512)
def _update_statement(resource: Resource, names: frozenset[str]) -> Executable:
    return (
        update(resource.table)
        .where(_key_clause(resource))
        .values(_bound(resource, names))
        .returning(*resource.columns)
    )


async def _update(
    db: Tx, resource: Resource, key: Key, values: dict[str, Any], *, alone: bool
) -> Row:
    """UPDATE … RETURNING the row (`@updatedAt` set); NotFoundError when there is none."""
    _apply_defaults(resource, values, on_update=True)
    statement = _update_statement(resource, frozenset(values))
    params = {**value_params(resource, values), **key_params(resource, key)}
    row = await _returning(db, resource, statement, params, values, alone=alone)
    if row is None:  # only without a lock: a locked row cannot have gone
        raise _not_found(resource, key)
    return row


async def replace_row(
    db: Tx,
    resource: Resource,
    *,
    key: Key,
    data: BaseModel,
    precondition: Precondition | None = None,
) -> Row:
    """Full replace: omitted fields go back to their defaults (hooks may derive some)."""
    values: dict[str, Any] = {}
    for info in resource.changeable_fields:
        value = getattr(data, info.name)
        if value is None:
            value = _default_of(info)()
        if value is not _KEEP:
            values[info.column.name] = value
    hook = resource.hooks.before_replace
    if precondition is None and hook is None:
        return await _update(db, resource, key, values, alone=True)
    current = await _lock(db, resource, key, precondition)
    if hook is not None:
        await hook(db, values, current)
    return await _update(db, resource, key, values, alone=False)


@cache
def _list_columns(resource: Resource) -> tuple[str, ...]:
    """The changeable list columns (`null` clears them to `[]`, as Prisma's `set: []`)."""
    return tuple(f.column.name for f in resource.changeable_fields if f.is_list)


async def update_row(
    db: Tx,
    resource: Resource,
    *,
    key: Key,
    data: BaseModel,
    precondition: Precondition | None = None,
) -> Row:
    """Partial update: only the fields sent change; `null` clears a nullable field."""
    values = _values(resource, data)
    for name in _list_columns(resource):
        if name in values and values[name] is None:
            values[name] = []
    if precondition is not None:
        current = await _lock(db, resource, key, precondition)
        return await _update(db, resource, key, values, alone=False) if values else current
    if values:
        return await _update(db, resource, key, values, alone=True)
    rows = await db.fetch_alone(_by_key(resource), key_params(resource, key))
    if not rows:
        raise _not_found(resource, key)
    return rows[0]


async def delete_row(
    db: Tx, resource: Resource, *, key: Key, precondition: Precondition | None = None
) -> None:
    """Delete a row (what references it goes with it or is unset, by the foreign keys)."""
    params = key_params(resource, key)
    if precondition is not None:
        await _lock(db, resource, key, precondition)
        await db.fetch(_delete_by_key(resource), params)
        return
    if not await _returning(db, resource, _delete_by_key(resource), params, {}, alone=True):
        raise _not_found(resource, key)


@cache
def _delete_by_key(resource: Resource) -> Executable:
    return (
        delete(resource.table)
        .where(_key_clause(resource))
        .returning(*(f.column for f in resource.primary_key))
    )


# ------------------------------------------------------------------------------ links


async def _require(db: Tx, resource: Resource, key: Key) -> None:
    if not await db.fetch(_by_key(resource), key_params(resource, key)):
        raise _not_found(resource, key)


def _link_values(link: Link, owner_key: Key, target_key: Key) -> dict[str, Any]:
    info = link.info
    values = {f"l_{join.name}": owner_key[local.name] for local, join in info.pairs}
    values |= {f"l_{join.name}": target_key[target.name] for target, join in info.target_pairs}
    return values


@lru_cache(maxsize=64)
def _link_statement(link: Link, dialect: str, connect: bool) -> Executable:
    secondary = cast("Table", link.info.secondary)
    bound = {c: bindparam(f"l_{c.name}", type_=c.type) for c in secondary.columns}
    if not connect:
        return delete(secondary).where(*(c == p for c, p in bound.items()))
    module: Any = postgresql if dialect == "postgresql" else sqlite
    return module.insert(secondary).values(bound).on_conflict_do_nothing()


async def link_rows(db: Tx, link: Link, *, owner_key: Key, target_key: Key) -> None:
    """Connect two rows of an implicit many-to-many relation (already connected: no change)."""
    await _require(db, link.owner, owner_key)
    await _require(db, link.target, target_key)
    values = _link_values(link, owner_key, target_key)
    await db.fetch(_link_statement(link, db.dialect, True), values)


async def unlink_rows(db: Tx, link: Link, *, owner_key: Key, target_key: Key) -> None:
    """Disconnect two rows (not connected: no change)."""
    await _require(db, link.owner, owner_key)
    await _require(db, link.target, target_key)
    values = _link_values(link, owner_key, target_key)
    await db.fetch(_link_statement(link, db.dialect, False), values)
