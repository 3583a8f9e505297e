"""The wire format: JSON keys are the Prisma field names (camelCase)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    field_validator,
)
from pydantic.alias_generators import to_camel

from app.models import PageStatus

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
MAX_METADATA_BYTES = 64 * 1024
MAX_METADATA_DEPTH = 32
INT4_MAX = 2_147_483_647
_CONTROL = re.compile(r"[\x00]")


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refuse it up front rather than fail in the driver.
    if _CONTROL.search(value):
        raise ValueError("must not contain NUL characters")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


Title = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200),
    AfterValidator(_not_blank),
    AfterValidator(_no_nul),
]
Slug = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=SLUG_PATTERN)]
Summary = Annotated[str, StringConstraints(max_length=500), AfterValidator(_no_nul)]
Body = Annotated[str, StringConstraints(max_length=200_000), AfterValidator(_no_nul)]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_no_nul)]
Tags = Annotated[list[Tag], Field(max_length=32)]
Views = Annotated[int, Field(ge=0, le=INT4_MAX)]
AuthorId = Annotated[int, Field(ge=1, le=INT4_MAX)]


def _depth(value: Any, level: int = 1) -> int:
    """Nesting depth, stopping early past the limit; refuses numbers JSON cannot carry."""
    if isinstance(value, float) and not math.isfinite(value):
        # Python's JSON parser accepts NaN/Infinity; PostgreSQL's jsonb does not.
        raise ValueError("must not contain NaN or Infinity")
    if isinstance(value, dict):
        children: list[Any] = list(value.values())  # pyright: ignore[reportUnknownArgumentType]
    elif isinstance(value, list):
        children = list(value)  # pyright: ignore[reportUnknownArgumentType]
    else:
        return level
    deepest = level
    for child in children:
        deepest = max(deepest, _depth(child, level + 1))
        if deepest > MAX_METADATA_DEPTH:
            break
    return deepest


def _check_metadata(value: dict[str, JsonValue]) -> dict[str, JsonValue]:
    if _depth(value) > MAX_METADATA_DEPTH:
        raise ValueError(f"must not nest deeper than {MAX_METADATA_DEPTH} levels")
    try:
        encoded = orjson.dumps(value)
    except TypeError as exc:
        if "64-bit" in str(exc):
            raise ValueError("must not contain integers beyond 64 bits") from None
        # orjson refuses lone surrogates ("\ud800"): PostgreSQL could not store them either.
        raise ValueError("must contain valid Unicode text only") from None
    if len(encoded) > MAX_METADATA_BYTES:
        raise ValueError(
            f"must serialise to at most {MAX_METADATA_BYTES} bytes (got {len(encoded)})"
        )
    if b"\\u0000" in encoded:
        raise ValueError("must not contain NUL characters")
    return value


Metadata = Annotated[dict[str, JsonValue], AfterValidator(_check_metadata)]


def _iso_only(value: Any) -> Any:
    # Pydantic would take a number as a Unix timestamp; the contract says ISO 8601 strings.
    if isinstance(value, int | float):
        raise ValueError("must be an ISO 8601 date-time string")
    return value


IsoDatetime = Annotated[datetime, BeforeValidator(_iso_only)]


def to_naive_utc(value: datetime) -> datetime:
    """Prisma stores `TIMESTAMP(3)` without time zone, in UTC, to the millisecond."""
    if value.tzinfo is not None:
        try:
            value = value.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:
            raise ValueError("is out of range once converted to UTC") from None
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def iso_utc(value: datetime | None) -> str | None:
    """`2026-11-22T10:00:00.000Z`, as JavaScript's `Date.toISOString()` writes it."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="milliseconds") + "Z"


def _strip_defaults(schema: dict[str, Any]) -> None:
    # openapi-typescript makes a property with a `default` required; inputs must stay optional.
    for prop in schema.get("properties", {}).values():
        if isinstance(prop, dict):
            prop.pop("default", None)  # pyright: ignore[reportUnknownMemberType]


def _title(name: str, _info: object) -> str:
    # Schema titles are the JSON names (`publishedAt`), not pydantic's `Publishedat`.
    return to_camel(name)


class InputModel(BaseModel):
    """Request bodies: camelCase keys, unknown keys refused."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        field_title_generator=_title,
        # Only the Prisma names (`authorId`): `author_id` is an unknown field, not a synonym.
        validate_by_alias=True,
        validate_by_name=False,
        extra="forbid",
        json_schema_extra=_strip_defaults,
    )


class OutputModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, field_title_generator=_title
    )


class PageFields(InputModel):
    """Fields a client may write. Omitted optional fields take Prisma's defaults."""

    title: Title
    slug: Slug | None = Field(
        default=None, description="Derived from the title (and made unique) when absent"
    )
    summary: Summary | None = None
    body: Body | None = None
    published: bool | None = Field(default=None, description="Default `false`")
    status: PageStatus | None = Field(default=None, description="Default `DRAFT`")
    tags: Tags | None = Field(default=None, description="Default `[]`")
    views: Views | None = Field(default=None, description="Default `0`")
    metadata: Metadata | None = Field(
        default=None, description="A JSON object (at most 64 KiB serialised)"
    )
    published_at: IsoDatetime | None = Field(
        default=None, description="ISO 8601; without an offset it is taken as UTC"
    )
    author_id: AuthorId | None = None

    @field_validator("published_at")
    @classmethod
    def _naive_utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else to_naive_utc(value)


class PageCreate(PageFields):
    """Body of `POST /pages/`: only `title` is required."""


class PageReplace(PageFields):
    """Body of `PUT /pages/{id}`: the whole page; omitted fields are reset to their defaults."""


def _non_nullable_in_schema(schema: dict[str, Any]) -> None:
    _strip_defaults(schema)
    properties: dict[str, dict[str, Any]] = schema.get("properties", {})
    for name in PATCH_NON_NULLABLE:
        prop = properties.get(name, {})
        options: list[Any] = prop.pop("anyOf", [])
        non_null = [option for option in options if option != {"type": "null"}]
        if non_null:
            prop.update(non_null[0])


PATCH_NON_NULLABLE = frozenset({"title", "slug", "published", "status", "views"})


class PageUpdate(InputModel):
    """Body of `PATCH /pages/{id}`: only the fields sent change; `null` clears a nullable one."""

    model_config = ConfigDict(json_schema_extra=_non_nullable_in_schema)

    # `None` here means "not sent": these are not nullable (see `_not_null` and the schema).
    title: Title | None = None
    slug: Slug | None = None
    summary: Summary | None = None
    body: Body | None = None
    published: bool | None = None
    status: PageStatus | None = None
    tags: Tags | None = Field(default=None, description="`null` empties the list")
    views: Views | None = None
    metadata: Metadata | None = None
    published_at: IsoDatetime | None = None
    author_id: AuthorId | None = None

    @field_validator("published_at")
    @classmethod
    def _naive_utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else to_naive_utc(value)

    @field_validator("title", "slug", "published", "status", "views", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null (omit the field to leave it unchanged)")
        return value


class PagePublic(OutputModel):
    """A page as the API returns it: the fields of Prisma's `Page` type."""

    id: str = Field(examples=["cm3x1k2p40000abcd1234efgh"])
    title: str
    slug: str
    summary: str | None
    body: str | None
    published: bool
    status: PageStatus
    tags: list[str]
    views: int
    metadata: JsonValue = Field(description="Any JSON value Prisma stored; null when unset")
    created_at: datetime = Field(description="ISO 8601 UTC (`Z`)")
    updated_at: datetime = Field(description="ISO 8601 UTC (`Z`)")
    published_at: datetime | None = Field(description="ISO 8601 UTC (`Z`)")
    author_id: int | None


class PageList(OutputModel):
    """One page of results."""

    data: list[PagePublic]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page"
    )
    count: int | None = Field(description="Total matching rows, with `count=true`; else null")


def page_dict(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A page row as its JSON object (what `PagePublic` documents), without a validation pass."""
    status = row["status"]
    return {
        "id": row["id"],
        "title": row["title"],
        "slug": row["slug"],
        "summary": row["summary"],
        "body": row["body"],
        "published": row["published"],
        "status": status.value if isinstance(status, PageStatus) else status,
        "tags": row["tags"] or [],
        "views": row["views"],
        "metadata": row["metadata"],
        "createdAt": iso_utc(row["createdAt"]),
        "updatedAt": iso_utc(row["updatedAt"]),
        "publishedAt": iso_utc(row["publishedAt"]),
        "authorId": row["authorId"],
    }
