"""http_requests_total and http_request_duration_seconds count what was asked, by route template
(SQLite and, with TEST_DATABASE_URL, PostgreSQL), and no caller can add label values."""

from __future__ import annotations

import asyncio
import random
import string
from collections import Counter
from typing import Any

import httpx
from fastapi import FastAPI

from app.api.routes import MAX_ID_LENGTH
from app.main import create_app
from tests.conftest import app_client, http_scope, make_settings
from tests.machinery.fixture.resources import LINKS, RESOURCES
from tests.metrics.support import METRICS, bearer, grown, scrape

# Any resource of the machinery fixture will do (the `app` and `client` fixtures serve it).
ACCOUNTS = "/api/v1/accounts/"
BY_ID = "/api/v1/accounts/{id}"


async def test_counts_and_labels_match_the_requests_made(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    settings = app.state.settings
    reader = bearer(settings, "accounts:read")
    writer = bearer(settings, "accounts:read", "accounts:write")
    before = await scrape(client)

    created = await client.post(ACCOUNTS, json={"email": "counted@metrics.test"}, headers=writer)
    assert created.status_code == 201, created.text
    account_id = created.json()["id"]
    statuses: list[tuple[str, str, int]] = [("POST", ACCOUNTS, 201)]

    async def call(method: str, url: str, expected: int, route: str, **kwargs: Any) -> None:
        response = await client.request(method, url, **kwargs)
        assert response.status_code == expected, (method, url, response.text)
        statuses.append((method, route, expected))

    for _ in range(3):
        await call("GET", ACCOUNTS, 200, ACCOUNTS, headers=reader)
    for _ in range(2):
        await call("GET", f"{ACCOUNTS}{account_id}", 200, BY_ID, headers=reader)
    await call("GET", f"{ACCOUNTS}no-such-account", 404, BY_ID, headers=reader)
    await call("GET", f"{ACCOUNTS}another-missing-one", 404, BY_ID, headers=reader)
    await call("PATCH", f"{ACCOUNTS}{account_id}", 200, BY_ID, json={"name": "x"}, headers=writer)
    await call("GET", ACCOUNTS, 401, ACCOUNTS)
    await call("GET", f"{ACCOUNTS}?limit=0", 422, ACCOUNTS, headers=reader)
    await call("DELETE", ACCOUNTS, 405, ACCOUNTS, headers=writer)
    await call("GET", "/api/v1/utils/health-check", 200, "/api/v1/utils/health-check")
    await call("GET", "/no/such/route", 404, "unmatched")
    # The body guard answers before any routing: no template is known yet.
    await call(
        "POST",
        ACCOUNTS,
        415,
        "unmatched",
        content=b"email=x",
        headers={"Content-Type": "text/plain"},
    )
    await call(
        "POST",
        ACCOUNTS,
        413,
        "unmatched",
        content=b"{}" + b" " * 2_000_000,
        headers={**writer, "Content-Type": "application/json"},
    )
    await call("DELETE", f"{ACCOUNTS}{account_id}", 204, BY_ID, headers=writer)

    after = await scrape(client)
    expected = Counter((method, route, str(status)) for method, route, status in statuses)
    gained = grown(after.requests(), before.requests())
    gained.pop(("GET", METRICS, "200"), None)  # the first scrape, counted once it answered
    assert gained == dict(expected)

    durations = Counter((method, route) for method, route, _ in statuses)
    gained_durations = grown(after.durations(), before.durations())
    gained_durations.pop(("GET", METRICS), None)
    assert gained_durations == dict(durations)
    # Every label value is a template, a method or a status: never an id from a path.
    assert account_id not in after.text
    assert "no-such-account" not in after.text
    assert after.types["http_requests"] == "counter"
    assert after.types["http_request_duration_seconds"] == "histogram"


async def test_sums_and_buckets_of_the_duration_histogram_are_consistent(
    client: httpx.AsyncClient,
) -> None:
    for _ in range(5):
        assert (await client.get("/api/v1/utils/health-check")).status_code == 200
    result = await scrape(client)
    labels = {"method": "GET", "route": "/api/v1/utils/health-check"}
    count = result.value("http_request_duration_seconds_count", **labels)
    total = result.value("http_request_duration_seconds_sum", **labels)
    buckets = {
        float(dict(key)["le"]): value
        for key, value in result.series("http_request_duration_seconds_bucket").items()
        if {k: v for k, v in key if k != "le"} == labels
    }
    assert count >= 5
    assert buckets[float("inf")] == count
    assert list(buckets.values()) == sorted(buckets.values())  # cumulative
    assert 0 < total < count * 5.0  # seconds, not milliseconds


async def test_fast_reads_and_fastapi_answers_share_one_route_label(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    reader = bearer(app.state.settings, "accounts:read")
    before = await scrape(client)
    # HotPath answers this one; an id over the length limit goes on to FastAPI (422).
    assert (await client.get(f"{ACCOUNTS}abc", headers=reader)).status_code == 404
    too_long = await client.get(f"{ACCOUNTS}{'x' * (MAX_ID_LENGTH + 1)}", headers=reader)
    assert too_long.status_code == 422, too_long.text
    after = await scrape(client)

    gained = grown(after.requests(), before.requests())
    gained.pop(("GET", METRICS, "200"), None)
    assert gained == {("GET", BY_ID, "404"): 1, ("GET", BY_ID, "422"): 1}


async def test_a_scrape_is_counted_once_it_has_answered(client: httpx.AsyncClient) -> None:
    first = await scrape(client)
    second = await scrape(client)
    third = await scrape(client)
    counts = [
        s.value("http_requests_total", method="GET", route=METRICS, status="200")
        for s in (first, second, third)
    ]
    assert counts[1] == counts[0] + 1
    assert counts[2] == counts[1] + 1


async def _asgi_get(application: FastAPI, method: str, path: str) -> int:
    """One request straight through the ASGI interface (10,000 of them in a few seconds)."""
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = http_scope(method, path)
    async with asyncio.timeout(10):
        await application(scope, receive, send)  # pyright: ignore[reportArgumentType]
    return status


async def test_ten_thousand_random_paths_add_no_label_values() -> None:
    application = create_app(make_settings(LOG_LEVEL="WARNING"), resources=RESOURCES, links=LINKS)
    rng = random.Random(13)
    alphabet = string.ascii_letters + string.digits + "-_.~%"

    def word() -> str:
        return "".join(rng.choices(alphabet, k=rng.randint(1, 24)))

    shapes = [
        lambda: f"/{word()}",
        lambda: f"/{word()}/{word()}",
        lambda: f"/api/v1/{word()}",
        lambda: f"/api/v1/{word()}/{word()}/{word()}",
        lambda: f"/api/v1/accounts/{word()}/{word()}",
    ]
    methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
    async with await app_client(application) as client:
        before = await scrape(client)
        sent: set[str] = set()
        statuses: Counter[int] = Counter()
        while len(sent) < 10_000:  # bounded: 10,000 distinct paths
            path = rng.choice(shapes)()
            if path in sent:
                continue
            sent.add(path)
            method = rng.choice(methods) if rng.random() < 0.9 else f"X{word().upper()}"
            statuses[await _asgi_get(application, method, path)] += 1
        after = await scrape(client)

    assert set(statuses) <= {401, 404, 405}, statuses
    new_series = set(after.requests()) - set(before.requests())
    new_values = {value for series in new_series for value in series}
    # Everything those paths could add: methods, "other", "unmatched" and a handful of statuses.
    assert new_values <= {*methods, "other", "unmatched", METRICS, "200", "401", "404", "405"}, (
        new_values
    )
    assert len(after.requests()) <= len(before.requests()) + len(methods) * 3 + 3
    gained = grown(after.requests(), before.requests())
    gained.pop(("GET", METRICS, "200"), None)
    assert sum(gained.values()) == 10_000
    # No word of a path became a label value (short words could be a status or a method).
    words = {part for path in sent for part in path.split("/") if len(part) >= 6}
    assert not words & after.label_values()
    assert len(after.text) < 200_000
