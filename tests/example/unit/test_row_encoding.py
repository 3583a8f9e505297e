"""Rows to JSON: dates exactly as `Date.toISOString()`, every field in order, any column name."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from enum import Enum

from app.resources import V1
from app.schemas import iso_date, iso_utc, row_encoder


def _js(value: datetime) -> str:
    """What `new Date(…).toISOString()` writes for this instant (milliseconds, truncated)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="milliseconds") + "Z"


def test_dates_match_javascript_across_the_whole_range() -> None:
    rng = random.Random(14)
    span = (datetime(9999, 12, 31) - datetime(1, 1, 1)) // timedelta(microseconds=1)
    for _ in range(50_000):
        value = datetime(1, 1, 1) + timedelta(microseconds=rng.randrange(span))
        assert iso_utc(value) == _js(value)
        if datetime(2, 1, 1) < value < datetime(9998, 1, 1):
            zone = timezone(timedelta(minutes=rng.randrange(-14 * 60, 14 * 60 + 1)))
            assert iso_utc(value.replace(tzinfo=zone)) == _js(value.replace(tzinfo=zone))
    edges = [
        datetime(1, 1, 1),
        datetime(999, 12, 31, 23, 59, 59, 999_999),
        datetime(2026, 3, 29, 1, 0, 0, 999),  # under a millisecond: .000, not rounded up
        datetime(2026, 12, 3, 0, 0, 0, 1_000),
        datetime(9999, 12, 31, 23, 59, 59, 999_999),
    ]
    for value in edges:
        assert iso_utc(value) == _js(value)
    assert iso_utc(datetime(2026, 12, 3, 10, 0, tzinfo=timezone(timedelta(hours=2)))) == (
        "2026-12-03T08:00:00.000Z"
    )
    assert iso_utc(None) is None


def test_more_days_than_are_kept_still_format_right() -> None:
    start = datetime(2000, 1, 1, 12, 30, 45, 678_000)
    for day in range(70_000):  # past the 65,536 days kept
        value = start + timedelta(days=day)
        assert iso_utc(value) == _js(value)


_PAGES = next(resource for resource in V1 if resource.segment == "pages")


class Status(Enum):
    DRAFT = "DRAFT"


def test_a_row_encoder_keeps_the_order_encodes_each_field_and_quotes_any_name() -> None:
    odd = 'we"ird\\ name\n{x}'
    encode = row_encoder(
        [
            ("id", "id", None),
            (odd, "col'umn", None),
            ("status", "status", _PAGES.fields["status"].wire.to_json),  # the enum encoder
            ("createdAt", "createdAt", iso_utc),
            ("day", "day", iso_date),
            ("tags", "tags", _PAGES.fields["tags"].wire.to_json),  # a text[]: items as they are
        ]
    )
    row = {
        "id": 7,
        "col'umn": "kept",
        "status": Status.DRAFT,
        "createdAt": datetime(2026, 12, 3, 17, 5, 1, 234_567),
        "day": None,
        "tags": ("a", "b"),
    }
    assert list(encode(row).items()) == [
        ("id", 7),
        (odd, "kept"),
        ("status", "DRAFT"),
        ("createdAt", "2026-12-03T17:05:01.234Z"),
        ("day", None),
        ("tags", ["a", "b"]),
    ]
    assert encode({**row, "status": "REVIEW", "createdAt": None})["status"] == "REVIEW"
    assert encode({**row, "createdAt": None})["createdAt"] is None
    assert encode({**row, "tags": None})["tags"] == []
