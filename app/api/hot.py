"""The hottest requests, served without FastAPI's per-request machinery, for every resource.

`GET`, `POST`, `PUT`, `PATCH` and `DELETE` on `/api/v1/{segment}/` and `/api/v1/{segment}/{id}`
are almost all of the traffic. Through FastAPI a by-id read spent about 0.1 ms of CPU in
routing, dependency resolution and its exit stacks, as much as the rest of the request, and a
write about 0.5 ms. `HotPath` is a pure ASGI middleware, innermost in the stack (the request
id, the access log, CORS, the body guard and Sentry still wrap it), that answers exactly these
requests of the top-level resources, of any key shape (`/{segment}/{a}/{b}` for a two-field
key, each part converted as its field's path parameter is), by calling what the FastAPI routes
call (app.api.routes), in the same order:

1. writes: the body (413 when too large; 400 when the client goes away before it arrived),
   validated from its JSON by the route's own model;
2. the bearer token check (the resource's read or write scope: 401/403, the actor for the
   access log);
3. reads: the query model (422 on anything it refuses);
4. `read_one` / `read_list` (404, 304, ETag, cursors, include), or `Writes` on the request's
   transaction (`Database.transaction`: committed before the response is sent, rolled back on
   any error, as the routes' `DbDep`);

and turns the errors they raise into responses with the app's own exception handlers (so a
503 carries CORS headers as it does from the routes). It sets `scope["route"]` to the route it
stands for, as Starlette's router would (metrics label requests by it). Every other request
goes on to FastAPI unchanged: other paths and methods, nested resources, a key FastAPI's path
rules would refuse (its own 422), and a body the model refuses (FastAPI reads it again from a
replay and answers with its own 422, so every validation error keeps FastAPI's shape). The routes stay
declared there: OpenAPI, /docs and the generated TypeScript clients are unaffected.
tests/api/test_hot_path.py, test_hot_path_writes.py and tests/machinery/test_resource_hot_path.py compare both paths.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import crud
from app.api.deps import BearerScope
from app.api.query import query_dependency
from app.api.routes import (
    Writes,
    hot_routes,
    key_length,
    read_list,
    read_one,
    resource_router,
)
from app.core.middleware import is_json
from app.resource import FieldInfo, Resource
from app.schemas import INT4_MAX, INT4_MIN

_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, slots=True)
class _Hot:
    resource: Resource
    reader: BearerScope
    writer: BearerScope
    routes: dict[str, APIRoute]
    parse_list: Any
    parse_get: Any
    writes: Writes
    # Per key field: (column name, converter of its path segment; None: FastAPI answers).
    key: tuple[tuple[str, Callable[[str], Any]], ...]


# What each write does: the route it stands for, its body's model, the crud call (PUT/PATCH).
_WRITES: dict[str, tuple[str, str | None, Callable[..., Awaitable[crud.Row]] | None]] = {
    "POST": ("create", "create_model", None),
    "PUT": ("replace", "replace_model", crud.replace_row),
    "PATCH": ("update", "update_model", crud.update_row),
    "DELETE": ("delete", None, None),
}


class HotPath:
    """Serve the reads and writes of `{prefix}/{segment}/[{key}]`; pass on the rest."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        prefix: str,
        resources: tuple[Resource, ...],
        routes: list[Any] | None = None,
    ) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/") + "/"
        self.resources: dict[str, _Hot] = {}
        for resource in resources:
            if resource.parent is not None:
                continue
            # The app's own route objects (None: this resource's, built afresh).
            self.resources[resource.segment] = _Hot(
                resource=resource,
                reader=BearerScope(f"{resource.scope}:read"),
                writer=BearerScope(f"{resource.scope}:write"),
                routes=hot_routes(routes or resource_router(resource).routes, resource),
                parse_list=query_dependency(resource.list_query),
                parse_get=query_dependency(resource.get_query),
                writes=Writes(resource),
                key=tuple((f.column.name, _key_parser(f)) for f in resource.key_fields),
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _METHODS:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        root_path: str = scope.get("root_path", "")
        if root_path and path.startswith(root_path):
            path = path[len(root_path) :]
        if not path.startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        segment, slash, raw_key = path[len(self.prefix) :].partition("/")
        hot = self.resources.get(segment)
        key = _key(hot, raw_key) if hot is not None and slash else None
        method: str = scope["method"]
        action = _action(method, key)
        if hot is None or key is None or action not in hot.routes:
            # Not a route here (or a method it does not have: FastAPI's 405), a key the path
            # rules refuse (422), or control characters (Starlette's path pattern treats a
            # trailing newline specially): FastAPI answers.
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        if method == "GET":
            scope["route"] = hot.routes[action]
            response = await self._read(request, hot, key)
        else:
            response = await self._write(request, hot, method, key)
            if not isinstance(response, Response):
                # FastAPI answers: a body that is not declared JSON (None: not read), or one the
                # model refuses (its bytes, replayed): FastAPI's own 422.
                replay = receive if response is None else _replay(response, receive)
                await self.app(scope, replay, send)
                return
        await response(scope, receive, send)

    async def _read(self, request: Request, hot: _Hot, key: Any) -> Response:
        state = request.app.state
        resource = hot.resource
        try:
            principal = hot.reader.check(request.headers.get("authorization"), request)
            if key != "":
                query = await hot.parse_get(request)
                return await read_one(
                    state.db,
                    resource,
                    principal,
                    key,
                    include=getattr(query, "include", None),
                    if_none_match=request.headers.get("if-none-match"),
                )
            query = await hot.parse_list(request)
            return await read_list(
                state.db, resource, principal, query, cursor_key=state.cursor_key
            )
        except Exception as exc:
            return await _handled(request, exc)

    async def _write(
        self, request: Request, hot: _Hot, method: str, key: Any
    ) -> Response | bytes | None:
        """The response; or, for FastAPI to answer, the body it refused or None (not read)."""
        action, model_name, write = _WRITES[method]
        resource, writes = hot.resource, hot.writes
        scope = request.scope
        scope["route"] = hot.routes[action]
        # The three headers a write reads, found in one pass (the first of each, as Starlette's
        # `Headers.get`): a `Headers` object and three lookups cost more than the scan.
        content_type = authorization = if_match = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = content_type or value
            elif name == b"authorization":
                authorization = authorization or value
            elif name == b"if-match":
                if_match = if_match or value
        try:
            # FastAPI's order: the body (413, a 400 when the client goes away mid-body; invalid
            # JSON is a 400 even without a token), then the token, then the fields.
            body: BaseModel | None = None
            if model_name is not None:
                if content_type is None or not is_json(content_type):
                    return None
                raw = await _read_body(request.receive)
                model: type[BaseModel] = getattr(resource, model_name)
                try:
                    body = model.model_validate_json(raw)
                except ValidationError:
                    return raw
            hot.writer.check(authorization, request)
            item = key
            match = None if if_match is None else if_match.decode("latin-1")
            async with request.app.state.db.transaction() as tx:
                if body is None:
                    return await writes.delete(tx, item, match)
                if write is None:
                    return await writes.create(request, tx, body)
                return await writes.change(tx, write, item, body, match)
        except Exception as exc:
            return await _handled(request, exc)


async def _read_body(receive: Receive) -> bytes:
    """The whole request body, as `Request.body()` reads it (an error from the body size guard
    goes on; the client going away, or any other failure, is FastAPI's 400)."""
    chunks: list[bytes] = []
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    return b"".join(chunks)
    except HTTPException:
        raise
    except Exception as exc:
        raise HTTPException(400, "There was an error parsing the body") from exc


async def _handled(request: Request, exc: Exception) -> Response:
    """The app's own handler for this error, as Starlette's exception middleware would pick it
    (the most specific class first); anything unhandled goes on up."""
    handlers = request.app.exception_handlers
    handler = next((handlers[c] for c in type(exc).__mro__ if c in handlers), None)
    if handler is None:
        raise exc
    return await handler(request, exc)


def _action(method: str, key: Any) -> str:
    """What the request does (a key of `_Hot.routes`), or "" when no route here does it."""
    if method == "GET":
        return "list" if key == "" else "get"
    if method == "POST":
        return "create" if key == "" else ""
    return "" if key == "" else _WRITES[method][0]


def _replay(body: bytes, receive: Receive) -> Receive:
    """`receive` that gives the body already read once more, then carries on."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


def _key(hot: _Hot, raw: str) -> Any:
    """The key of a by-key request ("" for the collection), or None to let FastAPI answer."""
    if not raw:
        return ""
    if not raw.isprintable():
        return None
    parts = raw.split("/")
    if len(parts) != len(hot.key):
        return None
    key: dict[str, Any] = {}
    for part, (column, parse) in zip(parts, hot.key, strict=True):
        value = parse(part) if part else None
        if value is None:
            return None
        key[column] = value
    return key


def _key_parser(info: FieldInfo) -> Callable[[str], Any]:
    """A path segment → the key value, as the route's path parameter converts it (None when
    that would refuse it)."""
    kind = info.wire.cursor_kind
    if kind == "int":
        return _int_key
    if kind == "str" and not info.is_enum:
        bound = key_length(info)
        return lambda raw: raw if len(raw) <= bound else None
    adapter: TypeAdapter[Any] = TypeAdapter(info.wire.input)

    def parse(raw: str) -> Any:
        try:
            return adapter.validate_python(raw)
        except ValidationError:
            return None

    return parse


def _int_key(raw: str) -> int | None:
    if not raw.isascii() or not raw.lstrip("-").isdigit():
        return None
    number = int(raw)
    return number if INT4_MIN <= number <= INT4_MAX else None
