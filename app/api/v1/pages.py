"""`/pages`: CRUD over Prisma's `Page` table."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

from app import crud
from app.api.deps import DbDep, ReaderDep, WriterDep
from app.api.query import openapi_parameters, query_dependency
from app.core.db import Database
from app.core.errors import FieldError, NotFoundError, UnprocessableError, problem_responses
from app.models import PageStatus
from app.pagination import PageOrder, decode_cursor, encode_cursor
from app.schemas import PageCreate, PageList, PagePublic, PageReplace, PageUpdate, page_dict

# Dependencies resolve in parameter order: the token is checked before a connection is taken,
# so anonymous callers never hold a pool slot (nor learn whether the database is up).
# The two reads are also served by app.api.hot.HotReads, which calls the same functions
# (read_page, read_pages) without FastAPI's per-request dependency machinery.
router = APIRouter(prefix="/pages", tags=["pages"])

JSON = "application/json"
MAX_OFFSET = 1_000_000
MAX_ID_LENGTH = 128
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")

PageId = Annotated[
    str,
    Path(
        alias="id",
        min_length=1,
        max_length=MAX_ID_LENGTH,
        description="The page id (a cuid for pages created by Prisma or app-api)",
    ),
]
IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description="ETag from a previous read; 412 when the page changed"),
]
IfNoneMatch = Annotated[
    str | None,
    Header(alias="If-None-Match", description="ETag of a cached copy; 304 when unchanged"),
]
NoNul = StringConstraints(pattern=r"^[^\x00]*$")


class ListQuery(BaseModel):
    """Query parameters of `GET /pages/`."""

    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_alias=True, validate_by_name=False, extra="forbid"
    )

    limit: int = Field(default=20, ge=1, le=100, description="Rows per page (1 to 100)")
    cursor: Annotated[str, StringConstraints(max_length=512)] | None = Field(
        default=None, description="`nextCursor` of the previous page (keyset pagination)"
    )
    offset: int | None = Field(
        default=None, ge=0, le=MAX_OFFSET, description="Rows to skip (use `cursor` for deep pages)"
    )
    order_by: PageOrder = Field(
        default=PageOrder.CREATED_AT_DESC,
        description="Sort field; `-` prefix for descending. Ties are broken by `id`.",
    )
    status: PageStatus | None = None
    published: bool | None = None
    author_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    tag: Annotated[str, StringConstraints(min_length=1, max_length=64), NoNul] | None = None
    slug: Annotated[str, StringConstraints(min_length=1, max_length=200), NoNul] | None = None
    q: Annotated[str, StringConstraints(min_length=1, max_length=200), NoNul] | None = Field(
        default=None, description="Case-insensitive substring of the title or summary"
    )
    count: bool = Field(default=False, description="Also return the exact total (`count`)")


def _body(row: Any) -> bytes:
    return orjson.dumps(page_dict(row))


def _etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def _tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def _if_match(header: str | None) -> crud.Precondition | None:
    """A precondition for the write: the stored page's ETag must be one of those sent."""
    if header is None:
        return None
    tags = _tags(header)
    if "*" in tags:
        return lambda _row: True
    # If-Match uses the strong comparison: a weak tag never matches.
    strong = {tag for tag in tags if not tag.startswith("W/")}
    return lambda row: _etag(_body(row)) in strong


def _check_id(page_id: str) -> None:
    # Ids are cuid/uuid/nanoid/ulid-shaped: anything else cannot exist, so don't ask the database.
    if not set(page_id) <= _ID_CHARS:
        raise NotFoundError(f"No page with id {page_id!r}.")


def _page_response(
    row: Any, *, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    body = _body(row)
    return Response(
        body,
        status_code=status_code,
        media_type=JSON,
        headers={"ETag": _etag(body), **(headers or {})},
    )


READ_ERRORS = problem_responses(401, 403, 422)
WRITE_ERRORS = problem_responses(400, 401, 403, 404, 409, 412, 413, 415, 422)


parse_list_query = query_dependency(ListQuery)


async def read_pages(db: Database, query: ListQuery, *, cursor_key: bytes) -> Response:
    """`GET /pages/` once the caller and the query are known good (shared with HotReads)."""
    if query.cursor is not None and query.offset is not None:
        detail = "Use either cursor or offset, not both."
        raise UnprocessableError(
            detail,
            errors=[
                FieldError(field="query.cursor", message=detail),
                FieldError(field="query.offset", message=detail),
            ],
        )
    after = decode_cursor(query.cursor, query.order_by, key=cursor_key) if query.cursor else None
    result = await crud.list_pages(
        db,
        limit=query.limit,
        order=query.order_by,
        after=after,
        offset=query.offset or 0,
        filters=crud.PageFilters(
            status=query.status,
            published=query.published,
            author_id=query.author_id,
            tag=query.tag,
            slug=query.slug,
            q=query.q,
        ),
        with_count=query.count,
    )
    next_cursor = (
        encode_cursor(query.order_by, result.next_position, key=cursor_key)
        if result.next_position is not None
        else None
    )
    payload = {
        "data": [page_dict(row) for row in result.rows],
        "nextCursor": next_cursor,
        "count": result.count,
    }
    return Response(orjson.dumps(payload), media_type=JSON)


async def read_page(db: Database, page_id: str, *, if_none_match: str | None) -> Response:
    """`GET /pages/{id}` once the caller is known good (shared with HotReads)."""
    _check_id(page_id)
    row = await crud.get_page(db, page_id=page_id)
    response = _page_response(row)
    if if_none_match is not None:
        etag = response.headers["ETag"]
        # If-None-Match uses the weak comparison.
        tags = _tags(if_none_match)
        if "*" in tags or etag in {tag.removeprefix("W/") for tag in tags}:
            return Response(status_code=304, headers={"ETag": etag})
    return response


@router.get(
    "/",
    operation_id="listPages",
    summary="List pages",
    response_model=PageList,
    responses=READ_ERRORS,
    openapi_extra={"parameters": openapi_parameters(ListQuery)},
)
async def list_pages(
    request: Request,
    _reader: ReaderDep,
    query: Annotated[ListQuery, Depends(parse_list_query)],
) -> Response:
    state = request.app.state
    return await read_pages(state.db, query, cursor_key=state.cursor_key)


@router.get(
    "/{id}",
    operation_id="getPage",
    summary="Get a page",
    response_model=PagePublic,
    responses={
        304: {"description": "Not Modified (If-None-Match matched the ETag)"},
        **problem_responses(401, 403, 404, 422),
    },
)
async def get_page(
    request: Request,
    _reader: ReaderDep,
    page_id: PageId,
    if_none_match: IfNoneMatch = None,
) -> Response:
    return await read_page(request.app.state.db, page_id, if_none_match=if_none_match)


@router.post(
    "/",
    operation_id="createPage",
    summary="Create a page",
    status_code=201,
    response_model=PagePublic,
    responses=WRITE_ERRORS,
)
async def create_page(
    request: Request, _writer: WriterDep, page: PageCreate, db: DbDep
) -> Response:
    row = await crud.create_page(db, data=page)
    location = str(request.url_for("get_page", id=row["id"]).path)
    return _page_response(row, status_code=201, headers={"Location": location})


@router.put(
    "/{id}",
    operation_id="replacePage",
    summary="Replace a page",
    response_model=PagePublic,
    responses=WRITE_ERRORS,
)
async def replace_page(
    _writer: WriterDep,
    db: DbDep,
    page_id: PageId,
    page: PageReplace,
    if_match: IfMatch = None,
) -> Response:
    _check_id(page_id)
    row = await crud.replace_page(db, page_id=page_id, data=page, precondition=_if_match(if_match))
    return _page_response(row)


@router.patch(
    "/{id}",
    operation_id="updatePage",
    summary="Update some fields of a page",
    response_model=PagePublic,
    responses=WRITE_ERRORS,
)
async def update_page(
    _writer: WriterDep,
    db: DbDep,
    page_id: PageId,
    page: PageUpdate,
    if_match: IfMatch = None,
) -> Response:
    _check_id(page_id)
    row = await crud.update_page(db, page_id=page_id, data=page, precondition=_if_match(if_match))
    return _page_response(row)


@router.delete(
    "/{id}",
    operation_id="deletePage",
    summary="Delete a page",
    status_code=204,
    response_class=Response,
    responses=problem_responses(401, 403, 404, 412, 422),
)
async def delete_page(
    _writer: WriterDep,
    db: DbDep,
    page_id: PageId,
    if_match: IfMatch = None,
) -> Response:
    _check_id(page_id)
    await crud.delete_page(db, page_id=page_id, precondition=_if_match(if_match))
    return Response(status_code=204)
