"""Helpers of the metrics tests: scrape, parse with prometheus-client's own parser, compare."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from app.core.config import Settings
from app.core.security import create_token

METRICS = "/metrics"
# A resource of the machinery fixture (the `app` and `client` fixtures serve it).
ARTICLES = "/api/v1/articles/"
PROBLEM = "application/problem+json"
METRICS_TOKEN = "metrics-token-for-the-tests-0123456789"

Labels = tuple[tuple[str, str], ...]


def bearer(settings: Settings, *scopes: str) -> dict[str, str]:
    """An Authorization header with a valid JWT for these settings."""
    token = create_token(settings, subject="metrics-tests", scopes=list(scopes))
    return {"Authorization": f"Bearer {token}"}


class Scrape:
    """One /metrics answer, parsed by prometheus-client's parser."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.samples: dict[str, dict[Labels, float]] = {}
        self.types: dict[str, str] = {}
        for family in text_string_to_metric_families(text):
            self.types[family.name] = family.type
            for sample in family.samples:
                labels = tuple(sorted(sample.labels.items()))
                self.samples.setdefault(sample.name, {})[labels] = sample.value

    def series(self, name: str) -> dict[Labels, float]:
        return self.samples.get(name, {})

    def value(self, name: str, **labels: str) -> float:
        """The sample with exactly these labels (0 when absent: a series not yet created)."""
        return self.series(name).get(tuple(sorted(labels.items())), 0.0)

    def requests(self) -> Counter[tuple[str, str, str]]:
        """http_requests_total by (method, route, status)."""
        counts: Counter[tuple[str, str, str]] = Counter()
        for labels, value in self.series("http_requests_total").items():
            named = dict(labels)
            counts[(named["method"], named["route"], named["status"])] = int(value)
        return counts

    def durations(self) -> Counter[tuple[str, str]]:
        """http_request_duration_seconds_count by (method, route)."""
        counts: Counter[tuple[str, str]] = Counter()
        for labels, value in self.series("http_request_duration_seconds_count").items():
            named = dict(labels)
            counts[(named["method"], named["route"])] = int(value)
        return counts

    def label_values(self) -> set[str]:
        """Every label value of every http_* series."""
        return {
            value
            for name, series in self.samples.items()
            if name.startswith("http_")
            for labels in series
            for key, value in labels
            if key != "le"
        }


async def scrape(client: httpx.AsyncClient, headers: dict[str, str] | None = None) -> Scrape:
    response = await client.get(METRICS, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain"), response.headers
    return Scrape(response.text)


def grown(after: Counter[Any], before: Counter[Any]) -> dict[Any, int]:
    """What each key gained between two scrapes (keys that did not change left out)."""
    return {key: after[key] - before[key] for key in after if after[key] != before[key]}
