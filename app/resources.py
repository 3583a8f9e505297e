"""The v1 resources: one declaration per Prisma model (see app/resource.py for the fields).

Adding a model: `make orm`, then a declaration here and its name in `V1` (README: "Adding a
model"). Field names are Prisma's; what a declaration leaves out gets the column type's
defaults (bounds, wire types, `Default` descriptions).
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from functools import cache
from typing import Any, cast

from sqlalchemy import Column, String, Table, bindparam, func, inspect, select

from app.core.db import Tx
from app.crud import any_of
from app.models import Page, PageRevision, Tag, User
from app.resource import Hooks, Link, Resource, equals, has, register, search
from app.schemas import (
    Body,
    ForeignId,
    JsonObject,
    Slug,
    Summary,
    Tags,
    Title,
    Views,
    name_type,
)
from app.view_tables import PublishedPage

# ------------------------------------------------------------------------------ page hooks

_SLUG_MAX = 200
_SLUG_PROBES = 100  # base, base-2 … base-101 are looked up by index in one query
_PAGE = cast("Table", inspect(Page).local_table)
_SLUG: Column[str] = _PAGE.c.slug
_ID: Column[str] = _PAGE.c.id


_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(title: str) -> str:
    """`Hello, World!` → `hello-world` (ASCII, lowercase, dashes); `page` if nothing is left."""
    # NFKD leaves ASCII text as it is: only other text is decomposed and its accents dropped.
    ascii_title = (
        title
        if title.isascii()
        else unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    )
    slug = _NOT_SLUG.sub("-", ascii_title.lower()).strip("-")
    slug = slug[: _SLUG_MAX - 8].rstrip("-")  # room for a "-N" suffix
    return slug or "page"


@cache
def _taken_slugs(dialect: str, *, excluding: bool) -> Any:
    # Point lookups on the unique index (a LIKE 'base-%' prefix scan cannot use it under a
    # non-C collation and reads every slug).
    query: Any = select(_SLUG).where(any_of(_SLUG, dialect, "slugs"))
    return query.where(_ID != bindparam("exclude_id")) if excluding else query


_TAKE_TURNS = select(func.pg_advisory_xact_lock(func.hashtext(bindparam("lock", type_=String))))


async def _free_slug(db: Tx, base: str, *, exclude_id: str | None) -> str:
    """`base`, or `base-2`, `base-3`, … — the first not taken by another page."""
    candidates = [base, *(f"{base}-{n}" for n in range(2, 2 + _SLUG_PROBES))]
    params: dict[str, Any] = {"slugs": candidates}
    if exclude_id is not None:
        params["exclude_id"] = exclude_id
    rows = await db.fetch(_taken_slugs(db.dialect, excluding=exclude_id is not None), params)
    taken = {row["slug"] for row in rows}
    free = next((slug for slug in candidates if slug not in taken), None)
    return free or f"{base}-{secrets.token_hex(4)}"


async def _derive_slug(_db: Tx, values: dict[str, Any]) -> None:
    # The common case first: the slug derived from the title is free (one INSERT).
    if values.get("slug") is None:
        values["slug"] = slugify(values["title"])


async def _next_free_slug(db: Tx, values: dict[str, Any], field: str, sent: frozenset[str]) -> bool:
    if field != "slug" or "slug" in sent:
        return False  # a slug the client chose is theirs to change: 409
    base = slugify(values["title"])
    if db.dialect == "postgresql":
        # Creators deriving the same slug take turns until they commit, so each one sees the
        # slugs the others took (otherwise N concurrent "Untitled" pages race for one suffix).
        await db.fetch(_TAKE_TURNS, {"lock": f"Page.slug:{base}"})
    values["slug"] = await _free_slug(db, base, exclude_id=None)
    return True


async def _replace_slug(db: Tx, values: dict[str, Any], current: Any) -> None:
    if values.get("slug") is None:
        values["slug"] = await _free_slug(db, slugify(values["title"]), exclude_id=current["id"])


# ------------------------------------------------------------------------------ resources

# fmt: off
PAGES = Resource(
    model=Page,
    segment="pages",
    writable=("title", "slug", "summary", "body", "published", "status", "tags", "views",
              "metadata", "publishedAt", "authorId"),
    orderings=("createdAt", "updatedAt", "publishedAt", "title", "views"),
    default_order="-createdAt",
    filters={"status": equals(), "published": equals(), "authorId": equals(),
             "tag": has("tags"), "slug": equals(), "q": search("title", "summary")},
    includes=("author", "tagItems", "revisions"),
    types={"title": Title, "slug": Slug, "summary": Summary, "body": Body, "tags": Tags,
           "views": Views, "authorId": ForeignId, "metadata": JsonObject},
    descriptions={
        "slug": "Derived from the title (and made unique) when absent",
        "metadata": "A JSON object (at most 64 KiB serialised)",
        "publishedAt": "ISO 8601; without an offset it is taken as UTC",
    },
    derived=("slug",),
    hooks=Hooks(before_create=_derive_slug, retry_conflict=_next_free_slug,
                before_replace=_replace_slug),
)
# fmt: on

TAGS = Resource(
    model=Tag,
    segment="tags",
    writable=("name",),
    orderings=("id", "name"),
    filters={"name": equals()},
    includes=("pages",),
    types={"name": name_type(max_length=64)},
)

USERS = Resource(
    model=User,
    segment="users",
    orderings=("id", "email", "createdAt"),
    filters={"role": equals(), "email": equals()},
    includes=("pages",),
)

PUBLISHED_PAGES = Resource(
    model=PublishedPage,
    segment="published-pages",
    orderings=("publishedAt", "updatedAt", "title"),
    default_order="-publishedAt",
    filters={"authorId": equals(), "slug": equals()},
)

PAGE_REVISIONS = Resource(
    model=PageRevision,
    segment="revisions",
    parent="page",
    writable=("revision", "externalId", "price", "byteSize", "effectiveOn"),
    orderings=("revision", "effectiveOn"),
)

V1: tuple[Resource, ...] = register(PAGES, TAGS, USERS, PUBLISHED_PAGES, PAGE_REVISIONS)
LINKS: tuple[Link, ...] = (Link(owner=PAGES, relation="tagItems", segment="tag-items"),)
PageOrder = PAGES.order
