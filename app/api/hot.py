"""The hottest reads, served without FastAPI's per-request machinery, for every resource.

`GET /api/v1/{segment}/{id}` and `GET /api/v1/{segment}/` are most of the traffic. Through
FastAPI a by-id read spent about 0.1 ms of CPU in routing, dependency resolution and its exit
stacks, as much as the rest of the request. `HotReads` is a pure ASGI middleware, innermost in
the stack (the request id, the access log, CORS, the body guard and Sentry still wrap it), that
answers exactly these requests of the top-level resources by calling what the FastAPI routes
call (app.api.routes), in the same order:

1. the bearer token check (the resource's read scope: 401/403, the actor for the access log);
2. the query model (422 on anything it refuses);
3. `read_one` / `read_list` (404, 304, ETag, cursors, include);

and turns the errors they raise into responses with the app's own exception handlers (so a
503 carries CORS headers as it does from the routes). It sets `scope["route"]` to the route it
stands for, as Starlette's router would (metrics label requests by it). Every other request
(other paths and methods, nested resources, a key FastAPI's path rules would refuse) goes on
to FastAPI unchanged, and the routes stay declared there: OpenAPI, /docs and the generated
TypeScript clients are unaffected. tests/api/test_hot_reads.py compares both paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.deps import BearerScope
from app.api.query import query_dependency
from app.api.routes import MAX_ID_LENGTH, hot_routes, read_list, read_one, resource_router
from app.resource import Resource
from app.schemas import INT4_MAX, INT4_MIN


@dataclass(frozen=True, slots=True)
class _Hot:
    resource: Resource
    reader: BearerScope
    list_route: APIRoute
    get_route: APIRoute
    parse_list: Any
    parse_get: Any
    int_key: bool


class HotReads:
    """Serve `GET {prefix}/{segment}/` and `GET {prefix}/{segment}/{key}`; pass on the rest."""

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
            list_route, get_route = hot_routes(routes or resource_router(resource).routes, resource)
            self.resources[resource.segment] = _Hot(
                resource=resource,
                reader=BearerScope(f"{resource.scope}:read"),
                list_route=list_route,
                get_route=get_route,
                parse_list=query_dependency(resource.list_query),
                parse_get=query_dependency(resource.get_query),
                int_key=resource.key.wire.cursor_kind == "int",
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
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
        if hot is None or key is None:
            # Not a route here, a key the path rules refuse (422), or control characters
            # (Starlette's path pattern treats a trailing newline specially): FastAPI answers.
            await self.app(scope, receive, send)
            return
        scope["route"] = hot.get_route if raw_key else hot.list_route
        request = Request(scope, receive)
        response = await self._respond(request, hot, key)
        await response(scope, receive, send)

    async def _respond(self, request: Request, hot: _Hot, key: Any) -> Response:
        state = request.app.state
        resource = hot.resource
        try:
            principal = await hot.reader(request)
            if key != "":
                query = await hot.parse_get(request)
                return await read_one(
                    state.db,
                    resource,
                    principal,
                    {resource.key.column.name: key},
                    include=getattr(query, "include", None),
                    if_none_match=request.headers.get("if-none-match"),
                )
            query = await hot.parse_list(request)
            return await read_list(
                state.db, resource, principal, query, cursor_key=state.cursor_key
            )
        except Exception as exc:
            # The app's own handler for this error, as Starlette's exception middleware would
            # pick it (the most specific class first); anything unhandled goes on up.
            handlers = request.app.exception_handlers
            handler = next((handlers[c] for c in type(exc).__mro__ if c in handlers), None)
            if handler is None:
                raise
            return await handler(request, exc)


def _key(hot: _Hot, raw: str) -> Any:
    """The key of a by-key read ("" for the list), or None to let FastAPI answer."""
    if not raw:
        return ""
    if "/" in raw or len(raw) > MAX_ID_LENGTH or not raw.isprintable():
        return None
    if not hot.int_key:
        return raw
    if not raw.isascii() or not raw.lstrip("-").isdigit():
        return None
    number = int(raw)
    return number if INT4_MIN <= number <= INT4_MAX else None
