"""Routes from resource declarations: one function turns a `Resource` into its endpoints.

For a resource named `Page` at `/pages` (writable): `listPages` `GET /pages/`, `getPage`
`GET /pages/{id}`, `createPage` `POST /pages/`, `replacePage` `PUT /pages/{id}`, `updatePage`
`PATCH /pages/{id}`, `deletePage` `DELETE /pages/{id}`. A read-only resource has the two GETs
(other methods: 405). A nested resource lives under its parent's item
(`/pages/{id}/revisions/{revision}`) and uses its scopes. A `Link` gives `PUT`/`DELETE
/pages/{id}/tag-items/{tagId}`.

The endpoints are ordinary FastAPI routes (OpenAPI, /docs, validation); their signatures are
built from the resource's models. The two reads are also served by app.api.hot.HotPath, which
calls `read_one` / `read_list` below without FastAPI's per-request dependency machinery.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Path, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel

from app import crud
from app.api.deps import BearerScope, DbDep
from app.api.query import openapi_parameters, query_dependency
from app.core.db import Database, Tx
from app.core.errors import FieldError, NotFoundError, UnprocessableError, problem_responses
from app.core.security import Principal
from app.pagination import decode_cursor, encode_cursor
from app.resource import FieldInfo, Link, Resource, parent_of, resource_for
from app.schemas import INT4_MAX, INT4_MIN

JSON = "application/json"
MAX_ID_LENGTH = 128
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")

READ_ERRORS = problem_responses(401, 403, 422)
WRITE_ERRORS = problem_responses(400, 401, 403, 404, 409, 412, 413, 415, 422)
IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description="ETag from a previous read; 412 when the row changed"),
]
IfNoneMatch = Annotated[
    str | None,
    Header(alias="If-None-Match", description="ETag of a cached copy; 304 when unchanged"),
]


def snake(name: str) -> str:
    """`PageRevision` → `page_revision` (route names; operation ids are their camelCase)."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


# ------------------------------------------------------------------------------ responses


def etag(body: bytes) -> str:
    """A strong ETag: the first 128 bits of the body's SHA-256. SHA-256 rather than BLAKE2b:
    processors hash it in hardware (SHA extensions), 1.5 µs for a 1.8 kB page against 2.9."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def if_match(resource: Resource, header: str | None) -> crud.Precondition | None:
    """A precondition for the write: the stored row's ETag must be one of those sent."""
    if header is None:
        return None
    tags = _tags(header)
    if "*" in tags:
        return lambda _row: True
    # If-Match uses the strong comparison: a weak tag never matches.
    strong = {tag for tag in tags if not tag.startswith("W/")}
    to_json = resource.to_json
    return lambda row: etag(orjson.dumps(to_json(row))) in strong


class _JSONResponse(Response):
    """A JSON body with its ETag, the headers built directly: Starlette's `init_headers` (a
    dict lowercased and encoded, then scanned) was half of a response's 4 µs."""

    media_type = JSON

    def __init__(self, content: bytes, status_code: int, headers: dict[str, str] | None) -> None:
        self.status_code = status_code
        self.background = None
        self.body = content
        raw = [(b"etag", etag(content).encode())]
        if headers:
            raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        raw += [(b"content-length", b"%d" % len(content)), (b"content-type", _JSON_TYPE)]
        self.raw_headers = raw


_JSON_TYPE = JSON.encode()


def json_response(
    body: Any, *, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """`body` as JSON with its ETag (the same headers, in the same order, as
    `Response(…, media_type=JSON, headers={"ETag": …, **headers})`)."""
    return _JSONResponse(orjson.dumps(body), status_code, headers)


# ------------------------------------------------------------------------------ the reads


def include_names(resource: Resource, raw: str | None, principal: Principal) -> list[str]:
    """Relation names of `include=`; 422 for an unknown one, 403 without the target's scope."""
    if not raw:
        return []
    names = list(dict.fromkeys(name.strip() for name in raw.split(",") if name.strip()))
    for name in names:
        if name not in resource.relations:
            known = ", ".join(resource.relations) or "none"
            detail = f"{resource.name} has no relation {name!r} to include (it has: {known})."
            raise UnprocessableError(
                detail, errors=[FieldError(field="query.include", message=detail)]
            )
    for name in names:
        target = resource_for(resource.relations[name].target)
        principal.require(f"{target.scope}:read")
    return names


def check_key(resource: Resource, info: FieldInfo, value: Any) -> None:
    # Ids are cuid/uuid/nanoid/ulid-shaped: anything else cannot exist, so don't ask the database.
    if isinstance(value, str) and not set(value) <= _ID_CHARS:
        raise NotFoundError(f"No {resource.label} with {info.name} {value!r}.")


async def read_one(
    db: Database,
    resource: Resource,
    principal: Principal,
    key: crud.Key,
    *,
    include: str | None,
    if_none_match: str | None,
) -> Response:
    """`GET …/{key}` once the caller is known good (shared with HotPath)."""
    names = include_names(resource, include, principal)
    for info in resource.primary_key:
        check_key(resource, info, key[info.column.name])
    row = await crud.get_row(db, resource, key=key)
    body = (await crud.include(db, resource, [row], names))[0] if names else resource.to_json(row)
    response = json_response(body)
    if if_none_match is not None:
        tag = response.headers["ETag"]
        # If-None-Match uses the weak comparison.
        tags = _tags(if_none_match)
        if "*" in tags or tag in {t.removeprefix("W/") for t in tags}:
            return Response(status_code=304, headers={"ETag": tag})
    return response


async def read_list(
    db: Database,
    resource: Resource,
    principal: Principal,
    query: BaseModel,
    *,
    cursor_key: bytes,
    parent_key: crud.Key | None = None,
) -> Response:
    """`GET …/` once the caller and the query are known good (shared with HotPath)."""
    params = query.model_dump()
    cursor, offset, order = params.pop("cursor"), params.pop("offset"), params.pop("orderBy")
    limit, with_count = params.pop("limit"), params.pop("count")
    names = include_names(resource, params.pop("include", None), principal)
    if cursor is not None and offset is not None:
        detail = "Use either cursor or offset, not both."
        raise UnprocessableError(
            detail,
            errors=[
                FieldError(field="query.cursor", message=detail),
                FieldError(field="query.offset", message=detail),
            ],
        )
    after = None
    if cursor:
        info = resource.fields[order.column]
        after = decode_cursor(
            cursor,
            order,
            key=cursor_key,
            value_kind=info.wire.cursor_kind,
            nullable=info.nullable,
            id_kind=resource.key.wire.cursor_kind,
        )
    if parent_key is not None:
        await _require_parent(db, resource, parent_key)
    joins = crud.joinable(resource, names)
    result = await crud.list_rows(
        db,
        resource,
        limit=limit,
        order=order,
        after=after,
        offset=offset or 0,
        filters=params,
        with_count=with_count,
        parent_key=parent_key,
        joins=joins,
    )
    next_cursor = (
        encode_cursor(order, result.next_position, key=cursor_key)
        if result.next_position is not None
        else None
    )
    if names:
        data = await crud.include(db, resource, result.rows, names, joined=joins)
    else:
        to_json = resource.to_json
        data = [to_json(row) for row in result.rows]
    payload = {"data": data, "nextCursor": next_cursor, "count": result.count}
    return Response(orjson.dumps(payload), media_type=JSON)


async def _require_parent(db: Database, resource: Resource, parent_key: crud.Key) -> None:
    parent = parent_of(resource)
    assert parent is not None
    assert resource.parent_relation is not None
    key = {remote.name: parent_key[local.name] for local, remote in resource.parent_relation.pairs}
    for info in parent.primary_key:
        check_key(parent, info, key[info.column.name])
    if not await crud.exists_row(db, parent, key=key):
        raise NotFoundError(
            f"No {parent.label} with {parent.key.name} {key[parent.key.column.name]!r}."
        )


# ------------------------------------------------------------------------------ signatures

_P = inspect.Parameter


def _param(name: str, annotation: Any, default: Any = _P.empty) -> inspect.Parameter:
    return _P(name, _P.KEYWORD_ONLY, annotation=annotation, default=default)


def _path_type(info: FieldInfo, alias: str, what: str) -> Any:
    if info.wire.cursor_kind == "int":
        return Annotated[int, Path(alias=alias, ge=INT4_MIN, le=INT4_MAX, description=what)]
    if info.wire.cursor_kind == "str":
        return Annotated[
            str, Path(alias=alias, min_length=1, max_length=MAX_ID_LENGTH, description=what)
        ]
    return Annotated[info.wire.input, Path(alias=alias, description=what)]


Endpoint = Callable[..., Awaitable[Response]]


def _endpoint(function: Endpoint, name: str, parameters: list[inspect.Parameter]) -> Endpoint:
    """`function(**values)` with the signature FastAPI reads its parameters from."""

    async def endpoint(**values: Any) -> Response:
        return await function(**values)

    endpoint.__name__ = name
    endpoint.__signature__ = inspect.Signature(parameters)  # pyright: ignore[reportFunctionMemberAccess]
    return endpoint


class _Paths:
    """The path parameters of a resource's routes and the keys they make."""

    def __init__(self, resource: Resource) -> None:
        self.resource = resource
        self.parent = parent_of(resource)
        self.key = resource.key
        parent = self.parent
        if parent is None:
            self.prefix = f"/{resource.segment}"
            self.parent_params: list[inspect.Parameter] = []
        else:
            self.prefix = f"/{parent.segment}/{{{parent.key.name}}}/{resource.segment}"
            what = f"The {parent.label}'s {parent.key.name}"
            self.parent_params = [
                _param("parent_key", _path_type(parent.key, parent.key.name, what))
            ]
        what = f"The {resource.label}'s {self.key.name}"
        self.key_param = _param("item_key", _path_type(self.key, self.key.name, what))

    def parent_key(self, values: dict[str, Any]) -> dict[str, Any] | None:
        if self.parent is None:
            return None
        value = values.pop("parent_key")
        return {info.column.name: value for info in self.resource.parent_fields}

    def item_key(self, values: dict[str, Any]) -> dict[str, Any]:
        key = self.parent_key(values) or {}
        key[self.key.column.name] = values.pop("item_key")
        return key


# ------------------------------------------------------------------------------ routers


def resource_router(resource: Resource) -> APIRouter:
    """The routes of one resource."""
    paths = _Paths(resource)
    router = APIRouter(prefix=paths.prefix, tags=[resource.scope])
    reader = Annotated[Principal, Depends(BearerScope(f"{resource.scope}:read"))]
    writer = Annotated[Principal, Depends(BearerScope(f"{resource.scope}:write"))]
    request_param = _param("request", Request)
    list_query = Annotated[resource.list_query, Depends(query_dependency(resource.list_query))]
    get_query = Annotated[resource.get_query, Depends(query_dependency(resource.get_query))]
    single, plural = snake(resource.name), snake(resource.plural_name)
    label = resource.label

    async def list_rows(
        request: Request, principal: Principal, query: BaseModel, **values: Any
    ) -> Response:
        state = request.app.state
        return await read_list(
            state.db,
            resource,
            principal,
            query,
            cursor_key=state.cursor_key,
            parent_key=paths.parent_key(values),
        )

    async def get_row(
        request: Request,
        principal: Principal,
        query: BaseModel,
        if_none_match: str | None,
        **values: Any,
    ) -> Response:
        include = getattr(query, "include", None)
        return await read_one(
            request.app.state.db,
            resource,
            principal,
            paths.item_key(values),
            include=include,
            if_none_match=if_none_match,
        )

    router.add_api_route(
        "/",
        _endpoint(
            list_rows,
            f"list_{plural}",
            [
                request_param,
                _param("principal", reader),
                *paths.parent_params,
                _param("query", list_query),
            ],
        ),
        methods=["GET"],
        name=f"list_{plural}",
        summary=f"List {label}s",
        response_model=resource.list_model,
        responses=READ_ERRORS if paths.parent is None else problem_responses(401, 403, 404, 422),
        openapi_extra={"parameters": openapi_parameters(resource.list_query)},
    )
    router.add_api_route(
        f"/{{{paths.key.name}}}",
        _endpoint(
            get_row,
            f"get_{single}",
            [
                request_param,
                _param("principal", reader),
                *paths.parent_params,
                paths.key_param,
                _param("query", get_query),
                _param("if_none_match", IfNoneMatch, None),
            ],
        ),
        methods=["GET"],
        name=f"get_{single}",
        summary=f"Get a {label}",
        response_model=resource.included_model,
        responses={
            304: {"description": "Not Modified (If-None-Match matched the ETag)"},
            **problem_responses(401, 403, 404, 422),
        },
        openapi_extra={"parameters": openapi_parameters(resource.get_query)}
        if resource.includes
        else None,
    )
    if not resource.read_only:
        _add_writes(router, resource, paths, writer)
    return router


class Writes:
    """What the write endpoints of one resource do once the caller and the body are known good,
    on the request's `Tx`: shared by the FastAPI routes and app.api.hot.HotPath."""

    def __init__(self, resource: Resource) -> None:
        self.resource = resource
        self.paths = _Paths(resource)
        self._locations: dict[str, str] = {}

    def location(self, request: Request, row: crud.Row) -> str:
        """`Location` of a created row: its by-key route's path (the route is looked up once)."""
        paths, resource = self.paths, self.resource
        root_path: str = request.scope.get("root_path", "")
        template = self._locations.get(root_path)
        if template is None:
            placeholders = {paths.key.name: _KEY}
            if paths.parent is not None:
                placeholders[paths.parent.key.name] = _PARENT
            url = request.url_for(f"get_{snake(resource.name)}", **placeholders)
            template = self._locations[root_path] = url.path
        location = template.replace(_KEY, str(row[paths.key.column.name]))
        if paths.parent is not None:
            location = location.replace(_PARENT, str(row[resource.parent_fields[0].column.name]))
        return location

    async def create(
        self, request: Request, db: Tx, body: BaseModel, parent_key: crud.Key | None = None
    ) -> Response:
        resource = self.resource
        if parent_key is not None:
            for info in resource.parent_fields:
                check_key(resource, info, parent_key[info.column.name])
        row = await crud.create_row(db, resource, data=body, parent_key=parent_key)
        headers = {"Location": self.location(request, row)}
        return json_response(resource.to_json(row), status_code=201, headers=headers)

    async def change(
        self,
        db: Tx,
        write: Callable[..., Awaitable[crud.Row]],
        key: crud.Key,
        body: BaseModel,
        if_match_header: str | None,
    ) -> Response:
        resource = self.resource
        precondition = if_match(resource, if_match_header)
        row = await write(
            db, resource, key=_checked(resource, key), data=body, precondition=precondition
        )
        return json_response(resource.to_json(row))

    async def delete(self, db: Tx, key: crud.Key, if_match_header: str | None) -> Response:
        resource = self.resource
        precondition = if_match(resource, if_match_header)
        await crud.delete_row(db, resource, key=_checked(resource, key), precondition=precondition)
        return Response(status_code=204)


# Path parameter placeholders of the Location template (ids never contain them).
_KEY, _PARENT = "\x00key\x00", "\x00parent\x00"


def _add_writes(router: APIRouter, resource: Resource, paths: _Paths, writer: Any) -> None:
    single, label = snake(resource.name), resource.label
    request_param = _param("request", Request)
    writes = Writes(resource)

    async def create(request: Request, db: Tx, body: BaseModel, **values: Any) -> Response:
        return await writes.create(request, db, body, paths.parent_key(values))

    def change(write: Callable[..., Awaitable[crud.Row]]) -> Endpoint:
        async def endpoint(
            db: Tx, body: BaseModel, if_match_header: str | None, **values: Any
        ) -> Response:
            return await writes.change(db, write, paths.item_key(values), body, if_match_header)

        return endpoint

    async def remove(db: Tx, if_match_header: str | None, **values: Any) -> Response:
        return await writes.delete(db, paths.item_key(values), if_match_header)

    principal = _param("_principal", writer)
    db = _param("db", DbDep)
    match = _param("if_match_header", IfMatch, None)
    item = [*paths.parent_params, paths.key_param]
    router.add_api_route(
        "/",
        _endpoint(
            create,
            f"create_{single}",
            [
                request_param,
                principal,
                *paths.parent_params,
                _param("body", resource.create_model),
                db,
            ],
        ),
        methods=["POST"],
        name=f"create_{single}",
        summary=f"Create a {label}",
        status_code=201,
        response_model=resource.output_model,
        responses=WRITE_ERRORS,
    )
    item_path = f"/{{{paths.key.name}}}"
    for verb, action, write, model, summary in (
        ("PUT", "replace", crud.replace_row, resource.replace_model, f"Replace a {label}"),
        ("PATCH", "update", crud.update_row, resource.update_model, f"Update a {label}'s fields"),
    ):
        name = f"{action}_{single}"
        parameters = [principal, db, *item, _param("body", model), match]
        router.add_api_route(
            item_path,
            _endpoint(change(write), name, parameters),
            methods=[verb],
            name=name,
            summary=summary,
            response_model=resource.output_model,
            responses=WRITE_ERRORS,
        )
    router.add_api_route(
        item_path,
        _endpoint(remove, f"delete_{single}", [principal, db, *item, match]),
        methods=["DELETE"],
        name=f"delete_{single}",
        summary=f"Delete a {label}",
        status_code=204,
        response_class=Response,
        responses=problem_responses(401, 403, 404, 412, 422),
    )


def _checked(resource: Resource, key: crud.Key) -> crud.Key:
    for info in resource.primary_key:
        check_key(resource, info, key[info.column.name])
    return key


def link_router(link: Link) -> APIRouter:
    """`PUT`/`DELETE /{owner}/{id}/{segment}/{targetId}`: connect or disconnect two rows."""
    owner, target = link.owner, link.target
    router = APIRouter(prefix=f"/{owner.segment}", tags=[owner.scope])
    writer = Annotated[Principal, Depends(BearerScope(f"{owner.scope}:write"))]
    owner_param = _param(
        "owner_key", _path_type(owner.key, owner.key.name, f"The {owner.label}'s {owner.key.name}")
    )
    target_param = _param(
        "target_key", _path_type(target.key, link.param, f"The {target.label}'s {target.key.name}")
    )

    def keys(values: dict[str, Any]) -> tuple[crud.Key, crud.Key]:
        owner_key = _checked(owner, {owner.key.column.name: values["owner_key"]})
        return owner_key, {target.key.column.name: values["target_key"]}

    async def connect(db: Any, **values: Any) -> Response:
        owner_key, target_key = keys(values)
        await crud.link_rows(db, link, owner_key=owner_key, target_key=target_key)
        return Response(status_code=204)

    async def disconnect(db: Any, **values: Any) -> Response:
        owner_key, target_key = keys(values)
        await crud.unlink_rows(db, link, owner_key=owner_key, target_key=target_key)
        return Response(status_code=204)

    parameters = [_param("_principal", writer), _param("db", DbDep), owner_param, target_param]
    path = f"/{{{owner.key.name}}}/{link.segment}/{{{link.param}}}"
    base = f"{snake(owner.name)}_{snake(link.item_name)}"
    for verb, function, summary in (
        ("PUT", connect, f"Connect a {target.label} to a {owner.label} (idempotent)"),
        ("DELETE", disconnect, f"Disconnect a {target.label} from a {owner.label} (idempotent)"),
    ):
        name = f"{'link' if verb == 'PUT' else 'unlink'}_{base}"
        router.add_api_route(
            path,
            _endpoint(function, name, parameters),
            methods=[verb],
            name=name,
            summary=summary,
            status_code=204,
            response_class=Response,
            responses=problem_responses(401, 403, 404, 422),
        )
    return router


def hot_routes(routes: list[Any], resource: Resource) -> dict[str, APIRoute]:
    """A resource's routes by what they do (`list`, `get`, `create`, `replace`, `update`,
    `delete`; a read-only resource has the first two): what app.api.hot.HotPath stands in for."""
    single, plural = snake(resource.name), snake(resource.plural_name)
    names = {f"list_{plural}": "list", f"get_{single}": "get"}
    names |= {f"{action}_{single}": action for action in ("create", "replace", "update", "delete")}
    return {names[r.name]: r for r in routes if isinstance(r, APIRoute) and r.name in names}
