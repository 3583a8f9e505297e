"""The responses built without Starlette's header machinery carry exactly what it would build."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from starlette.responses import Response

from app.api.routes import JSON, etag, json_response
from app.core.middleware import RequestContextMiddleware
from tests.conftest import http_scope


@pytest.mark.parametrize(
    ("status", "headers"),
    [(200, None), (201, {"Location": "/api/v1/pages/c1"}), (200, {"X-Extra": "a b", "Vary": "x"})],
)
def test_json_response_has_starlettes_headers_in_starlettes_order(
    status: int, headers: dict[str, str] | None
) -> None:
    body = {"id": "c1", "title": "Ünïcode ✓", "n": 3, "none": None}
    content = orjson.dumps(body)
    expected = Response(
        content,
        status_code=status,
        media_type=JSON,
        headers={"ETag": etag(content), **(headers or {})},
    )
    response = json_response(body, status_code=status, headers=headers)
    assert response.status_code == status
    assert response.body == content
    assert response.raw_headers == expected.raw_headers
    assert response.headers["etag"] == etag(content)  # the MutableHeaders view still works


@pytest.mark.parametrize("given", [[(b"etag", b'"t"')], ((b"etag", b'"t"'),), None])
async def test_the_request_id_is_appended_whatever_sequence_the_headers_came_in(
    given: Any,
) -> None:
    sent: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        start: dict[str, Any] = {"type": "http.response.start", "status": 200}
        if given is not None:
            start["headers"] = given
        await send(start)
        await send({"type": "http.response.body", "body": b""})

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    before = list(given or ())
    scope = http_scope("GET", "/x", [(b"x-request-id", b"given-id")])
    await RequestContextMiddleware(app)(scope, receive, send)
    assert sent[0]["headers"] == [*before, (b"x-request-id", b"given-id")]
