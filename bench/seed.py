"""A scratch PostgreSQL database built from prisma/migrations and filled fast with COPY.

1,000 users and 100,000 pages that look like real ones: titles and slugs, 1-2 KB bodies, a
summary on most, 0-5 `tags` (the text array), a small JSON `metadata`, statuses mixed,
`createdAt` spread over two years, cuid ids made by the same function app-api uses
(`app.prisma_defaults.cuid`); 1,000 `Tag` rows and 3 distinct tags per page in the implicit
many-to-many table `"_PageToTag"` (`"A"` = page id, `"B"` = tag id, as Prisma names them).
The rows are generated from a fixed seed, streamed with `COPY … FREEZE` (frozen and
all-visible, like a table that has been vacuumed), then the tables are ANALYZEd.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg

from app.prisma_defaults import cuid
from tools.migrate import apply_migrations, create_scratch_database, to_conninfo

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "prisma" / "migrations"
DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

# A word list reads best as one string; ruff would rather have a list literal.
WORDS = (  # noqa: SIM905
    "page content editor publish draft review layout section component render cache query "
    "index latency request response server client schema migration prisma next react route "
    "token session deploy release build bundle image asset font theme color grid table form "
    "field input button modal search filter sort order cursor offset limit count author user "
    "team project workspace billing invoice payment plan trial feature flag metric chart log "
    "error warning retry timeout queue worker job event webhook email notify digest summary"
).split()
TAGS = (  # noqa: SIM905
    "news guide howto release changelog api frontend backend design ux performance security "
    "database postgres nextjs react python devops testing ci docs tutorial product marketing "
    "sales support billing mobile web infra observability accessibility i18n seo video "
    "podcast case-study opinion announcement"
).split()
STATUSES = ("PUBLISHED", "DRAFT", "REVIEW", "ARCHIVED", "SCHEDULED")
STATUS_WEIGHTS = (55, 20, 10, 10, 5)
ROLES = ("USER", "EDITOR", "ADMIN")
TWO_YEARS = 730 * 86_400

PAGE_COLUMNS = (
    "id",
    "title",
    "slug",
    "summary",
    "body",
    "published",
    "status",
    "tags",
    "views",
    "metadata",
    "createdAt",
    "updatedAt",
    "publishedAt",
    "authorId",
)


def server_url() -> str:
    """The server to create the scratch database on (its own database name is ignored)."""
    return (
        os.environ.get("BENCH_DATABASE_URL")
        or os.environ.get("TEST_DATABASE_URL")
        or DEFAULT_SERVER_URL
    )


def create_database(server: str) -> str:
    """A new, empty database on `server`; its URL (migrate it with `migrate`)."""
    return create_scratch_database(server, "app_api_bench")


def migrate(url: str) -> None:
    """Apply prisma/migrations, as `prisma migrate deploy` would."""
    apply_migrations(url, MIGRATIONS)


def _ms(value: datetime) -> datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _sentence(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(6, 16))
    return " ".join(words).capitalize() + "."


def _users(rng: random.Random, count: int, now: datetime) -> Iterator[tuple[Any, ...]]:
    for user_id in range(1, count + 1):
        created = _ms(now - timedelta(seconds=TWO_YEARS + rng.uniform(0, 86_400 * 90)))
        role = rng.choices(ROLES, weights=(85, 12, 3))[0]
        name = f"{rng.choice(WORDS).capitalize()} {rng.choice(WORDS).capitalize()}"
        yield (user_id, f"user{user_id}@example.com", name, role, created)


def _pages(rng: random.Random, count: int, users: int, now: datetime) -> Iterator[tuple[Any, ...]]:
    sentences = [_sentence(rng) for _ in range(2_000)]
    for number in range(count):
        title_words = rng.choices(WORDS, k=rng.randint(3, 8))
        title = " ".join(title_words).capitalize()
        slug = "-".join(title_words) + f"-{number}"
        body = " ".join(rng.choices(sentences, k=32))[: rng.randint(1_000, 2_000)]
        summary = rng.choice(sentences) if rng.random() < 0.8 else None
        status = rng.choices(STATUSES, weights=STATUS_WEIGHTS)[0]
        created = _ms(now - timedelta(seconds=rng.uniform(0, TWO_YEARS)))
        age = (now - created).total_seconds()
        updated = _ms(created + timedelta(seconds=rng.uniform(0, min(age, 30 * 86_400))))
        published_at = None
        if status == "PUBLISHED":
            published_at = _ms(created + timedelta(seconds=rng.uniform(0, min(age, 86_400))))
        elif status == "SCHEDULED":
            published_at = _ms(now + timedelta(seconds=rng.uniform(3_600, 30 * 86_400)))
        metadata = orjson.dumps(
            {
                "readingMinutes": max(1, len(body) // 1_200),
                "lang": rng.choice(("en", "en", "en", "fr", "de", "es")),
                "seo": {"noindex": rng.random() < 0.05, "priority": round(rng.random(), 2)},
                "source": rng.choice(("editor", "import", "api")),
            }
        ).decode()
        yield (
            cuid(),
            title,
            slug,
            summary,
            body,
            status == "PUBLISHED",
            status,
            rng.sample(TAGS, k=rng.randint(0, 5)),
            min(int(rng.paretovariate(1.1) * 10) - 10, 2_000_000),
            metadata,
            created,
            updated,
            published_at,
            rng.randint(1, users) if rng.random() < 0.95 else None,
        )


def _tag_names(count: int) -> Iterator[str]:
    """`news`, `guide`, … then `news-2`, `guide-2`, …: unique, like a real tag list."""
    for number in range(count):
        round_, index = divmod(number, len(TAGS))
        yield TAGS[index] if round_ == 0 else f"{TAGS[index]}-{round_ + 1}"


def _skip_foreign_key_checks(conn: psycopg.Connection[Any]) -> None:
    """The generated rows are consistent: skip the per-row foreign key checks of COPY (about
    400,000 index lookups for the pages' authors and the tag links) for the rest of the load
    transaction. Needs a superuser, as the default local server has; without one the checks
    stay on and seeding takes a few seconds longer."""
    try:
        with conn.transaction():  # a savepoint: a refusal leaves the load transaction usable
            conn.execute("SET LOCAL session_replication_role = replica")
    except psycopg.errors.InsufficientPrivilege:
        pass


def _links(rng: random.Random, page_ids: list[str], tags: int, per_page: int) -> bytes:
    """COPY text for `"_PageToTag"`: `per_page` distinct tags a page, evenly spread from a random
    first one (a tag is on about pages * per_page / tags pages). Built as one buffer: 300,000
    rows through `write_row` would cost seconds."""
    per_page = min(per_page, tags)
    if per_page <= 0:
        return b""
    step = tags // per_page
    lines = [
        f"{page_id}\t{(first + k * step) % tags + 1}\n"
        for page_id in page_ids
        for first in (rng.randrange(tags),)
        for k in range(per_page)
    ]
    return "".join(lines).encode()


def seed(
    url: str,
    *,
    users: int = 1_000,
    pages: int = 100_000,
    tags: int = 1_000,
    tags_per_page: int = 3,
    seed: int = 8,
) -> list[str]:
    """Fill the (migrated, empty) database at `url`; return the page ids (tag ids are 1..tags)."""
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(tzinfo=None)
    page_ids: list[str] = []
    columns = ", ".join(f'"{name}"' for name in PAGE_COLUMNS)
    with psycopg.connect(to_conninfo(url)) as conn, conn.cursor() as cur:
        # Truncating in the loading transaction lets COPY write the rows already frozen.
        cur.execute('TRUNCATE "User", "Page", "Tag", "_PageToTag" CASCADE')
        _skip_foreign_key_checks(conn)
        with cur.copy(
            'COPY "User" ("id", "email", "name", "role", "createdAt") FROM STDIN (FREEZE)'
        ) as copy:
            for row in _users(rng, users, now):
                copy.write_row(row)
        with cur.copy(f'COPY "Page" ({columns}) FROM STDIN (FREEZE)') as copy:
            for row in _pages(rng, pages, users, now):
                page_ids.append(row[0])
                copy.write_row(row)
        with cur.copy('COPY "Tag" ("id", "name") FROM STDIN (FREEZE)') as copy:
            for tag_id, name in enumerate(_tag_names(tags), start=1):
                copy.write_row((tag_id, name))
        with cur.copy('COPY "_PageToTag" ("A", "B") FROM STDIN (FREEZE)') as copy:
            copy.write(_links(rng, page_ids, tags, tags_per_page))
        cur.execute("SELECT setval(pg_get_serial_sequence('\"User\"', 'id'), %s)", (users,))
        if tags:
            cur.execute("SELECT setval(pg_get_serial_sequence('\"Tag\"', 'id'), %s)", (tags,))
    with psycopg.connect(to_conninfo(url), autocommit=True) as conn:
        conn.execute("ANALYZE")
    return page_ids


if __name__ == "__main__":  # seed a database by hand: python -m bench.seed
    from tools.migrate import drop_database

    started = time.perf_counter()
    target = create_database(server_url())
    try:
        migrate(target)
        ids = seed(target)
        print(f"seeded {len(ids)} pages in {time.perf_counter() - started:.1f}s")
    finally:
        drop_database(target)
