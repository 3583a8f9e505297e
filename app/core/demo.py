"""Demo rows for the embedded database, so /docs shows real data."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Page, PageRevision, PageStatus, Role, Tag, User
from app.prisma_defaults import utcnow

_PAGES = (
    ("Welcome to app-api", "welcome", PageStatus.PUBLISHED, ["intro", "docs"]),
    ("Calling app-api from Next.js", "calling-from-nextjs", PageStatus.PUBLISHED, ["nextjs"]),
    ("Keyset pagination explained", "keyset-pagination", PageStatus.REVIEW, ["api"]),
    ("ETags and If-Match", "etags-and-if-match", PageStatus.DRAFT, ["api", "http"]),
    ("Regenerating the models", "regenerating-models", PageStatus.SCHEDULED, ["prisma"]),
)


async def seed(session: AsyncSession) -> int:
    """Add users, tags, pages (tagged) and revisions to an empty database; return the rows added."""
    if (await session.scalar(select(func.count()).select_from(Page))) or 0:
        return 0
    author = User(email="ada@example.com", name="Ada", role=Role.EDITOR)
    session.add_all([author, User(email="grace@example.com", name="Grace", role=Role.USER)])
    await session.flush()
    names = sorted({tag for *_, tags in _PAGES for tag in tags})
    # Tags outlive their pages: reuse those left from an earlier seed.
    existing = await session.scalars(select(Tag).where(Tag.name.in_(names)))  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType, reportUnknownArgumentType]
    tags_by_name = {tag.name: tag for tag in existing}
    new_tags = [Tag(name=name) for name in names if name not in tags_by_name]
    tags_by_name |= {tag.name: tag for tag in new_tags}
    session.add_all(new_tags)
    now = utcnow()
    pages: list[Page] = []
    for index, (title, slug, status, tags) in enumerate(_PAGES):
        created = now - timedelta(days=len(_PAGES) - index)
        published = status is PageStatus.PUBLISHED
        pages.append(
            Page(
                title=title,
                slug=slug,
                summary=f"A demo page: {title.lower()}.",
                body=f"# {title}\n\nThis row was added by the embedded SQLite default.",
                status=status,
                published=published,
                tags=tags,
                views=10 * index,
                metadata_={"demo": True},
                createdAt=created,
                publishedAt=created if published else None,
                authorId=author.id,
                tagItems=[tags_by_name[name] for name in tags],
            )
        )
    session.add_all(pages)
    await session.flush()
    revisions = [
        PageRevision(
            page_id=pages[0].id,
            revision=number,
            price=Decimal(price),
            byte_size=size,
            effective_on=(now - timedelta(days=30 * (3 - number))).date(),
        )
        for number, price, size in ((1, "9.99", 1_024), (2, "12.50", 9_007_199_254_740_993))
    ]
    session.add_all(revisions)
    await session.flush()
    return 2 + len(new_tags) + len(pages) + len(revisions)
