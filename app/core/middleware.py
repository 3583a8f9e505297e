"""Pure ASGI middleware: request id, access log, body size limit."""

from __future__ import annotations

import itertools
import os
import re
import time
from collections.abc import Callable
from typing import Any, cast

import sentry_sdk
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import problem_response, unhandled_error
from app.core.logging import access_log, request_id_var

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestContextMiddleware:
    """Accept or make a request id, echo it, and write one access line per request."""

    def __init__(
        self, app: ASGIApp, *, on_response: Callable[[Scope, int, float], None] | None = None
    ) -> None:
        self.app = app
        # Metrics (app.core.metrics), when on: each answered request's scope, final status and
        # seconds, measured here so that the outermost layer adds no layer of its own.
        self.on_response = on_response

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or _new_request_id()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        token = request_id_var.set(request_id)
        sentry_sdk.get_isolation_scope().set_tag("request_id", request_id)
        started = time.perf_counter()
        status = 0
        id_header = (b"x-request-id", request_id.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                given: Any = message.get("headers")
                if type(given) is list:
                    headers = cast("list[tuple[bytes, bytes]]", given)
                else:  # a tuple or none: as MutableHeaders would
                    headers = message["headers"] = list[tuple[bytes, bytes]](given or ())
                headers.append(id_header)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if status:
                raise
            # Answered here rather than by Starlette's outermost handler so that even a 500
            # carries the request id header and gets its access line.
            response = await unhandled_error(Request(scope), exc)
            await response(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            duration_ms = round(elapsed * 1000, 2)
            access_log.add(
                (
                    request_id,
                    scope["method"],
                    scope["path"],
                    status,
                    duration_ms,
                    state.get("actor"),
                )
            )
            request_id_var.reset(token)
            if status and self.on_response is not None:
                self.on_response(scope, status, elapsed)


# Request ids are correlation ids, not secrets: a random prefix per process and a counter make
# them unique across workers and restarts for the price of a string format (32 hex digits).
_id_prefix = os.urandom(8).hex()
_id_counter = itertools.count(1)


def _new_request_id() -> str:
    return f"{_id_prefix}{next(_id_counter):016x}"


def _new_id_prefix() -> None:
    # A worker forked after import (gunicorn --preload) must not repeat its parent's ids.
    global _id_prefix, _id_counter
    _id_prefix = os.urandom(8).hex()
    _id_counter = itertools.count(1)


os.register_at_fork(after_in_child=_new_id_prefix)


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _REQUEST_ID.match(text) else None
    return None


_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def is_json(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (
        media.startswith(b"application/") and media.endswith(b"+json")
    )


class BodySizeLimitMiddleware:
    """Guard request bodies before anything reads them.

    413 for bodies over the limit (from Content-Length, or while streaming), 415 for a body
    that is not JSON: every route that takes a body takes JSON.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        content_type = b""
        has_body = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or int(value) > self.max_bytes:
                    await self._reject(scope, receive, send)
                    return
                has_body = value != b"0"
            elif name == b"transfer-encoding":
                has_body = True
            elif name == b"content-type":
                content_type = value
        if has_body and scope["method"] in _BODY_METHODS and not is_json(content_type):
            response = problem_response(
                Request(scope),
                status=415,
                detail="Send the body as JSON (Content-Type: application/json).",
                headers={"Accept": "application/json"},
            )
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # FastAPI re-raises HTTPException from body reading; the handler answers 413.
                    raise HTTPException(413, detail=self._detail)
            return message

        await self.app(scope, limited_receive, send)

    @property
    def _detail(self) -> str:
        return f"The request body is larger than {self.max_bytes} bytes."

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            Request(scope),
            status=413,
            detail=self._detail,
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)
