"""Data access for pages: keyword-only async functions that know nothing of HTTP."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    Column,
    ColumnElement,
    Row,
    Table,
    and_,
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
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.base import Executable, ReadOnlyColumnCollection

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

PageRow = Row[*tuple[Any, ...]]
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


async def _free_slug(session: AsyncSession, base: str, *, exclude_id: str | None) -> str:
    """`base`, or `base-2`, `base-3`, … — the first not taken by another page."""
    like = base.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "-%"
    query = select(C.slug).where(or_(C.slug == base, C.slug.like(like, escape="\\")))
    if exclude_id is not None:
        query = query.where(C.id != exclude_id)
    taken = set((await session.scalars(query)).all())
    if base not in taken:
        return base
    suffix = 2
    while f"{base}-{suffix}" in taken:
        suffix += 1
    return f"{base}-{suffix}"


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
    session: AsyncSession, statement: Executable, values: dict[str, Any]
) -> PageRow | None:
    try:
        return (await session.execute(statement)).one_or_none()
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


async def get_page(session: AsyncSession, *, page_id: str) -> PageRow:
    """One page, or NotFoundError."""
    row = (await session.execute(select(*COLUMNS).where(C.id == page_id))).one_or_none()
    if row is None:
        raise NotFoundError(f"No page with id {page_id!r}.")
    return row


def _filters(filters: PageFilters, dialect: str) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if filters.status is not None:
        clauses.append(C.status == filters.status)
    if filters.published is not None:
        clauses.append(C.published == filters.published)
    if filters.author_id is not None:
        clauses.append(C.authorId == filters.author_id)
    if filters.slug is not None:
        clauses.append(C.slug == filters.slug)
    if filters.tag is not None:
        if dialect == "postgresql":
            clauses.append(C.tags.contains([filters.tag]))
        else:
            each = func.json_each(C.tags).table_valued("value")
            clauses.append(exists(select(1).select_from(each).where(each.c.value == filters.tag)))
    if filters.q is not None:
        pattern = (
            "%" + filters.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        clauses.append(
            or_(C.title.ilike(pattern, escape="\\"), C.summary.ilike(pattern, escape="\\"))
        )
    return clauses


def _beyond(left: Any, right: Any) -> ColumnElement[bool]:
    return left > right


def _before(left: Any, right: Any) -> ColumnElement[bool]:
    return left < right


def _after(order: PageOrder, position: Position) -> ColumnElement[bool]:
    """Rows strictly after `position` in `order` (NULLs sort last in both directions)."""
    column = C[order.column]
    beyond = _before if order.descending else _beyond
    if order.column != "publishedAt":
        # A row-value comparison: PostgreSQL walks the ("createdAt", "id") index with it.
        return beyond(tuple_(column, C.id), tuple_(position.value, position.id))
    if position.value is None:
        return and_(column.is_(None), beyond(C.id, position.id))
    return or_(
        column.is_(None),
        beyond(column, position.value),
        and_(column == position.value, beyond(C.id, position.id)),
    )


def _order_by(order: PageOrder) -> list[Any]:
    column = C[order.column]
    clauses: list[Any] = []
    if order.column == "publishedAt":
        clauses.append(column.is_(None).asc())
    if order.descending:
        return [*clauses, column.desc(), C.id.desc()]
    return [*clauses, column.asc(), C.id.asc()]


async def list_pages(
    session: AsyncSession,
    *,
    limit: int,
    order: PageOrder = PageOrder.CREATED_AT_DESC,
    after: Position | None = None,
    offset: int = 0,
    filters: PageFilters | None = None,
    with_count: bool = False,
) -> PageSlice:
    """A slice of pages in `order`, after a keyset position or at an offset."""
    dialect = session.get_bind().dialect.name
    where = _filters(filters or PageFilters(), dialect)
    query = select(*COLUMNS).where(*where)
    if after is not None:
        query = query.where(_after(order, after))
    query = query.order_by(*_order_by(order)).limit(limit + 1).offset(offset or None)
    rows = (await session.execute(query)).all()
    next_position = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_position = Position(value=getattr(last, order.column), id=last.id)
    count = None
    if with_count:
        count_query = select(func.count(literal_column("1"))).select_from(PAGE).where(*where)
        count = (await session.execute(count_query)).scalar_one()
    return PageSlice(rows=rows, next_position=next_position, count=count)


async def create_page(session: AsyncSession, *, data: PageFields) -> PageRow:
    """Insert a page as Prisma's client would; the model's defaults give `id` and `updatedAt`."""
    values = {
        key: value
        for key, value in _column_values(data, only_set=True).items()
        if value is not None
    }
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        # SQLite's CURRENT_TIMESTAMP has no milliseconds and sorts apart from the driver's format.
        values["createdAt"] = utcnow()
    if data.slug is not None:
        row = await _execute(session, _insert_statement(dialect, values), values)
        if row is None:
            raise _slug_taken(data.slug)
        return row
    base = slugify(data.title)
    if dialect == "postgresql":
        # Creators deriving the same slug take turns until they commit, so each one sees the
        # slugs the others took (otherwise N concurrent "Untitled" pages race for one suffix).
        await session.execute(
            select(func.pg_advisory_xact_lock(func.hashtext(f"Page.slug:{base}")))
        )
    for _ in range(_DERIVED_SLUG_ATTEMPTS):
        values["slug"] = await _free_slug(session, base, exclude_id=None)
        row = await _execute(session, _insert_statement(dialect, values), values)
        if row is not None:
            return row
    raise ConflictError(f"Could not find a free slug for {base!r}; send one explicitly.")


async def _lock(session: AsyncSession, page_id: str, precondition: Precondition | None) -> PageRow:
    # FOR UPDATE serialises concurrent writers, so a precondition is checked against the
    # version the write will replace: two PATCHes with one If-Match leave one winner.
    query = select(*COLUMNS).where(C.id == page_id).with_for_update()
    row = (await session.execute(query)).one_or_none()
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
    session: AsyncSession, page_id: str, values: dict[str, Any], *, title: str
) -> PageRow:
    if values.get("slug") is None:
        values["slug"] = await _free_slug(session, slugify(title), exclude_id=page_id)
    statement: Executable = update(PAGE).where(C.id == page_id).values(values).returning(*COLUMNS)
    row = await _execute(session, statement, values)
    assert row is not None  # the row is locked: it cannot have gone
    return row


async def replace_page(
    session: AsyncSession,
    *,
    page_id: str,
    data: PageFields,
    precondition: Precondition | None = None,
) -> PageRow:
    """Full replace: omitted fields go back to their defaults; the slug is derived if absent."""
    await _lock(session, page_id, precondition)
    values = {**REPLACE_DEFAULTS, **_column_values(data, only_set=True)}
    for key, default in REPLACE_DEFAULTS.items():
        if values[key] is None:
            values[key] = default
    values["title"] = data.title
    values["slug"] = data.slug
    return await _update(session, page_id, values, title=data.title)


async def update_page(
    session: AsyncSession,
    *,
    page_id: str,
    data: PageUpdate,
    precondition: Precondition | None = None,
) -> PageRow:
    """Partial update: only the fields sent change; `null` clears a nullable field."""
    current = await _lock(session, page_id, precondition)
    values = _column_values(data, only_set=True)
    if not values:
        return current
    if "tags" in values and values["tags"] is None:
        values["tags"] = []
    if "slug" not in values:
        values["slug"] = current.slug
    return await _update(session, page_id, values, title=values.get("title", current.title))


async def delete_page(
    session: AsyncSession, *, page_id: str, precondition: Precondition | None = None
) -> None:
    """Delete a page (its revisions and tag links go with it, by the foreign keys)."""
    await _lock(session, page_id, precondition)
    await session.execute(delete(PAGE).where(C.id == page_id))
