"""Data access for pages: keyword-only async functions that know nothing of HTTP."""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    Column,
    ColumnElement,
    Integer,
    Select,
    String,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    func,
    inspect,
    literal_column,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.base import Executable, ReadOnlyColumnCollection
from sqlalchemy.sql.elements import BindParameter

from app.core.db import Database
from app.core.errors import (
    AppError,
    ConflictError,
    FieldError,
    NotFoundError,
    PreconditionFailedError,
)
from app.models import Page, PageStatus
from app.pagination import PageOrder, Position
from app.prisma_defaults import utcnow
from app.schemas import PageFields, PageUpdate

PAGE = cast("Table[Any]", inspect(Page).local_table)
C: ReadOnlyColumnCollection[str, Column[Any]] = PAGE.c
COLUMNS: tuple[Column[Any], ...] = tuple(C)

# A page row: SQLAlchemy's RowMapping, or asyncpg's Record on the PostgreSQL read path.
PageRow = Mapping[Any, Any]
Precondition = Callable[[PageRow], bool]

# Values a full replace (PUT) writes for omitted fields: Prisma's defaults.
REPLACE_DEFAULTS: dict[str, Any] = {
    "summary": None,
    "body": None,
    "published": False,
    "status": PageStatus.DRAFT,
    "tags": [],
    "views": 0,
    "metadata": None,
    "publishedAt": None,
    "authorId": None,
}
_SLUG_MAX = 200
_DERIVED_SLUG_ATTEMPTS = 5
_SLUG_PROBES = 100  # base, base-2 … base-101 are looked up by index in one query

# Statements built once: SQLAlchemy memoises their cache keys, so a hot read does no
# statement building or cache-key work per request.
_BY_ID = select(*COLUMNS).where(C.id == bindparam("page_id"))
_LOCK_BY_ID = _BY_ID.with_for_update()
_DELETE_BY_ID = delete(PAGE).where(C.id == bindparam("page_id"))


@dataclass(frozen=True, slots=True)
class PageFilters:
    status: PageStatus | None = None
    published: bool | None = None
    author_id: int | None = None
    tag: str | None = None
    slug: str | None = None
    q: str | None = None


@dataclass(frozen=True, slots=True)
class PageSlice:
    rows: Sequence[PageRow]
    next_position: Position | None
    count: int | None


def _column_values(data: PageFields | PageUpdate, *, only_set: bool) -> dict[str, Any]:
    """Model attributes → column names (the camelCase aliases are the Prisma column names)."""
    fields = data.model_fields_set if only_set else type(data).model_fields.keys()
    values: dict[str, Any] = {}
    for name in fields:
        info = type(data).model_fields[name]
        values[info.alias or name] = getattr(data, name)
    return values


def slugify(title: str) -> str:
    """`Hello, World!` → `hello-world` (ASCII, lowercase, dashes); `page` if nothing is left."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    slug = slug[: _SLUG_MAX - 8].rstrip("-")  # room for a "-N" suffix
    return slug or "page"


async def _free_slug(db: AsyncConnection, base: str, *, exclude_id: str | None) -> str:
    """`base`, or `base-2`, `base-3`, … — the first not taken by another page."""
    candidates = [base, *(f"{base}-{n}" for n in range(2, 2 + _SLUG_PROBES))]
    # Point lookups on the unique index (a LIKE 'base-%' prefix scan cannot use it under a
    # non-C collation and reads every slug).
    query = select(C.slug).where(C.slug.in_(candidates))
    if exclude_id is not None:
        query = query.where(C.id != exclude_id)
    taken = set((await db.scalars(query)).all())
    free = next((slug for slug in candidates if slug not in taken), None)
    return free or f"{base}-{secrets.token_hex(4)}"


def _slug_taken(slug: str) -> ConflictError:
    detail = f"A page with slug {slug!r} already exists."
    return ConflictError(detail, errors=[FieldError(field="body.slug", message=detail)])


def _integrity_error(exc: IntegrityError, values: dict[str, Any]) -> AppError:
    message = str(exc.orig)
    if "slug" in message:
        return _slug_taken(str(values.get("slug")))
    if "authorId" in message or "FOREIGN KEY" in message.upper():
        detail = f"No user with id {values.get('authorId')}."
        return ConflictError(detail, errors=[FieldError(field="body.authorId", message=detail)])
    return ConflictError("The change conflicts with existing data.")


async def _execute(
    db: AsyncConnection, statement: Executable, values: dict[str, Any]
) -> PageRow | None:
    try:
        return (await db.execute(statement)).mappings().one_or_none()
    except IntegrityError as exc:
        raise _integrity_error(exc, values) from None


def _insert_statement(dialect: str, values: dict[str, Any]) -> Executable:
    # ON CONFLICT DO NOTHING: a taken slug returns no row instead of aborting the transaction,
    # so a derived slug can move on to the next free one.
    if dialect == "postgresql":
        statement = postgresql.insert(PAGE).values(values)
        return statement.on_conflict_do_nothing(index_elements=[C.slug]).returning(*COLUMNS)
    statement = sqlite.insert(PAGE).values(values)
    return statement.on_conflict_do_nothing(index_elements=[C.slug]).returning(*COLUMNS)


async def get_page(db: Database, *, page_id: str) -> PageRow:
    """One page, or NotFoundError."""
    rows = await db.fetch(_BY_ID, {"page_id": page_id})
    if not rows:
        raise NotFoundError(f"No page with id {page_id!r}.")
    return rows[0]


def _filter_clause(name: str, dialect: str) -> ColumnElement[bool]:
    """The WHERE clause of one filter, with its value as a bound parameter of the same name."""
    if name == "tag":
        if dialect == "postgresql":
            return C.tags.contains(bindparam("tag_list"))
        each = func.json_each(C.tags).table_valued("value")
        return exists(select(1).select_from(each).where(each.c.value == bindparam("tag")))
    if name == "q":
        pattern: BindParameter[str] = bindparam("q_pattern", type_=String)
        return or_(C.title.ilike(pattern, escape="\\"), C.summary.ilike(pattern, escape="\\"))
    column = {"status": C.status, "published": C.published, "author_id": C.authorId}.get(
        name, C.slug
    )
    return column == bindparam(name)


def _filter_params(filters: PageFilters) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for field in fields(filters):
        value = getattr(filters, field.name)
        if value is None:
            continue
        if field.name == "q":
            escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params["q_pattern"] = f"%{escaped}%"
        elif field.name == "tag":
            params["tag"] = value
            params["tag_list"] = [value]
        else:
            params[field.name] = value
    return params


def _beyond(left: Any, right: Any) -> ColumnElement[bool]:
    return left > right


def _before(left: Any, right: Any) -> ColumnElement[bool]:
    return left < right


def _after(order: PageOrder, *, value_is_null: bool) -> ColumnElement[bool]:
    """Rows strictly after the position (:after_value, :after_id) in `order` (NULLs last)."""
    column = C[order.column]
    beyond = _before if order.descending else _beyond
    value = bindparam("after_value", type_=column.type)
    last_id = bindparam("after_id", type_=C.id.type)
    if order.column != "publishedAt":
        # A row-value comparison: PostgreSQL walks the ("createdAt", "id") index with it.
        return beyond(tuple_(column, C.id), tuple_(value, last_id))
    if value_is_null:
        return and_(column.is_(None), beyond(C.id, last_id))
    return or_(
        column.is_(None), beyond(column, value), and_(column == value, beyond(C.id, last_id))
    )


def _order_by(order: PageOrder) -> list[Any]:
    column = C[order.column]
    clauses: list[Any] = []
    if order.column == "publishedAt":
        clauses.append(column.is_(None).asc())
    if order.descending:
        return [*clauses, column.desc(), C.id.desc()]
    return [*clauses, column.asc(), C.id.asc()]


@cache
def _list_statement(
    dialect: str, order: PageOrder, filters: frozenset[str], after: str | None
) -> Select[Any]:
    """The listing statement for one shape of request, built once (`after`: value/null/None)."""
    query = select(*COLUMNS).where(*(_filter_clause(name, dialect) for name in sorted(filters)))
    if after is not None:
        query = query.where(_after(order, value_is_null=after == "null"))
    return (
        query.order_by(*_order_by(order))
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
    )


@cache
def _count_statement(dialect: str, filters: frozenset[str]) -> Select[Any]:
    where = (_filter_clause(name, dialect) for name in sorted(filters))
    return select(func.count(literal_column("1")).label("count")).select_from(PAGE).where(*where)


async def list_pages(
    db: Database,
    *,
    limit: int,
    order: PageOrder = PageOrder.CREATED_AT_DESC,
    after: Position | None = None,
    offset: int = 0,
    filters: PageFilters | None = None,
    with_count: bool = False,
) -> PageSlice:
    """A slice of pages in `order`, after a keyset position or at an offset."""
    dialect = db.dialect
    params = _filter_params(filters or PageFilters())
    shape = frozenset(name for name in params if name not in {"q_pattern", "tag_list"})
    if "q_pattern" in params:
        shape |= {"q"}
    after_shape = None
    if after is not None:
        after_shape = "null" if after.value is None else "value"
        params |= {"after_value": after.value, "after_id": after.id}
    statement = _list_statement(dialect, order, shape, after_shape)
    rows = await db.fetch(statement, {**params, "limit": limit + 1, "offset": offset})
    next_position = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_position = Position(value=last[order.column], id=last["id"])
    count = None
    if with_count:
        count = (await db.fetch(_count_statement(dialect, shape), params))[0]["count"]
    return PageSlice(rows=rows, next_position=next_position, count=count)


async def create_page(db: AsyncConnection, *, data: PageFields) -> PageRow:
    """Insert a page as Prisma's client would; the model's defaults give `id` and `updatedAt`."""
    values = {
        key: value
        for key, value in _column_values(data, only_set=True).items()
        if value is not None
    }
    dialect = db.dialect.name
    if dialect == "sqlite":
        # SQLite's CURRENT_TIMESTAMP has no milliseconds and sorts apart from the driver's format.
        values["createdAt"] = utcnow()
    if data.slug is not None:
        row = await _execute(db, _insert_statement(dialect, values), values)
        if row is None:
            raise _slug_taken(data.slug)
        return row
    # The common case first: the slug derived from the title is free.
    base = values["slug"] = slugify(data.title)
    row = await _execute(db, _insert_statement(dialect, values), values)
    if row is not None:
        return row
    if dialect == "postgresql":
        # Creators deriving the same slug take turns until they commit, so each one sees the
        # slugs the others took (otherwise N concurrent "Untitled" pages race for one suffix).
        await db.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"Page.slug:{base}"))))
    for _ in range(_DERIVED_SLUG_ATTEMPTS):
        values["slug"] = await _free_slug(db, base, exclude_id=None)
        row = await _execute(db, _insert_statement(dialect, values), values)
        if row is not None:
            return row
    raise ConflictError(f"Could not find a free slug for {base!r}; send one explicitly.")


async def _lock(db: AsyncConnection, page_id: str, precondition: Precondition | None) -> PageRow:
    # FOR UPDATE serialises concurrent writers, so a precondition is checked against the
    # version the write will replace: two PATCHes with one If-Match leave one winner.
    row = (await db.execute(_LOCK_BY_ID, {"page_id": page_id})).mappings().one_or_none()
    if row is None and precondition is not None:
        # RFC 9110: If-Match is false when there is no current representation.
        raise PreconditionFailedError(
            f"No page with id {page_id!r} exists any more (If-Match cannot match)."
        )
    if row is None:
        raise NotFoundError(f"No page with id {page_id!r}.")
    if precondition is not None and not precondition(row):
        raise PreconditionFailedError(
            "The page has changed since you read it (If-Match does not match its ETag)."
        )
    return row


async def _update(
    db: AsyncConnection, page_id: str, values: dict[str, Any], *, title: str
) -> PageRow:
    if values.get("slug") is None:
        values["slug"] = await _free_slug(db, slugify(title), exclude_id=page_id)
    statement: Executable = update(PAGE).where(C.id == page_id).values(values).returning(*COLUMNS)
    row = await _execute(db, statement, values)
    assert row is not None  # the row is locked: it cannot have gone
    return row


async def replace_page(
    db: AsyncConnection,
    *,
    page_id: str,
    data: PageFields,
    precondition: Precondition | None = None,
) -> PageRow:
    """Full replace: omitted fields go back to their defaults; the slug is derived if absent."""
    await _lock(db, page_id, precondition)
    values = {**REPLACE_DEFAULTS, **_column_values(data, only_set=True)}
    for key, default in REPLACE_DEFAULTS.items():
        if values[key] is None:
            values[key] = default
    values["title"] = data.title
    values["slug"] = data.slug
    return await _update(db, page_id, values, title=data.title)


async def update_page(
    db: AsyncConnection,
    *,
    page_id: str,
    data: PageUpdate,
    precondition: Precondition | None = None,
) -> PageRow:
    """Partial update: only the fields sent change; `null` clears a nullable field."""
    current = await _lock(db, page_id, precondition)
    values = _column_values(data, only_set=True)
    if not values:
        return current
    if "tags" in values and values["tags"] is None:
        values["tags"] = []
    if "slug" not in values:
        values["slug"] = current["slug"]
    return await _update(db, page_id, values, title=values.get("title", current["title"]))


async def delete_page(
    db: AsyncConnection, *, page_id: str, precondition: Precondition | None = None
) -> None:
    """Delete a page (its revisions and tag links go with it, by the foreign keys)."""
    await _lock(db, page_id, precondition)
    await db.execute(_DELETE_BY_ID, {"page_id": page_id})
