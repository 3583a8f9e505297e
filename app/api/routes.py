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
from urllib.parse import quote

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
from app.resource import FieldInfo, Link, Resource, label_of, parent_of, resource_for
from app.schemas import INT4_MAX, INT4_MIN

JSON = "application/json"
# The longest string key a path carries (any characters: `site.ban-wfa` is a Prisma key too).
MAX_ID_LENGTH = 1024

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


def operation_id(action: str, resource: Resource) -> str:
    """`getField`, `listSiteSettings`: the action and the exact Prisma model name (plural for
    lists). Routes are named by it too (url_for, HotPath)."""
    return action + (resource.plural_name if action == "list" else resource.name)


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
    # Any string is a valid key, but PostgreSQL text cannot hold NUL: such a row cannot exist.
    if isinstance(value, str) and chr(0) in value:
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
    for info in resource.key_fields:
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
            id_kinds=tuple(tie.wire.cursor_kind for tie in resource.ties(info)),
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


async def _require_parent(db: Database | Tx, resource: Resource, parent_key: crud.Key) -> None:
    parent, relation = parent_of(resource), resource.parent_relation
    assert parent is not None
    assert relation is not None
    for info in resource.parent_fields:
        check_key(resource, info, parent_key[info.column.name])
    if not await crud.exists_parent(db, resource, parent_key=parent_key):
        what = " and ".join(
            f"{parent.field_of(remote).name} {parent_key[local.name]!r}"
            for local, remote in relation.pairs
        )
        raise NotFoundError(f"No {parent.label} with {what}.")


# ------------------------------------------------------------------------------ signatures

_P = inspect.Parameter


def _param(name: str, annotation: Any, default: Any = _P.empty) -> inspect.Parameter:
    return _P(name, _P.KEYWORD_ONLY, annotation=annotation, default=default)


def _path_type(info: FieldInfo, alias: str, what: str) -> Any:
    """A path parameter typed and validated as its field (422 when it cannot be one)."""
    kind = info.wire.cursor_kind
    if kind == "int":
        return Annotated[int, Path(alias=alias, ge=INT4_MIN, le=INT4_MAX, description=what)]
    if kind == "str" and not info.is_enum:
        length = key_length(info)
        return Annotated[str, Path(alias=alias, min_length=1, max_length=length, description=what)]
    return Annotated[info.wire.input, Path(alias=alias, description=what)]


def key_length(info: FieldInfo) -> int:
    """The longest value a string key field's path segment may have."""
    length: int | None = getattr(info.column.type, "length", None)
    return min(length or MAX_ID_LENGTH, MAX_ID_LENGTH)


def path_text(info: FieldInfo, value: Any) -> str:
    """A key value as its path segment (the field's JSON form, as a client sends it)."""
    if info.wire.to_json is not None:
        value = info.wire.to_json(value)
    if isinstance(value, bool):
        value = "true" if value else "false"
    return quote(str(value), safe="")


Endpoint = Callable[..., Awaitable[Response]]


def _endpoint(function: Endpoint, name: str, parameters: list[inspect.Parameter]) -> Endpoint:
    """`function(**values)` with the signature FastAPI reads its parameters from."""

    async def endpoint(**values: Any) -> Response:
        return await function(**values)

    endpoint.__name__ = name
    endpoint.__signature__ = inspect.Signature(parameters)  # pyright: ignore[reportFunctionMemberAccess]
    return endpoint


class _Paths:
    """The path parameters of a resource's routes (one per key field, named after it) and the
    keys they make."""

    def __init__(self, resource: Resource) -> None:
        self.resource = resource
        self.parent = parent_of(resource)
        self.params = [
            _param(f"k{n}", _path_type(info, info.name, f"The {resource.label}'s {info.name}"))
            for n, info in enumerate(resource.key_fields)
        ]
        self.parent_params = self.params[: len(resource.parent_fields)]
        self.prefix = f"/{resource.segment}"
        if self.parent is not None:
            part = "/".join(f"{{{info.name}}}" for info in resource.parent_fields)
            self.prefix = f"/{self.parent.segment}/{part}/{resource.segment}"
        self.item_path = "/" + "/".join(f"{{{info.name}}}" for info in resource.own_key)

    def parent_key(self, values: dict[str, Any]) -> dict[str, Any] | None:
        if self.parent is None:
            return None
        fields = self.resource.parent_fields
        return {info.column.name: values.pop(f"k{n}") for n, info in enumerate(fields)}

    def item_key(self, values: dict[str, Any]) -> dict[str, Any]:
        fields = self.resource.key_fields
        return {info.column.name: values.pop(f"k{n}") for n, info in enumerate(fields)}


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
            operation_id("list", resource),
            [
                request_param,
                _param("principal", reader),
                *paths.parent_params,
                _param("query", list_query),
            ],
        ),
        methods=["GET"],
        name=operation_id("list", resource),
        operation_id=operation_id("list", resource),
        summary=f"List {label_of(resource.plural_name)}",
        response_model=resource.list_model,
        responses=READ_ERRORS if paths.parent is None else problem_responses(401, 403, 404, 422),
        openapi_extra={"parameters": openapi_parameters(resource.list_query)},
    )
    router.add_api_route(
        paths.item_path,
        _endpoint(
            get_row,
            operation_id("get", resource),
            [
                request_param,
                _param("principal", reader),
                *paths.params,
                _param("query", get_query),
                _param("if_none_match", IfNoneMatch, None),
            ],
        ),
        methods=["GET"],
        name=operation_id("get", resource),
        operation_id=operation_id("get", resource),
        summary=f"Get {resource.a_label}",
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
        resource = self.resource
        fields = resource.key_fields
        root_path: str = request.scope.get("root_path", "")
        template = self._locations.get(root_path)
        if template is None:
            placeholders = {info.name: _placeholder(n) for n, info in enumerate(fields)}
            url = request.url_for(operation_id("get", resource), **placeholders)
            template = self._locations[root_path] = url.path
        for n, info in enumerate(fields):
            template = template.replace(_placeholder(n), path_text(info, row[info.column.name]))
        return template

    async def create(
        self, request: Request, db: Tx, body: BaseModel, parent_key: crud.Key | None = None
    ) -> Response:
        resource = self.resource
        if parent_key is not None:
            if crud.parent_checked_by_database(resource):
                for info in resource.parent_fields:
                    check_key(resource, info, parent_key[info.column.name])
            else:
                await _require_parent(db, resource, parent_key)
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


def _placeholder(n: int) -> str:
    """A path parameter's placeholder in the Location template (keys never contain NUL)."""
    return f"{chr(0)}{n}{chr(0)}"


def _add_writes(router: APIRouter, resource: Resource, paths: _Paths, writer: Any) -> None:
    label = resource.a_label
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
    item = paths.params
    router.add_api_route(
        "/",
        _endpoint(
            create,
            operation_id("create", resource),
            [
                request_param,
                principal,
                *paths.parent_params,
                _param("body", resource.create_model),
                db,
            ],
        ),
        methods=["POST"],
        name=operation_id("create", resource),
        operation_id=operation_id("create", resource),
        summary=f"Create {label}",
        status_code=201,
        response_model=resource.output_model,
        responses=WRITE_ERRORS,
    )
    item_path = paths.item_path
    for verb, action, write, model, summary in (
        ("PUT", "replace", crud.replace_row, resource.replace_model, f"Replace {label}"),
        ("PATCH", "update", crud.update_row, resource.update_model, f"Update {label}'s fields"),
    ):
        name = operation_id(action, resource)
        parameters = [principal, db, *item, _param("body", model), match]
        router.add_api_route(
            item_path,
            _endpoint(change(write), name, parameters),
            methods=[verb],
            name=name,
            operation_id=name,
            summary=summary,
            response_model=resource.output_model,
            responses=WRITE_ERRORS,
        )
    router.add_api_route(
        item_path,
        _endpoint(remove, operation_id("delete", resource), [principal, db, *item, match]),
        methods=["DELETE"],
        name=operation_id("delete", resource),
        operation_id=operation_id("delete", resource),
        summary=f"Delete {label}",
        status_code=204,
        response_class=Response,
        responses=problem_responses(401, 403, 404, 412, 422),
    )


def _checked(resource: Resource, key: crud.Key) -> crud.Key:
    for info in resource.key_fields:
        check_key(resource, info, key[info.column.name])
    return key


def link_router(link: Link) -> APIRouter:
    """`PUT`/`DELETE /{owner}/{id}/{segment}/{targetId}`: connect or disconnect two rows."""
    owner, target = link.owner, link.target
    owner_key, target_key = link.owner_key, link.target_key
    router = APIRouter(prefix=f"/{owner.segment}", tags=[owner.scope])
    writer = Annotated[Principal, Depends(BearerScope(f"{owner.scope}:write"))]
    owner_what = f"The {owner.label}'s {owner_key.name}"
    owner_param = _param("owner_key", _path_type(owner_key, owner_key.name, owner_what))
    target_what = f"The {target.label}'s {target_key.name}"
    target_param = _param("target_key", _path_type(target_key, link.param, target_what))

    def keys(values: dict[str, Any]) -> tuple[crud.Key, crud.Key]:
        owner_values = _checked(owner, {owner_key.column.name: values["owner_key"]})
        return owner_values, {target_key.column.name: values["target_key"]}

    async def connect(db: Any, **values: Any) -> Response:
        owner_values, target_values = keys(values)
        await crud.link_rows(db, link, owner_key=owner_values, target_key=target_values)
        return Response(status_code=204)

    async def disconnect(db: Any, **values: Any) -> Response:
        owner_values, target_values = keys(values)
        await crud.unlink_rows(db, link, owner_key=owner_values, target_key=target_values)
        return Response(status_code=204)

    parameters = [_param("_principal", writer), _param("db", DbDep), owner_param, target_param]
    path = f"/{{{owner_key.name}}}/{link.segment}/{{{link.param}}}"
    for verb, function, summary in (
        ("PUT", connect, f"Connect {target.a_label} to {owner.a_label} (idempotent)"),
        ("DELETE", disconnect, f"Disconnect {target.a_label} from {owner.a_label} (idempotent)"),
    ):
        name = f"{'link' if verb == 'PUT' else 'unlink'}{owner.name}{link.item_name}"
        router.add_api_route(
            path,
            _endpoint(function, name, parameters),
            methods=[verb],
            name=name,
            operation_id=name,
            summary=summary,
            status_code=204,
            response_class=Response,
            responses=problem_responses(401, 403, 404, 422),
        )
    return router


def hot_routes(routes: list[Any], resource: Resource) -> dict[str, APIRoute]:
    """A resource's routes by what they do (`list`, `get`, `create`, `replace`, `update`,
    `delete`; a read-only resource has the first two): what app.api.hot.HotPath stands in for."""
    actions = ("list", "get", "create", "replace", "update", "delete")
    names = {operation_id(action, resource): action for action in actions}
    return {names[r.name]: r for r in routes if isinstance(r, APIRoute) and r.name in names}
