"""The two hottest reads, served without FastAPI's per-request machinery.

`GET /api/v1/pages/{id}` and `GET /api/v1/pages/` are most of the traffic. Through FastAPI a
by-id read spent about 0.1 ms of CPU in routing, dependency resolution and its exit stacks, as
much as the rest of the request. `HotReads` is a pure ASGI middleware, innermost in the stack
(the request id, the access log, CORS, the body guard and Sentry still wrap it), that answers
exactly these two requests by calling what the FastAPI routes call, in the same order:

1. the bearer token check (`require_reader`: 401/403, the actor for the access log);
2. the query model (`parse_list_query`: 422 on anything it refuses);
3. `read_page` / `read_pages` (404, 304, ETag, cursors);

and turns the errors they raise into responses with the app's own exception handlers (so a
503 carries CORS headers as it does from the routes). Every
other request (other paths and methods, an id FastAPI's path rules would refuse) goes on to
FastAPI unchanged, and the routes stay declared there: OpenAPI, /docs and the generated
TypeScript clients are unaffected. tests/api/test_hot_reads.py compares both paths response by
response.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.deps import require_reader
from app.api.v1.pages import MAX_ID_LENGTH, parse_list_query, read_page, read_pages


class HotReads:
    """Serve `GET {prefix}/` and `GET {prefix}/{id}`; pass everything else to `app`."""

    def __init__(self, app: ASGIApp, *, prefix: str) -> None:
        self.app = app
        self.list_path = prefix.rstrip("/") + "/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        root_path: str = scope.get("root_path", "")
        if root_path and path.startswith(root_path):
            path = path[len(root_path) :]
        if not path.startswith(self.list_path):
            await self.app(scope, receive, send)
            return
        page_id = path[len(self.list_path) :]
        if page_id and (
            "/" in page_id or len(page_id) > MAX_ID_LENGTH or not page_id.isprintable()
        ):
            # Not a route here, an id the path rules refuse (422), or control characters
            # (Starlette's path pattern treats a trailing newline specially): FastAPI answers.
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        response = await self._respond(request, page_id)
        await response(scope, receive, send)

    async def _respond(self, request: Request, page_id: str) -> Response:
        state = request.app.state
        try:
            await require_reader(request)
            if page_id:
                if_none_match = request.headers.get("if-none-match")
                return await read_page(state.db, page_id, if_none_match=if_none_match)
            query = await parse_list_query(request)
            return await read_pages(state.db, query, cursor_key=state.cursor_key)
        except Exception as exc:
            # The app's own handler for this error, as Starlette's exception middleware would
            # pick it (the most specific class first); anything unhandled goes on up.
            handlers = request.app.exception_handlers
            handler = next((handlers[c] for c in type(exc).__mro__ if c in handlers), None)
            if handler is None:
                raise
            return await handler(request, exc)
